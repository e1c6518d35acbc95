//! Outbox writes and the store's `OutboxSource`: a deletion and its
//! `UserDeleted` event commit together or not at all. Every test runs on
//! SQLite and on PostgreSQL.

use std::time::{Duration, SystemTime};

use identity_svc::{ServiceError, StoreError};
use plumbing::outbox::DeliveryFailure;
use proto::events::v1::event::Payload;
use proto::identity::v1::{DeleteUserRequest, GetUserRequest};
use sqlx::{Connection, Executor};

use crate::support::{Engine, TestContext, create, user, workspace};

/// Consumer name that never acknowledges anything, so its pending events
/// are every event in the outbox.
const INSPECTOR: &str = "test-inspector";

fn delete_request(
    workspace_id: &str,
    user_id: &str,
    expected_version: Option<i64>,
) -> DeleteUserRequest {
    DeleteUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        expected_version,
    }
}

async fn outbox_len(ctx: &TestContext) -> usize {
    ctx.service
        .store()
        .fetch_pending(INSPECTOR, 1_000)
        .await
        .unwrap()
        .len()
}

/// Makes every insert into `outbox` fail, through a trigger.
async fn reject_outbox_inserts(ctx: &TestContext) {
    match ctx.engine {
        Engine::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute("CREATE TRIGGER reject_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox rejected by test'); END")
                .await
                .unwrap();
        }
        Engine::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute(
                    "CREATE FUNCTION reject_outbox() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'outbox rejected by test'; END $$",
                )
                .await
                .unwrap();
            connection
                .execute("CREATE TRIGGER reject_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION reject_outbox()")
                .await
                .unwrap();
        }
    }
}

async fn delete_writes_one_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;

    ctx.service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await
        .unwrap();

    let records = ctx
        .service
        .store()
        .fetch_pending(INSPECTOR, 1_000)
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    let event = &records[0].event;
    let id = uuid::Uuid::parse_str(&event.id).unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(event.workspace_id, workspace_id);
    assert_eq!(event.aggregate_type, "user");
    assert_eq!(event.aggregate_id, created.id);
    assert!(event.occurred.is_some());
    let Some(Payload::UserDeleted(payload)) = &event.payload else {
        panic!("expected a UserDeleted payload, got {:?}", event.payload);
    };
    assert_eq!(payload.user_id, created.id);
}

async fn failed_delete_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;

    let missing = ctx
        .service
        .delete_user(delete_request(&workspace_id, "no-such-user", None))
        .await;
    let stale = ctx
        .service
        .delete_user(delete_request(&workspace_id, &created.id, Some(7)))
        .await;
    let other_workspace = workspace(&ctx.service, &["example.com"]).await;
    let foreign = ctx
        .service
        .delete_user(delete_request(&other_workspace, &created.id, None))
        .await;

    assert!(
        matches!(missing, Err(ServiceError::UserNotFound(_))),
        "{missing:?}"
    );
    assert!(
        matches!(stale, Err(ServiceError::VersionMismatch { .. })),
        "{stale:?}"
    );
    assert!(
        matches!(foreign, Err(ServiceError::UserNotFound(_))),
        "{foreign:?}"
    );
    assert_eq!(outbox_len(&ctx).await, 0);
}

async fn delete_rolls_back_without_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    reject_outbox_inserts(&ctx).await;

    let result = ctx
        .service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await;

    assert!(
        matches!(result, Err(ServiceError::Store(StoreError::Database(_)))),
        "{result:?}"
    );
    let still_there = ctx
        .service
        .get_user(GetUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: created.id.clone(),
        })
        .await;
    assert!(
        still_there.is_ok(),
        "the delete must roll back with the outbox insert: {still_there:?}"
    );
    assert_eq!(outbox_len(&ctx).await, 0);
}

