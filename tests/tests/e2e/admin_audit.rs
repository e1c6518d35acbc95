//! The audit trail through the admin API: admin changes recorded with the
//! admin as their actor, filtered and paged event lists, streamed NDJSON
//! and CSV exports, invalid filters, and the gateway's per-minute counts of
//! rejected SCIM requests.
//!
//! Events reach audit-svc through the services' outboxes a moment after
//! the change, so scenarios poll until the trail returns them.

use std::time::Duration;

use e2e_tests::{
    TestStack,
    client::http_client,
    fixtures::{DOMAIN, patch_body, unique_email, user_body},
    process::TempDir,
};
use launcher::cli::RunArgs;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin::{ADMIN_KEY, AdminClient, AdminResponse, admin_token, create_workspace};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    admin_change_recorded_with_admin_actor,
    events_show_every_field,
    events_filtered_by_action_and_time,
    events_paged_newest_first,
    invalid_filters_rejected,
    export_streams_ndjson,
    export_streams_csv,
    audit_routes_forbid_other_workspace,
);

/// Maximum wait for audit-svc to receive an event. Delivery usually takes
/// well under a second. A delivery that failed on two loaded cores is
/// retried within the relays' longest backoff (30 s), so the wait is twice that.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Returns an admin client of the demo workspace whose token has
/// `subject` as `sub`.
fn admin_as(stack: &TestStack, subject: &str) -> AdminClient {
    let token = gateway::admin::jwt::sign_hs256(
        ADMIN_KEY.as_bytes(),
        subject,
        &stack.workspace_id,
        "admin",
        600,
    )
    .unwrap();
    AdminClient::new(stack, &stack.workspace_id, &token)
}

/// Polls `GET audit/events?{query}` until it lists at least `count`
/// events other than role changes, and returns those, newest first.
/// rbac-svc records a user's role changes a moment after the user's own
/// events, so a scenario about a user leaves them out to be exact.
pub async fn wait_for_events(admin: &AdminClient, query: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let page = admin
            .ok(
                Method::GET,
                &format!("audit/events?page_size=1000&{query}"),
                None,
            )
            .await;
        let events = without_role_changes(page["events"].as_array().unwrap());
        if events.len() >= count {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "audit-svc did not return {count} events for {query:?} within {DELIVERY_TIMEOUT:?}: {page}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn without_role_changes(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| !event["action"].as_str().unwrap().starts_with("role."))
        .cloned()
        .collect()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect()
}

/// Creates a SCIM user and changes its title, and waits until both events
/// are in the trail. Returns the user id and the events, newest first.
async fn user_with_two_events(stack: &TestStack, admin: &AdminClient) -> (String, Vec<Value>) {
    let scim = stack.client();
    let user_name = unique_email("audit.api", DOMAIN);
    let user_id = scim
        .create_user(&user_body(&user_name, "Audit", "Api"))
        .await;
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "replace", "path": "title", "value": "Counsel"}])),
    )
    .await;
    let events = wait_for_events(admin, &format!("target={user_id}"), 2).await;
    (user_id, events)
}

/// A response of `GET audit/export`, whose body is not JSON.
struct ExportResponse {
    status: u16,
    content_type: String,
    content_disposition: String,
    text: String,
}

async fn export(stack: &TestStack, token: &str, query: &str) -> ExportResponse {
    let url = format!(
        "http://{}/admin/v1/workspaces/{}/audit/export?{query}",
        stack.http_addr, stack.workspace_id
    );
    let response = http_client()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header("content-type");
    let content_disposition = header("content-disposition");
    let status = response.status().as_u16();
    ExportResponse {
        status,
        content_type,
        content_disposition,
        text: response.text().await.unwrap(),
    }
}

/// Asserts an admin API 400 naming `field`.
fn assert_invalid(response: &AdminResponse, field: &str) {
    assert_eq!(response.status, 400, "{response}");
    assert_eq!(response.body["code"], "invalid_argument", "{response}");
    assert_eq!(response.body["field"], field, "{response}");
}

