//! Test harness: runs a test body against a fresh SQLite file or a fresh
//! PostgreSQL database, and removes it afterwards, even when the body panics.

use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf};

use futures::FutureExt;
use identity_svc::{IdentityConfig, IdentityService};
use proto::identity::v1::{CreateUserRequest, CreateWorkspaceRequest, MultiValue, User};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A migrated, empty database and the service on top of it.
pub struct TestContext {
    pub service: IdentityService,
    pub engine: Engine,
    pub database_url: String,
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
        std::env::temp_dir().join(format!("identity-svc-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        directory.join("identity.db").display()
    );
    let service = connect(&database_url).await;

    let context = TestContext {
        service: service.clone(),
        engine: Engine::Sqlite,
        database_url,
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
    let admin_url = std::env::var("IDENTITY_TEST_POSTGRES_URL")
        .or_else(|_| std::env::var("TEST_POSTGRES_URL"))
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL test: cannot connect to {admin_url}: {error}");
            return;
        }
        Err(error) => panic!("PostgreSQL at {admin_url} is required when CI=true: {error}"),
    };

    let database = format!("test_{}", Uuid::new_v4().simple());
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
        engine: Engine::Postgres,
        database_url,
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

async fn connect(database_url: &str) -> IdentityService {
    let config = IdentityConfig {
        database_url: database_url.to_owned(),
        max_connections: 4,
    };
    IdentityService::connect(&config).await.unwrap()
}

/// Creates a workspace with SSO and SCIM on and returns its id.
pub async fn workspace(service: &IdentityService, domains: &[&str]) -> String {
    let request = CreateWorkspaceRequest {
        name: "Test firm".to_owned(),
        domains: domains.iter().map(|domain| (*domain).to_owned()).collect(),
        sso_enabled: true,
        scim_enabled: true,
        scim_entitled: true,
    };
    service.create_workspace(request).await.unwrap().id
}

/// Builds an active user with only `userName` set.
pub fn user(user_name: &str) -> User {
    User {
        user_name: user_name.to_owned(),
        active: Some(true),
        ..User::default()
    }
}

/// Builds an email value of the given type.
pub fn email(value: &str, kind: &str, primary: bool) -> MultiValue {
    MultiValue {
        value: Some(value.to_owned()),
        r#type: Some(kind.to_owned()),
        primary: Some(primary),
        ..MultiValue::default()
    }
}

/// Creates `user` in `workspace_id` and panics on failure.
pub async fn create(service: &IdentityService, workspace_id: &str, user: User) -> User {
    service
        .create_user(CreateUserRequest {
            workspace_id: workspace_id.to_owned(),
            user: Some(user),
        })
        .await
        .unwrap()
}

/// Creates a workspace with the given SSO and entitlement switches and SCIM
/// off, and returns its id.
pub async fn workspace_with(
    service: &IdentityService,
    sso_enabled: bool,
    scim_entitled: bool,
) -> String {
    let request = CreateWorkspaceRequest {
        name: "Lifecycle firm".to_owned(),
        domains: vec!["example.com".to_owned()],
        sso_enabled,
        scim_enabled: false,
        scim_entitled,
    };
    service.create_workspace(request).await.unwrap().id
}

/// Returns the `event_type` of every outbox event of `workspace_id`, in
/// outbox order.
pub async fn event_types(service: &IdentityService, workspace_id: &str) -> Vec<String> {
    events(service, workspace_id)
        .await
        .iter()
        .map(|event| payload_name(event).to_owned())
        .collect()
}

/// Returns every outbox event of `workspace_id`, in outbox order.
pub async fn events(
    service: &IdentityService,
    workspace_id: &str,
) -> Vec<proto::events::v1::Event> {
    // A consumer that never acknowledges has every stored event pending.
    let records = service
        .store()
        .fetch_pending("test-inspector", 10_000)
        .await
        .unwrap();
    records
        .into_iter()
        .map(|record| record.event)
        .filter(|event| event.workspace_id == workspace_id)
        .collect()
}

fn payload_name(event: &proto::events::v1::Event) -> &'static str {
    event
        .payload
        .as_ref()
        .map_or("unknown", |payload| payload.kind())
}
