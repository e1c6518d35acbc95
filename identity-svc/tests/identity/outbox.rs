//! Outbox writes and the store's `OutboxSource`: each user write and its
//! event (`UserCreated`, `UserUpdated`, `UserDeleted`) commit together or
//! not at all, and a write that changes nothing writes no event. Every test
//! runs on SQLite and on PostgreSQL.

use std::time::{Duration, SystemTime};

use identity_svc::{ServiceError, StoreError};
use plumbing::outbox::DeliveryFailure;
use proto::events::v1::{AttributeChange, Event, UserCreated, UserUpdated, event::Payload};
use proto::identity::v1::{
    CreateUnmanagedUserRequest, CreateUserRequest, DeleteUserRequest, EnterpriseUser,
    GetUserRequest, ReplaceUserRequest, User,
};
use sqlx::{Connection, Executor};

use crate::support::{Engine, TestContext, create, email, events, user, workspace};

/// Schema URN under which enterprise attribute changes are reported.
const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

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

fn replace_request(
    workspace_id: &str,
    user: User,
    expected_version: Option<i64>,
) -> ReplaceUserRequest {
    ReplaceUserRequest {
        workspace_id: workspace_id.to_owned(),
        user: Some(user),
        expected_version,
    }
}

fn change(attribute: &str, before: &str, after: &str) -> AttributeChange {
    AttributeChange {
        attribute: attribute.to_owned(),
        before: before.to_owned(),
        after: after.to_owned(),
    }
}

/// Returns the payload kind of every event, in outbox order.
fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|event| {
            event
                .payload
                .as_ref()
                .map_or("none", |payload| payload.kind())
        })
        .collect()
}

fn user_created(event: &Event) -> &UserCreated {
    match &event.payload {
        Some(Payload::UserCreated(payload)) => payload,
        other => panic!("expected UserCreated, got {other:?}"),
    }
}

fn user_updated(event: &Event) -> &UserUpdated {
    match &event.payload {
        Some(Payload::UserUpdated(payload)) => payload,
        other => panic!("expected UserUpdated, got {other:?}"),
    }
}

/// Builds an active user with a title and a work email.
fn employee(user_name: &str) -> User {
    User {
        title: Some("Engineer".to_owned()),
        emails: vec![email(&format!("{user_name}@example.com"), "work", true)],
        ..user(user_name)
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

/// Removes the trigger of [`reject_outbox_inserts`].
async fn reject_outbox_inserts_undo(ctx: &TestContext) {
    match ctx.engine {
        Engine::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute("DROP TRIGGER reject_outbox")
                .await
                .unwrap();
        }
        Engine::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute("DROP TRIGGER reject_outbox ON outbox")
                .await
                .unwrap();
        }
    }
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
    assert_eq!(records.len(), 2, "UserCreated, then UserDeleted");
    let event = &records[1].event;
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
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
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
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
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
    assert_eq!(all.len(), 6, "three UserCreated and three UserDeleted");
    assert_eq!(pending, all[2..].to_vec());
    let backlog = store.backlog("groups-svc").await.unwrap();
    assert_eq!(backlog.pending, 4);
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
    let stored = store.fetch_pending(INSPECTOR, 10).await.unwrap();
    let sequence = stored[stored.len() - 1].sequence;

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
    assert_eq!(both_acknowledged, 2);
    assert_eq!(outbox_len(&ctx).await, 0);

    // A sequence at or below a cursor would never be delivered, so pruning
    // the newest row must not let the next event reuse its sequence.
    let next = create(&ctx.service, &workspace_id, user("grace")).await;
    ctx.service
        .delete_user(delete_request(&workspace_id, &next.id, None))
        .await
        .unwrap();
    let pending = store.fetch_pending("groups-svc", 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert!(
        pending[0].sequence > sequence,
        "sequence {} reused",
        pending[0].sequence
    );
}

async fn create_writes_user_created(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let created = create(&ctx.service, &workspace_id, employee("ada")).await;

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["user_created"]);
    assert_eq!(recorded[0].aggregate_type, "user");
    assert_eq!(recorded[0].aggregate_id, created.id);
    let expected = UserCreated {
        user_id: created.id.clone(),
        user_name: "ada".to_owned(),
        active: true,
        scim_managed: true,
    };
    assert_eq!(user_created(&recorded[0]), &expected);
}

async fn unmanaged_create_writes_user_created(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let created = ctx
        .service
        .create_unmanaged_user(CreateUnmanagedUserRequest {
            workspace_id: workspace_id.clone(),
            email: "grace@example.com".to_owned(),
            ..CreateUnmanagedUserRequest::default()
        })
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["user_created"]);
    let expected = UserCreated {
        user_id: created.id.clone(),
        user_name: "grace@example.com".to_owned(),
        active: true,
        scim_managed: false,
    };
    assert_eq!(user_created(&recorded[0]), &expected);
}

async fn duplicate_create_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &workspace_id, user("ada")).await;

    let again = ctx
        .service
        .create_user(CreateUserRequest {
            workspace_id: workspace_id.clone(),
            user: Some(user("ADA")),
        })
        .await;

    assert!(
        matches!(again, Err(ServiceError::UserNameTaken)),
        "{again:?}"
    );
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
}

