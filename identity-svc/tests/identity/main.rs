//! Integration tests of identity-svc against real SQLite and PostgreSQL
//! databases, and over gRPC on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod domains;
mod filters;
mod grpc;
mod lifecycle;
mod outbox;
mod paging;
mod relay;
mod reset;
mod sink;
mod support;
mod token_admin;
mod token_cache;
mod tokens;
mod users;
mod workspace_admin;

use identity_svc::{IdentityConfig, IdentityService};

#[tokio::test]
async fn in_memory_sqlite_keeps_data_across_calls() {
    let config = IdentityConfig {
        database_url: "sqlite::memory:".to_owned(),
        max_connections: 4,
    };
    let service = IdentityService::connect(&config).await.unwrap();
    let workspace_id = support::workspace(&service, &["example.com"]).await;

    let created = support::create(&service, &workspace_id, support::user("ada")).await;

    assert_eq!(created.meta.unwrap().version, 1);
    assert!(service.ready().await);
    service.close().await;
}

#[tokio::test]
async fn unsupported_database_url_rejected() {
    let config = IdentityConfig {
        database_url: "mysql://127.0.0.1/identity".to_owned(),
        max_connections: 1,
    };

    let result = IdentityService::connect(&config).await;

    assert!(result.is_err());
}