async fn admin_change_recorded_with_admin_actor(stack: &TestStack) {
    let subject = format!("admin-{}", Uuid::new_v4());
    let admin = admin_as(stack, &subject);

    let (token_id, _) = admin.issue_token("audited").await;
    admin.ok(Method::POST, "scim/disable", None).await;
    admin.ok(Method::POST, "scim/enable", None).await;
    let by_actor = wait_for_events(&admin, &format!("actor={subject}"), 3).await;

    assert_eq!(
        actions(&by_actor),
        ["scim.enabled", "scim.disabled", "token.issued"],
        "newest first"
    );
    for event in &by_actor {
        assert_eq!(event["actor_type"], "admin", "{event}");
        assert_eq!(event["actor_id"], subject.as_str(), "{event}");
        assert_eq!(
            event["workspace_id"],
            stack.workspace_id.as_str(),
            "{event}"
        );
        assert!(!event["request_id"].as_str().unwrap().is_empty(), "{event}");
    }
    assert_eq!(by_actor[2]["target_type"], "token");
    assert_eq!(by_actor[2]["target_id"], token_id.as_str());
}

async fn events_show_every_field(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let (user_id, events) = user_with_two_events(stack, &admin).await;

    assert_eq!(actions(&events), ["user.updated", "user.created"]);
    let updated = &events[0];
    let keys: Vec<&str> = updated
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "id",
        "workspace_id",
        "time",
        "actor_type",
        "actor_id",
        "identity_provider",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "changes",
        "details",
        "request_id",
        "trace_id",
        "outcome",
    ];
    expected.sort_unstable();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort_unstable();
    assert_eq!(sorted_keys, expected, "{updated}");
    assert!(
        is_rfc3339_utc(updated["time"].as_str().unwrap()),
        "{updated}"
    );
    assert!(updated["details"].is_object(), "{updated}");
    assert_eq!(updated["actor_type"], "scim_token", "{updated}");
    assert_eq!(updated["target_type"], "user", "{updated}");
    assert_eq!(updated["target_id"], user_id.as_str(), "{updated}");
    assert_eq!(updated["outcome"], "success", "{updated}");
    let title = updated["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["attribute"] == "title")
        .unwrap_or_else(|| panic!("no title change: {updated}"));
    assert_eq!(title["before"], "", "{updated}");
    assert_eq!(title["after"], "\"Counsel\"", "{updated}");
}

/// Returns whether `text` is an RFC 3339 time in UTC, such as
/// `2026-01-31T09:00:00.123456Z`.
fn is_rfc3339_utc(text: &str) -> bool {
    let Some(seconds) = text.strip_suffix('Z') else {
        return false;
    };
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    let shape_matches = whole.len() == 19
        && whole.char_indices().all(|(index, character)| match index {
            4 | 7 => character == '-',
            10 => character == 'T',
            13 | 16 => character == ':',
            _ => character.is_ascii_digit(),
        });
    shape_matches && !fraction.is_empty() && fraction.chars().all(|c| c.is_ascii_digit())
}

async fn events_filtered_by_action_and_time(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (user_id, events) = user_with_two_events(stack, &admin).await;
    let created = &events[1];
    let created_time = created["time"].as_str().unwrap();
    let encoded_time = created_time.replace('+', "%2B");

    let by_action = admin
        .ok(
            Method::GET,
            &format!("audit/events?target={user_id}&action=user.created"),
            None,
        )
        .await;
    let from_creation = admin
        .ok(
            Method::GET,
            &format!("audit/events?target={user_id}&since={encoded_time}"),
            None,
        )
        .await;
    let before_creation = admin
        .ok(
            Method::GET,
            &format!("audit/events?target={user_id}&until={encoded_time}"),
            None,
        )
        .await;
    let future = admin
        .ok(
            Method::GET,
            &format!("audit/events?target={user_id}&since=2999-01-01T00:00:00Z"),
            None,
        )
        .await;
    let with_offset = admin
        .ok(
            Method::GET,
            &format!("audit/events?target={user_id}&until=2999-01-01T01:00:00%2B01:00"),
            None,
        )
        .await;

    assert_eq!(
        by_action["events"],
        json!([created]),
        "only the creation: {by_action}"
    );
    let listed = |page: &Value| without_role_changes(page["events"].as_array().unwrap());
    assert_eq!(
        listed(&from_creation),
        events,
        "since is inclusive: {from_creation}"
    );
    assert_eq!(
        listed(&before_creation),
        Vec::<Value>::new(),
        "until is exclusive: {before_creation}"
    );
    assert_eq!(future["events"], json!([]), "{future}");
    assert_eq!(listed(&with_offset), events, "{with_offset}");
}