async fn create_rolls_back_without_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    reject_outbox_inserts(&ctx).await;

    let result = ctx
        .service
        .create_user(CreateUserRequest {
            workspace_id: workspace_id.clone(),
            user: Some(user("ada")),
        })
        .await;
    reject_outbox_inserts_undo(&ctx).await;
    let retried = ctx
        .service
        .create_user(CreateUserRequest {
            workspace_id: workspace_id.clone(),
            user: Some(user("ada")),
        })
        .await;

    assert!(
        matches!(result, Err(ServiceError::Store(StoreError::Database(_)))),
        "{result:?}"
    );
    assert!(
        retried.is_ok(),
        "the failed create must leave no user behind: {retried:?}"
    );
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
}

async fn replace_writes_changed_attributes(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, employee("ada")).await;
    let next = User {
        active: Some(false),
        display_name: Some("Ada L.".to_owned()),
        title: None,
        ..created.clone()
    };

    let replaced = ctx
        .service
        .replace_user(replace_request(&workspace_id, next, None))
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["user_created", "user_updated"]);
    assert_eq!(recorded[1].aggregate_type, "user");
    assert_eq!(recorded[1].aggregate_id, created.id);
    let payload = user_updated(&recorded[1]);
    assert_eq!(payload.user_id, created.id);
    assert_eq!(payload.user_name, "ada");
    assert!(!payload.active);
    assert!(payload.previous_active);
    assert_eq!(
        payload.changes,
        vec![
            change("active", "true", "false"),
            change("displayName", "", r#""Ada L.""#),
            change("title", r#""Engineer""#, ""),
        ]
    );
    assert_eq!(replaced.meta.unwrap().version, 2);
}

async fn rename_reports_user_name(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    let next = User {
        user_name: "ada.lovelace".to_owned(),
        ..created.clone()
    };

    ctx.service
        .replace_user(replace_request(&workspace_id, next, Some(1)))
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    let payload = user_updated(&recorded[1]);
    assert_eq!(payload.user_name, "ada.lovelace");
    assert!(payload.active);
    assert!(payload.previous_active);
    assert_eq!(
        payload.changes,
        vec![change("userName", r#""ada""#, r#""ada.lovelace""#)]
    );
}

async fn enterprise_change_reported_under_urn(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    let next = User {
        enterprise: Some(EnterpriseUser {
            department: Some("Litigation".to_owned()),
            ..EnterpriseUser::default()
        }),
        ..created.clone()
    };

    ctx.service
        .replace_user(replace_request(&workspace_id, next, None))
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(
        user_updated(&recorded[1]).changes,
        vec![change(
            ENTERPRISE_USER_URN,
            "",
            r#"{"department":"Litigation"}"#
        )]
    );
}

async fn unchanged_replace_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, employee("ada")).await;

    let replaced = ctx
        .service
        .replace_user(replace_request(&workspace_id, created.clone(), None))
        .await
        .unwrap();

    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
    assert_eq!(replaced.meta.unwrap().version, 2);
}

async fn failed_replace_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let ada = create(&ctx.service, &workspace_id, user("ada")).await;
    let grace = create(&ctx.service, &workspace_id, user("grace")).await;
    let deactivated = User {
        active: Some(false),
        ..ada.clone()
    };
    let renamed_onto_ada = User {
        user_name: "ADA".to_owned(),
        ..grace.clone()
    };

    let stale = ctx
        .service
        .replace_user(replace_request(&workspace_id, deactivated, Some(7)))
        .await;
    let name_taken = ctx
        .service
        .replace_user(replace_request(&workspace_id, renamed_onto_ada, None))
        .await;

    assert!(
        matches!(stale, Err(ServiceError::VersionMismatch { expected: 7 })),
        "{stale:?}"
    );
    assert!(
        matches!(name_taken, Err(ServiceError::UserNameTaken)),
        "{name_taken:?}"
    );
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created", "user_created"]
    );
}

async fn replace_rolls_back_without_event(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    reject_outbox_inserts(&ctx).await;
    let next = User {
        active: Some(false),
        ..created.clone()
    };

    let result = ctx
        .service
        .replace_user(replace_request(&workspace_id, next, None))
        .await;

    assert!(
        matches!(result, Err(ServiceError::Store(StoreError::Database(_)))),
        "{result:?}"
    );
    let stored = ctx
        .service
        .get_user(GetUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: created.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(stored.active, Some(true), "the change must roll back");
    assert_eq!(stored.meta.unwrap().version, 1);
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["user_created"]
    );
}

crate::engine_tests!(
    delete_writes_one_event,
    failed_delete_writes_no_event,
    delete_rolls_back_without_event,
    cursor_moves_only_forward,
    failure_state_survives_reload,
    prune_keeps_unacknowledged_events,
    create_writes_user_created,
    unmanaged_create_writes_user_created,
    duplicate_create_writes_no_event,
    create_rolls_back_without_event,
    replace_writes_changed_attributes,
    rename_reports_user_name,
    enterprise_change_reported_under_urn,
    unchanged_replace_writes_no_event,
    failed_replace_writes_no_event,
    replace_rolls_back_without_event,
);
