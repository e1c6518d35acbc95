//! Test harness: runs a test body against a fresh SQLite file or a fresh
//! PostgreSQL database, and removes it afterwards, even when the body
//! panics. Also builders of the events the service stores.

use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf};

use audit_svc::{AuditConfig, AuditService};
use futures::FutureExt;
use proto::events::v1::{
    Actor, AttributeChange, DeliverRequest, Event, UserCreated, UserUpdated, event::Payload,
};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A migrated, empty database and the service on top of it.
pub struct TestContext {
    pub service: AuditService,
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
        std::env::temp_dir().join(format!("audit-svc-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("audit.db").display());
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

    let database = format!("audit_test_{}", Uuid::new_v4().simple());
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

async fn connect(database_url: &str) -> AuditService {
    let config = AuditConfig {
        database_url: database_url.to_owned(),
        max_connections: 8,
        retention: std::time::Duration::from_secs(400 * 86_400),
    };
    AuditService::connect(&config).await.unwrap()
}

/// Returns a new workspace id.
pub fn workspace() -> String {
    format!("ws-{}", Uuid::now_v7())
}

/// Builds an event of `payload` about `aggregate_id`, made by `actor`.
pub fn event(
    workspace_id: &str,
    aggregate_id: &str,
    actor: Option<Actor>,
    payload: Payload,
) -> Event {
    Event {
        id: Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: "user".to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred: Some(prost_types::Timestamp {
            seconds: 1_800_000_000,
            nanos: 0,
        }),
        actor,
        request_id: "req-1".to_owned(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
        payload: Some(payload),
    }
}

pub fn user_created(workspace_id: &str, user_id: &str) -> Event {
    event(
        workspace_id,
        user_id,
        Some(plumbing::actor::scim_token("tok-1", "entra")),
        Payload::UserCreated(UserCreated {
            user_id: user_id.to_owned(),
            user_name: format!("{user_id}@example.com"),
            active: true,
            scim_managed: true,
        }),
    )
}

pub fn user_deactivated(workspace_id: &str, user_id: &str) -> Event {
    event(
        workspace_id,
        user_id,
        Some(plumbing::actor::scim_token("tok-1", "okta")),
        Payload::UserUpdated(UserUpdated {
            user_id: user_id.to_owned(),
            user_name: format!("{user_id}@example.com"),
            active: false,
            previous_active: true,
            changes: vec![AttributeChange {
                attribute: "active".to_owned(),
                before: "true".to_owned(),
                after: "false".to_owned(),
            }],
        }),
    )
}

/// Delivers events and panics on failure. Returns the number stored.
pub async fn deliver(service: &AuditService, events: Vec<Event>) -> u32 {
    service
        .deliver(DeliverRequest { events })
        .await
        .unwrap()
        .applied
}