async fn events_paged_newest_first(stack: &TestStack) {
    let subject = format!("pager-{}", Uuid::new_v4());
    let admin = admin_as(stack, &subject);
    for name in ["first", "second", "third"] {
        admin.issue_token(name).await;
    }
    let all = wait_for_events(&admin, &format!("actor={subject}"), 3).await;

    let first_page = admin
        .ok(
            Method::GET,
            &format!("audit/events?actor={subject}&page_size=2"),
            None,
        )
        .await;
    let token = first_page["next_page_token"].as_str().unwrap().to_owned();
    let second_page = admin
        .ok(
            Method::GET,
            &format!("audit/events?actor={subject}&page_size=2&page_token={token}"),
            None,
        )
        .await;

    let ids: Vec<&str> = all
        .iter()
        .map(|event| event["id"].as_str().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first, "ids are UUIDv7, so they sort by time");
    assert_eq!(first_page["events"], json!(all[..2]), "{first_page}");
    assert_eq!(second_page["events"], json!(all[2..]), "{second_page}");
    assert!(second_page["next_page_token"].is_null(), "{second_page}");
}

async fn invalid_filters_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let token = admin_token(&stack.workspace_id, "admin");
    let cases = [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (
            "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        ("page_size=0", "page_size"),
        ("page_size=5000", "page_size"),
        ("page_size=many", "page_size"),
        ("page_token=not-a-token", "page_token"),
    ];

    for (query, field) in cases {
        let response = admin
            .send(Method::GET, &format!("audit/events?{query}"), None)
            .await;
        assert_invalid(&response, field);
    }
    let unknown = admin
        .send(Method::GET, "audit/events?acton=user.created", None)
        .await;
    let missing_format = export(stack, &token, "action=user.created").await;
    let unknown_format = export(stack, &token, "format=xml").await;
    let bad_time = export(stack, &token, "format=csv&until=soon").await;
    let wrong_method = admin.send(Method::POST, "audit/events", None).await;

    assert_eq!(unknown.status, 400, "{unknown}");
    assert!(
        unknown.body["message"].as_str().unwrap().contains("acton"),
        "{unknown}"
    );
    for (response, field) in [
        (&missing_format, "format"),
        (&unknown_format, "format"),
        (&bad_time, "until"),
    ] {
        assert_eq!(response.status, 400, "{}", response.text);
        let body: Value = serde_json::from_str(&response.text).unwrap();
        assert_eq!(body["field"], field, "{body}");
    }
    assert_eq!(wrong_method.status, 405, "{wrong_method}");
}

async fn export_streams_ndjson(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let token = admin_token(&stack.workspace_id, "admin");
    let (user_id, events) = user_with_two_events(stack, &admin).await;

    let exported = export(stack, &token, &format!("format=ndjson&target={user_id}")).await;
    let whole_trail = export(stack, &token, "format=ndjson").await;

    assert_eq!(exported.status, 200, "{}", exported.text);
    assert_eq!(exported.content_type, "application/x-ndjson");
    assert!(
        exported.content_disposition.contains("audit-events.ndjson"),
        "{}",
        exported.content_disposition
    );
    let lines: Vec<Value> = exported
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let lines = without_role_changes(&lines);
    let oldest_first: Vec<Value> = events.iter().rev().cloned().collect();
    assert_eq!(lines, oldest_first, "the export's objects are the list's");
    assert_eq!(whole_trail.status, 200);
    assert!(
        whole_trail.text.lines().count() >= 2,
        "{}",
        whole_trail.text
    );
}

