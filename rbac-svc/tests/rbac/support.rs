//! Test harness: runs a test body against a fresh SQLite file or a fresh
//! PostgreSQL database, and removes it afterwards, even when the body
//! panics. Also builders of the events the service consumes.

use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf};

use futures::FutureExt;
use proto::events::v1::{
    DeliverRequest, Event, GroupCreated, GroupDeleted, GroupUpdated, UserAdopted, UserCreated,
    UserDeleted, UserUpdated, event::Payload,
};
use proto::rbac::v1::{EffectiveRole, GetEffectiveRoleRequest};
use rbac_svc::{RbacConfig, RbacService};
use sqlx::Row as _;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A migrated, empty database and the service on top of it, with an
/// in-process cache.
pub struct TestContext {
    pub service: RbacService,
}

/// Generates one `#[tokio::test]` per engine for each listed suite function
/// `async fn name(ctx: TestContext)`.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Engine::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Engine::Postgres, super::$name).await;
                }
            )*
        }
    };
}

/// Runs `test` against a fresh database of `engine`.
pub async fn run<F, Fut>(engine: Engine, test: F)
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()>,
{
    match engine {
        Engine::Sqlite => run_sqlite(test).await,
        Engine::Postgres => run_postgres(test).await,
    }
}

async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()>,
{
    let directory: PathBuf =
        std::env::temp_dir().join(format!("rbac-svc-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("rbac.db").display());
    let service = connect(&database_url).await;

    let context = TestContext {
        service: service.clone(),
    };
    let outcome = AssertUnwindSafe(test(context)).catch_unwind().await;

    service.close().await;
    let _ = std::fs::remove_dir_all(&directory);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()>,
{
    let admin_url =
        std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL test: cannot connect to {admin_url}: {error}");
            return;
        }
        Err(error) => panic!("PostgreSQL at {admin_url} is required when CI=true: {error}"),
    };

    let database = format!("rbac_test_{}", Uuid::new_v4().simple());
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&database);
    let database_url = url.to_string();
    let service = connect(&database_url).await;

    let context = TestContext {
        service: service.clone(),
    };
    let outcome = AssertUnwindSafe(test(context)).catch_unwind().await;

    service.close().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .await
        .unwrap();
    let _ = admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn connect(database_url: &str) -> RbacService {
    let config = RbacConfig {
        database_url: database_url.to_owned(),
        max_connections: 8,
        redis_url: None,
    };
    RbacService::connect(&config).await.unwrap()
}

/// Returns the Redis URL for tests, or `None` after printing a note when it
/// is unreachable, unless `CI=true`, where the test fails instead.
pub async fn redis_url_or_skip() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    match plumbing::cache::connect_redis(&url).await {
        Ok(_) => Some(url),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {url} is required when CI=true: {error:#}")
        }
        Err(error) => {
            eprintln!("skipping: Redis at {url} is unreachable: {error:#}");
            None
        }
    }
}

/// Returns a new workspace id.
pub fn workspace() -> String {
    format!("ws-{}", Uuid::now_v7())
}

/// Returns `count` new user ids, sorted.
pub fn user_ids(count: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..count).map(|_| Uuid::now_v7().to_string()).collect();
    ids.sort();
    ids
}

fn event(workspace_id: &str, aggregate_type: &str, aggregate_id: &str, payload: Payload) -> Event {
    Event {
        id: Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred: None,
        payload: Some(payload),
        ..Event::default()
    }
}

pub fn user_created(workspace_id: &str, user_id: &str, scim_managed: bool) -> Event {
    let payload = Payload::UserCreated(UserCreated {
        user_id: user_id.to_owned(),
        user_name: format!("{user_id}@example.com"),
        active: true,
        scim_managed,
    });
    event(workspace_id, "user", user_id, payload)
}

pub fn user_active(workspace_id: &str, user_id: &str, active: bool) -> Event {
    let payload = Payload::UserUpdated(UserUpdated {
        user_id: user_id.to_owned(),
        user_name: format!("{user_id}@example.com"),
        active,
        previous_active: !active,
        changes: Vec::new(),
    });
    event(workspace_id, "user", user_id, payload)
}

pub fn user_adopted(workspace_id: &str, user_id: &str) -> Event {
    let payload = Payload::UserAdopted(UserAdopted {
        user_id: user_id.to_owned(),
    });
    event(workspace_id, "user", user_id, payload)
}

pub fn user_deleted(workspace_id: &str, user_id: &str) -> Event {
    let payload = Payload::UserDeleted(UserDeleted {
        user_id: user_id.to_owned(),
    });
    event(workspace_id, "user", user_id, payload)
}

pub fn group_created(workspace_id: &str, group_id: &str, member_ids: &[String]) -> Event {
    let payload = Payload::GroupCreated(GroupCreated {
        group_id: group_id.to_owned(),
        display_name: format!("Group {group_id}"),
        member_ids: member_ids.to_vec(),
    });
    event(workspace_id, "group", group_id, payload)
}

pub fn members_changed(
    workspace_id: &str,
    group_id: &str,
    added: &[String],
    removed: &[String],
) -> Event {
    let payload = Payload::GroupUpdated(GroupUpdated {
        group_id: group_id.to_owned(),
        display_name: format!("Group {group_id}"),
        previous_display_name: String::new(),
        added_member_ids: added.to_vec(),
        removed_member_ids: removed.to_vec(),
        changed_attributes: vec!["members".to_owned()],
    });
    event(workspace_id, "group", group_id, payload)
}

pub fn group_deleted(workspace_id: &str, group_id: &str) -> Event {
    let payload = Payload::GroupDeleted(GroupDeleted {
        group_id: group_id.to_owned(),
        display_name: format!("Group {group_id}"),
        member_count: 0,
    });
    event(workspace_id, "group", group_id, payload)
}

/// Delivers events and panics on failure. Returns the number applied.
pub async fn deliver(service: &RbacService, events: Vec<Event>) -> u32 {
    service
        .deliver(DeliverRequest { events })
        .await
        .unwrap()
        .applied
}

/// Returns the user's effective role and panics on failure.
pub async fn effective(service: &RbacService, workspace_id: &str, user_id: &str) -> EffectiveRole {
    service
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
        })
        .await
        .unwrap()
        .effective_role
        .unwrap()
}

/// Returns the role of each user, in order.
pub async fn roles_of(
    service: &RbacService,
    workspace_id: &str,
    user_ids: &[String],
) -> Vec<String> {
    let mut roles = Vec::new();
    for user_id in user_ids {
        roles.push(effective(service, workspace_id, user_id).await.role);
    }
    roles
}

/// Returns the decoded events of the service's outbox, in sequence order.
pub async fn outbox_events(service: &RbacService) -> Vec<Event> {
    use prost::Message as _;

    let rows = sqlx::query("SELECT payload FROM outbox ORDER BY sequence")
        .fetch_all(service.store().reader())
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let payload: Vec<u8> = row.try_get("payload").unwrap();
            Event::decode(payload.as_slice()).unwrap()
        })
        .collect()
}