async fn cursor_moves_only_forward(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    for name in ["ada", "grace", "edsger"] {
        let created = create(&ctx.service, &workspace_id, user(name)).await;
        ctx.service
            .delete_user(delete_request(&workspace_id, &created.id, None))
            .await
            .unwrap();
    }
    let store = ctx.service.store();
    let state = store.register_consumer("groups-svc").await.unwrap();
    let all = store.fetch_pending("groups-svc", 10).await.unwrap();

    store
        .mark_delivered("groups-svc", all[1].sequence)
        .await
        .unwrap();
    store
        .mark_delivered("groups-svc", all[0].sequence)
        .await
        .unwrap();

    assert_eq!(state.delivered_sequence, 0);
    let pending = store.fetch_pending("groups-svc", 10).await.unwrap();
    assert_eq!(pending, all[2..].to_vec());
    let backlog = store.backlog("groups-svc").await.unwrap();
    assert_eq!(backlog.pending, 1);
    assert_eq!(backlog.oldest, Some(all[2].created));
}

async fn failure_state_survives_reload(ctx: TestContext) {
    let store = ctx.service.store();
    store.register_consumer("groups-svc").await.unwrap();
    let next_attempt_at = SystemTime::now() + Duration::from_secs(5);
    let failure = DeliveryFailure {
        event_id: "event-1".to_owned(),
        attempts: 3,
        next_attempt_at,
        error: "consumer returned Unavailable: connection refused\0".to_owned(),
    };

    store.record_failure("groups-svc", &failure).await.unwrap();
    let failed = store.register_consumer("groups-svc").await.unwrap();
    store.mark_delivered("groups-svc", 0).await.unwrap();
    let recovered = store.register_consumer("groups-svc").await.unwrap();

    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.failed_event_id.as_deref(), Some("event-1"));
    assert_eq!(
        failed.last_error.as_deref(),
        Some("consumer returned Unavailable: connection refused")
    );
    let stored_at = failed.next_attempt_at.unwrap();
    let drift = stored_at
        .duration_since(next_attempt_at)
        .unwrap_or_else(|error| error.duration());
    assert!(
        drift < Duration::from_millis(1),
        "stored {stored_at:?}, expected {next_attempt_at:?}"
    );
    assert_eq!(recovered.attempts, 0);
    assert_eq!(recovered.next_attempt_at, None);
    assert_eq!(recovered.last_error, None);
}

async fn prune_keeps_unacknowledged_events(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    ctx.service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await
        .unwrap();
    let store = ctx.service.store();
    let consumers = vec!["groups-svc".to_owned(), "audit-svc".to_owned()];
    let future = SystemTime::now() + Duration::from_secs(60);
    let sequence = store.fetch_pending(INSPECTOR, 10).await.unwrap()[0].sequence;

    let before_registration = store.prune(&consumers, future).await.unwrap();
    store.register_consumer("groups-svc").await.unwrap();
    store.register_consumer("audit-svc").await.unwrap();
    store.mark_delivered("groups-svc", sequence).await.unwrap();
    let one_acknowledged = store.prune(&consumers, future).await.unwrap();
    store.mark_delivered("audit-svc", sequence).await.unwrap();
    let too_young = store
        .prune(&consumers, SystemTime::now() - Duration::from_secs(60))
        .await
        .unwrap();
    let both_acknowledged = store.prune(&consumers, future).await.unwrap();

    assert_eq!(before_registration, 0);
    assert_eq!(one_acknowledged, 0);
    assert_eq!(too_young, 0);
    assert_eq!(both_acknowledged, 1);
    assert_eq!(outbox_len(&ctx).await, 0);

    // A sequence at or below a cursor would never be delivered, so pruning
    // the newest row must not let the next event reuse its sequence.
    let next = create(&ctx.service, &workspace_id, user("grace")).await;
    ctx.service
        .delete_user(delete_request(&workspace_id, &next.id, None))
        .await
        .unwrap();
    let pending = store.fetch_pending("groups-svc", 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].sequence > sequence,
        "sequence {} reused",
        pending[0].sequence
    );
}

crate::engine_tests!(
    delete_writes_one_event,
    failed_delete_writes_no_event,
    delete_rolls_back_without_event,
    cursor_moves_only_forward,
    failure_state_survives_reload,
    prune_keeps_unacknowledged_events,
);