async fn export_streams_csv(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let token = admin_token(&stack.workspace_id, "admin");
    let (user_id, events) = user_with_two_events(stack, &admin).await;

    let exported = export(stack, &token, &format!("format=csv&target={user_id}")).await;
    let empty = export(stack, &token, "format=csv&action=no.such.action").await;

    assert_eq!(exported.status, 200, "{}", exported.text);
    assert_eq!(exported.content_type, "text/csv; charset=utf-8");
    let lines: Vec<&str> = exported
        .text
        .lines()
        .filter(|line| !line.contains(",role.changed,"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", exported.text);
    assert!(
        lines[0].starts_with("id,workspace_id,time,actor_type"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(events[1]["id"].as_str().unwrap()));
    assert!(lines[2].starts_with(events[0]["id"].as_str().unwrap()));
    assert!(lines[1].contains("user.created"), "{}", lines[1]);
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.text.lines().count(),
        1,
        "only the header: {}",
        empty.text
    );
}

async fn audit_routes_forbid_other_workspace(stack: &TestStack) {
    let other_workspace = create_workspace(stack, true, true).await;
    let foreign_token = admin_token(&other_workspace, "admin");
    let foreign = AdminClient::new(stack, &stack.workspace_id, &foreign_token);
    let anonymous = AdminClient::new(stack, &stack.workspace_id, "");

    let list_forbidden = foreign.send(Method::GET, "audit/events", None).await;
    let list_unauthenticated = anonymous.send(Method::GET, "audit/events", None).await;
    let export_forbidden = export(stack, &foreign_token, "format=ndjson").await;
    let export_unauthenticated = export(stack, "", "format=ndjson").await;

    assert_eq!(list_forbidden.status, 403, "{list_forbidden}");
    assert_eq!(list_forbidden.body["code"], "permission_denied");
    assert_eq!(list_unauthenticated.status, 401, "{list_unauthenticated}");
    assert_eq!(export_forbidden.status, 403, "{}", export_forbidden.text);
    assert!(!export_forbidden.text.contains("\"action\""));
    assert_eq!(export_unauthenticated.status, 401);
}

/// Launcher flags of an embedded stack on `data_dir` with the admin key of
/// these scenarios.
fn embedded_args(data_dir: &TempDir) -> RunArgs {
    e2e_tests::stack::run_args(
        data_dir.path(),
        &[
            "--bootstrap-demo",
            "true",
            "--admin-jwt-hs256-key",
            ADMIN_KEY,
        ],
    )
}

/// Rejected SCIM requests are counted in the gateway's memory and reported
/// when it stops, so the scenario restarts an embedded stack on the same
/// data directory to read the report. The split stack has no way to stop
/// its gateway alone, so this runs embedded only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_requests_reported_at_shutdown() {
    let data_dir = TempDir::new("e2e-rejections");
    let first = launcher::run::start(embedded_args(&data_dir))
        .await
        .unwrap();
    let demo: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.path().join("demo-workspace.json")).unwrap(),
    )
    .unwrap();
    let workspace_id = demo["workspace_id"].as_str().unwrap().to_owned();
    let scim_url = format!("http://{}/scim/v2/{workspace_id}/Users", first.http_addr);
    let admin_url = format!(
        "http://{}/admin/v1/workspaces/{workspace_id}",
        first.http_addr
    );
    let admin = admin_token(&workspace_id, "admin");
    let http = http_client();
    for _ in 0..3 {
        let status = http
            .get(&scim_url)
            .bearer_auth("scim_not-a-real-token")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    let disabled = http
        .post(format!("{admin_url}/scim/disable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(disabled, 200);
    let while_disabled = http
        .get(&scim_url)
        .bearer_auth(demo["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(while_disabled, 403);

    first.stop().await;
    let second = launcher::run::start(embedded_args(&data_dir))
        .await
        .unwrap();
    let events_url = format!(
        "http://{}/admin/v1/workspaces/{workspace_id}/audit/events?action=scim.requests_rejected",
        second.http_addr
    );
    let page: Value = http
        .get(&events_url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    second.stop().await;

    let mut counts: Vec<(String, i64)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            assert_eq!(event["outcome"], "rejected", "{event}");
            assert_eq!(event["target_id"], workspace_id.as_str(), "{event}");
            (
                event["details"]["reason"].as_str().unwrap().to_owned(),
                event["details"]["count"].as_i64().unwrap(),
            )
        })
        .collect();
    counts.sort();
    // Three requests in one minute give one count, unless the minute
    // turned between them.
    let invalid_token: i64 = counts
        .iter()
        .filter(|(reason, _)| reason == "invalid_token")
        .map(|(_, count)| count)
        .sum();
    let disabled: i64 = counts
        .iter()
        .filter(|(reason, _)| reason == "scim_disabled")
        .map(|(_, count)| count)
        .sum();
    assert_eq!(invalid_token, 3, "{page}");
    assert_eq!(disabled, 1, "{page}");
}
