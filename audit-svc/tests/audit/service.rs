//! The audit trail on both engines: ingest once per event id, queries,
//! exports that round-trip, rejected-request reports and retention.

use audit_svc::AuditService;
use proto::audit::v1::{
    AuditEvent, AuditFilter, ExportAuditEventsRequest, ExportFormat, ListAuditEventsRequest,
    RecordRejectedRequestsRequest, RejectedRequestCount, audit_service_client::AuditServiceClient,
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

use crate::engine_tests;
use crate::support::{TestContext, deliver, user_created, user_deactivated, workspace};

engine_tests!(
    event_stored_once,
    newest_first_with_cursor,
    filters_by_action_and_target,
    deactivation_recorded_with_actor,
    workspaces_are_isolated,
    export_ndjson_round_trips,
    export_csv_round_trips,
    rejected_report_stored_once,
    retention_deletes_old_events,
    bad_page_size_rejected,
    bad_page_token_rejected,
);

async fn list(service: &AuditService, workspace_id: &str, filter: AuditFilter) -> Vec<AuditEvent> {
    service
        .list(ListAuditEventsRequest {
            workspace_id: workspace_id.to_owned(),
            filter: Some(filter),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .events
}

async fn event_stored_once(ctx: TestContext) {
    let ws = workspace();
    let event = user_created(&ws, "u1");

    let first = deliver(&ctx.service, vec![event.clone()]).await;
    let second = deliver(&ctx.service, vec![event]).await;

    assert_eq!(first, 1);
    assert_eq!(second, 0);
    assert_eq!(
        list(&ctx.service, &ws, AuditFilter::default()).await.len(),
        1
    );
}

async fn newest_first_with_cursor(ctx: TestContext) {
    let ws = workspace();
    let events: Vec<_> = (0..5)
        .map(|i| user_created(&ws, &format!("u{i}")))
        .collect();
    deliver(&ctx.service, events.clone()).await;

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = ctx
            .service
            .list(ListAuditEventsRequest {
                workspace_id: ws.clone(),
                filter: None,
                page_size: 2,
                page_token,
            })
            .await
            .unwrap();
        seen.extend(page.events.into_iter().map(|event| event.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }

    let expected: Vec<String> = events.iter().rev().map(|event| event.id.clone()).collect();
    assert_eq!(seen, expected);
}

async fn filters_by_action_and_target(ctx: TestContext) {
    let ws = workspace();
    deliver(
        &ctx.service,
        vec![
            user_created(&ws, "u1"),
            user_created(&ws, "u2"),
            user_deactivated(&ws, "u1"),
        ],
    )
    .await;

    let by_action = list(
        &ctx.service,
        &ws,
        AuditFilter {
            action: "user.created".to_owned(),
            ..AuditFilter::default()
        },
    )
    .await;
    let by_target = list(
        &ctx.service,
        &ws,
        AuditFilter {
            target_id: "u1".to_owned(),
            ..AuditFilter::default()
        },
    )
    .await;

    assert_eq!(by_action.len(), 2);
    assert_eq!(by_target.len(), 2);
}

async fn deactivation_recorded_with_actor(ctx: TestContext) {
    let ws = workspace();
    deliver(&ctx.service, vec![user_deactivated(&ws, "u1")]).await;

    let events = list(&ctx.service, &ws, AuditFilter::default()).await;

    assert_eq!(events[0].action, "user.deactivated");
    assert_eq!(events[0].actor_type, "scim_token");
    assert_eq!(events[0].actor_id, "tok-1");
    assert_eq!(events[0].identity_provider, "okta");
    assert_eq!(events[0].changes[0].attribute, "active");
    assert_eq!(events[0].request_id, "req-1");
}

async fn workspaces_are_isolated(ctx: TestContext) {
    let ws = workspace();
    deliver(&ctx.service, vec![user_created(&ws, "u1")]).await;

    let other = list(&ctx.service, &workspace(), AuditFilter::default()).await;

    assert!(other.is_empty());
}

/// Serves the audit service on a loopback port and returns a client.
async fn client(service: &AuditService) -> AuditServiceClient<Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder().add_service(service.audit_server());
    tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    AuditServiceClient::new(channel)
}

async fn export(service: &AuditService, workspace_id: &str, format: ExportFormat) -> String {
    let mut stream = client(service)
        .await
        .export_audit_events(ExportAuditEventsRequest {
            workspace_id: workspace_id.to_owned(),
            filter: None,
            format: format.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut text = String::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        text.push_str(&chunk.text);
    }
    text
}

/// Provisions more events than one export batch holds.
async fn many_events(service: &AuditService, workspace_id: &str) -> Vec<AuditEvent> {
    let events: Vec<_> = (0..1_205)
        .map(|i| user_created(workspace_id, &format!("u{i}")))
        .collect();
    for chunk in events.chunks(500) {
        deliver(service, chunk.to_vec()).await;
    }
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = service
            .list(ListAuditEventsRequest {
                workspace_id: workspace_id.to_owned(),
                filter: None,
                page_size: 1000,
                page_token,
            })
            .await
            .unwrap();
        listed.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    listed.reverse();
    listed
}

async fn export_ndjson_round_trips(ctx: TestContext) {
    let ws = workspace();
    let listed = many_events(&ctx.service, &ws).await;

    let text = export(&ctx.service, &ws, ExportFormat::Ndjson).await;

    let exported: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let ids: Vec<&str> = exported
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    let listed_ids: Vec<&str> = listed.iter().map(|event| event.id.as_str()).collect();
    assert_eq!(ids, listed_ids);
    let first = &exported[0];
    assert_eq!(first["action"], listed[0].action.as_str());
    assert_eq!(first["target_name"], listed[0].target_name.as_str());
    assert_eq!(first["details"].to_string(), listed[0].details_json);
}

async fn export_csv_round_trips(ctx: TestContext) {
    let ws = workspace();
    let listed = many_events(&ctx.service, &ws).await;

    let text = export(&ctx.service, &ws, ExportFormat::Csv).await;

    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().split(',').next(), Some("id"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), listed.len());
    let first: Vec<&str> = rows[0].splitn(8, ',').collect();
    assert_eq!(first[0], listed[0].id);
    assert_eq!(first[6], listed[0].action);
}

async fn rejected_report_stored_once(ctx: TestContext) {
    let ws = workspace();
    let report = RecordRejectedRequestsRequest {
        report_id: "report-1".to_owned(),
        counts: vec![RejectedRequestCount {
            workspace_id: ws.clone(),
            minute: None,
            reason: "invalid_token".to_owned(),
            count: 42,
        }],
    };

    ctx.service.record_rejected(report.clone()).await.unwrap();
    ctx.service.record_rejected(report).await.unwrap();

    let events = list(&ctx.service, &ws, AuditFilter::default()).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "scim.requests_rejected");
    assert_eq!(events[0].outcome, "rejected");
}

async fn retention_deletes_old_events(ctx: TestContext) {
    let ws = workspace();
    deliver(&ctx.service, vec![user_created(&ws, "u1")]).await;

    let deleted = ctx
        .service
        .store()
        .delete_older_than(i64::MAX)
        .await
        .unwrap();

    assert_eq!(deleted, 1);
    assert!(
        list(&ctx.service, &ws, AuditFilter::default())
            .await
            .is_empty()
    );
}

async fn bad_page_size_rejected(ctx: TestContext) {
    let result = ctx
        .service
        .list(ListAuditEventsRequest {
            workspace_id: workspace(),
            filter: None,
            page_size: 5_000,
            page_token: String::new(),
        })
        .await;

    assert!(result.is_err());
}

async fn bad_page_token_rejected(ctx: TestContext) {
    let result = ctx
        .service
        .list(ListAuditEventsRequest {
            workspace_id: workspace(),
            filter: None,
            page_size: 10,
            page_token: "zzz".to_owned(),
        })
        .await;

    assert!(result.is_err());
}
