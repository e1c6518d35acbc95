//! Integration tests of rbac-svc against real SQLite and PostgreSQL
//! databases and a real Redis, and over gRPC on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod grpc;
mod processed_events;
mod service;
mod support;

use rbac_svc::{RbacConfig, RbacService};

#[tokio::test]
async fn unsupported_database_url_rejected() {
    let config = RbacConfig {
        database_url: "mysql://127.0.0.1/rbac".to_owned(),
        max_connections: 1,
        redis_url: None,
    };

    let result = RbacService::connect(&config).await;

    assert!(result.is_err());
}

#[tokio::test]
async fn in_memory_sqlite_keeps_data_across_calls() {
    let config = RbacConfig {
        database_url: "sqlite::memory:".to_owned(),
        max_connections: 4,
        redis_url: None,
    };
    let service = RbacService::connect(&config).await.unwrap();
    let workspace_id = support::workspace();
    let users = support::user_ids(1);
    support::deliver(
        &service,
        vec![support::user_created(&workspace_id, &users[0], true)],
    )
    .await;

    let answer = support::effective(&service, &workspace_id, &users[0]).await;

    assert_eq!(answer.role, "member");
    service.close().await;
}
