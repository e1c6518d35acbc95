//! Integration tests of groups-svc against real SQLite and PostgreSQL
//! databases and a real Redis, and over gRPC on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod concurrency;
mod filters;
mod grpc;
mod outbox;
mod processed_events;
mod relay;
mod sink;
mod storage;
mod support;
mod user_group_cache;
mod user_group_grpc;
mod user_group_support;
mod user_group_sync;
mod user_groups;

use groups_svc::{GroupsConfig, GroupsService};

#[tokio::test]
async fn in_memory_sqlite_keeps_data_across_calls() {
    let config = GroupsConfig {
        database_url: "sqlite::memory:".to_owned(),
        max_connections: 4,
        redis_url: None,
    };
    let service = GroupsService::connect(&config).await.unwrap();
    let workspace_id = support::workspace();

    let created = support::create(&service, &workspace_id, "Team", &["a"]).await;

    assert_eq!(
        support::member_ids(&service, &workspace_id, &created.id).await,
        support::ids(&["a"])
    );
    assert!(service.ready().await);
    service.close().await;
}

#[tokio::test]
async fn unsupported_database_url_rejected() {
    let config = GroupsConfig {
        database_url: "mysql://127.0.0.1/groups".to_owned(),
        max_connections: 1,
        redis_url: None,
    };

    let result = GroupsService::connect(&config).await;

    assert!(result.is_err());
}
