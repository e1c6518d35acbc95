//! Audit service: the append-only trail of every provisioning change, in
//! PostgreSQL or SQLite, fed by the other services' outboxes through
//! `events.v1.EventSink` and queried over `audit.v1.AuditService`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod export;
mod grpc;
pub mod record;
mod service;
pub mod store;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use proto::audit::v1::audit_service_server::AuditServiceServer;
use proto::events::v1::event_sink_server::EventSinkServer;

pub use crate::error::{ServiceError, StoreError};
pub use crate::grpc::{AuditGrpc, EventSinkGrpc};
pub use crate::service::{DEFAULT_PAGE_SIZE, EXPORT_BATCH, MAX_PAGE_SIZE, MAX_REPORT_COUNTS};
use crate::store::Store;

/// Settings of audit-svc.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// `postgres://user@host/db`, `sqlite://path?mode=rwc` or `sqlite::memory:`.
    pub database_url: String,
    /// Maximum pooled connections. For SQLite this sizes the read pool,
    /// because writes go through a single connection.
    pub max_connections: u32,
    /// Age after which the retention job deletes an event.
    pub retention: Duration,
}

/// The audit service. Cloning is cheap and every clone shares the pools.
#[derive(Debug, Clone)]
pub struct AuditService {
    store: Arc<Store>,
    retention: Duration,
}

impl AuditService {
    /// Connects to the configured database and applies its migrations.
    pub async fn connect(config: &AuditConfig) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url, config.max_connections)
            .await
            .context("failed to open the audit database")?;
        tracing::info!(
            retention_days = config.retention.as_secs() / 86_400,
            "audit database ready"
        );
        Ok(Self {
            store: Arc::new(store),
            retention: config.retention,
        })
    }

    /// Returns the store, for tests and maintenance tasks.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn audit_server(&self) -> AuditServiceServer<AuditGrpc> {
        AuditServiceServer::new(AuditGrpc::new(self.clone()))
    }

    pub fn event_sink_server(&self) -> EventSinkServer<EventSinkGrpc> {
        EventSinkServer::new(EventSinkGrpc::new(self.clone()))
            .max_decoding_message_size(plumbing::outbox::MAX_DELIVER_MESSAGE_BYTES)
    }

    /// Runs a trivial query and returns whether it succeeded.
    pub async fn ready(&self) -> bool {
        match self.store.ping().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "audit database ping failed");
                false
            }
        }
    }

    /// Closes the connection pools.
    pub async fn close(&self) {
        self.store.close().await;
    }
}
