//! Test harness: runs a test body against a fresh SQLite file or a fresh
//! PostgreSQL database, and removes it afterwards, even when the body
//! panics. Also builders for requests and access to the local Redis.

use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf};

use futures::FutureExt;
use groups_svc::{GroupsConfig, GroupsService};
use proto::events::v1::{Event, GroupUpdated, event::Payload};
use proto::groups::v1::{
    CreateGroupRequest, Group, Member, MemberList, MembershipOperation, UpdateGroupRequest,
    UpdateGroupResponse, UserIdList, membership_operation::Operation,
};
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
/// in-process membership cache.
pub struct TestContext {
    pub service: GroupsService,
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
        std::env::temp_dir().join(format!("groups-svc-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        directory.join("groups.db").display()
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

    let database = format!("groups_test_{}", Uuid::new_v4().simple());
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

async fn connect(database_url: &str) -> GroupsService {
    let config = GroupsConfig {
        database_url: database_url.to_owned(),
        max_connections: 8,
        redis_url: None,
    };
    GroupsService::connect(&config).await.unwrap()
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

/// Returns a new workspace id; groups-svc does not own workspaces, so any
/// unique string scopes a test's data.
pub fn workspace() -> String {
    format!("ws-{}", Uuid::now_v7())
}

/// Builds members of type User from user ids.
pub fn members(user_ids: &[&str]) -> Vec<Member> {
    user_ids.iter().map(|id| member(id)).collect()
}

pub fn member(user_id: &str) -> Member {
    Member {
        value: user_id.to_owned(),
        display: Some(format!("Display of {user_id}")),
        r#type: Some("User".to_owned()),
    }
}

/// Creates a group and panics on failure.
pub async fn create(
    service: &GroupsService,
    workspace_id: &str,
    display_name: &str,
    user_ids: &[&str],
) -> Group {
    service
        .create_group(CreateGroupRequest {
            workspace_id: workspace_id.to_owned(),
            display_name: display_name.to_owned(),
            external_id: None,
            members: members(user_ids),
        })
        .await
        .unwrap()
}

pub fn add(user_ids: &[&str]) -> MembershipOperation {
    MembershipOperation {
        operation: Some(Operation::Add(MemberList {
            members: members(user_ids),
        })),
    }
}

pub fn remove(user_ids: &[&str]) -> MembershipOperation {
    MembershipOperation {
        operation: Some(Operation::Remove(UserIdList {
            user_ids: user_ids.iter().map(|id| (*id).to_owned()).collect(),
        })),
    }
}

pub fn replace(user_ids: &[&str]) -> MembershipOperation {
    MembershipOperation {
        operation: Some(Operation::Replace(MemberList {
            members: members(user_ids),
        })),
    }
}

pub fn clear() -> MembershipOperation {
    MembershipOperation {
        operation: Some(Operation::Clear(true)),
    }
}

/// Builds an UpdateGroup request with only membership operations.
pub fn update(
    workspace_id: &str,
    group_id: &str,
    operations: Vec<MembershipOperation>,
) -> UpdateGroupRequest {
    UpdateGroupRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        operations,
        ..UpdateGroupRequest::default()
    }
}

/// Applies membership operations and panics on failure.
pub async fn apply(
    service: &GroupsService,
    workspace_id: &str,
    group_id: &str,
    operations: Vec<MembershipOperation>,
) -> UpdateGroupResponse {
    service
        .update_group(update(workspace_id, group_id, operations))
        .await
        .unwrap()
}

/// Returns the member user ids of a group, sorted, read with GetGroup.
pub async fn member_ids(
    service: &GroupsService,
    workspace_id: &str,
    group_id: &str,
) -> Vec<String> {
    let group = service
        .get_group(proto::groups::v1::GetGroupRequest {
            workspace_id: workspace_id.to_owned(),
            group_id: group_id.to_owned(),
            include_members: true,
        })
        .await
        .unwrap();
    group
        .members
        .into_iter()
        .map(|member| member.value)
        .collect()
}

/// Turns string literals into owned ids.
pub fn ids(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Returns the version of a group's meta.
pub fn version(group: &Group) -> i64 {
    group
        .meta
        .as_ref()
        .map(|meta| meta.version)
        .unwrap_or_default()
}

/// Consumer name that never acknowledges anything, so its pending events
/// are every event in the outbox.
pub const INSPECTOR: &str = "test-inspector";

/// Returns every outbox event of `workspace_id`, in outbox order.
pub async fn events(service: &GroupsService, workspace_id: &str) -> Vec<Event> {
    let records = service
        .store()
        .fetch_pending(INSPECTOR, 100_000)
        .await
        .unwrap();
    records
        .into_iter()
        .map(|record| record.event)
        .filter(|event| event.workspace_id == workspace_id)
        .collect()
}

/// Returns the payload kind of every event, such as `group_updated`.
pub fn kinds(events: &[Event]) -> Vec<&'static str> {
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

/// Returns the `GroupUpdated` payload of an event, and panics on any other.
pub fn group_updated(event: &Event) -> &GroupUpdated {
    match &event.payload {
        Some(Payload::GroupUpdated(payload)) => payload,
        other => panic!("expected GroupUpdated, got {other:?}"),
    }
}
