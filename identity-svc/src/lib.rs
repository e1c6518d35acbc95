//! Identity service: workspaces with their email domains and SCIM
//! lifecycle, SCIM bearer tokens, SCIM users and login checks, stored in
//! PostgreSQL or SQLite and served over the `identity.v1` gRPC services.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod convert;
mod domains;
pub mod email_domain;
pub mod error;
mod filter;
pub mod fold;
mod grpc;
mod login;
pub mod outbox;
pub mod reset;
mod scim_lifecycle;
pub mod store;
mod token_admin;
pub mod tokens;
mod user_changes;
mod users;
mod workspaces;

use std::sync::Arc;

use anyhow::Context;
use plumbing::outbox::OutboxSignal;
use proto::identity::v1::{
    token_service_server::TokenServiceServer, user_service_server::UserServiceServer,
    workspace_service_server::WorkspaceServiceServer,
};
use time::OffsetDateTime;

pub use crate::error::{ServiceError, StoreError};
pub use crate::grpc::{TokenGrpc, UserGrpc, WorkspaceGrpc};
pub use crate::reset::{GroupsResetParticipant, ResetParticipant};
use crate::store::{Store, WorkspaceRecord, truncate_to_micros};

/// Settings of identity-svc.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// `postgres://user@host/db`, `sqlite://path?mode=rwc` or `sqlite::memory:`.
    pub database_url: String,
    /// Maximum pooled connections. For SQLite this sizes the read pool,
    /// because writes go through a single connection.
    pub max_connections: u32,
}

/// The identity service: business rules over a [`Store`]. Cloning is cheap
/// and every clone shares the same pool.
#[derive(Debug, Clone)]
pub struct IdentityService {
    store: Arc<dyn Store>,
    /// Woken after each commit that wrote to the outbox.
    outbox_signal: OutboxSignal,
    /// Services called by a SCIM reset, in order.
    reset_participants: Arc<Vec<Arc<dyn ResetParticipant>>>,
}

impl IdentityService {
    /// Connects to the configured database and applies its migrations.
    pub async fn connect(config: &IdentityConfig) -> anyhow::Result<Self> {
        let store = store::connect(&config.database_url, config.max_connections)
            .await
            .context("failed to open the identity database")?;
        tracing::info!(
            engine = engine_name(&config.database_url),
            "identity database ready"
        );
        Ok(Self::from_store(store))
    }

    /// Wraps an already connected store.
    pub fn from_store(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            outbox_signal: OutboxSignal::new(),
            reset_participants: Arc::new(Vec::new()),
        }
    }

    /// Returns the storage engine, for tests and maintenance tasks.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn workspace_server(&self) -> WorkspaceServiceServer<WorkspaceGrpc> {
        WorkspaceServiceServer::new(WorkspaceGrpc::new(self.clone()))
    }

    pub fn token_server(&self) -> TokenServiceServer<TokenGrpc> {
        TokenServiceServer::new(TokenGrpc::new(self.clone()))
    }

    pub fn user_server(&self) -> UserServiceServer<UserGrpc> {
        UserServiceServer::new(UserGrpc::new(self.clone()))
    }

    /// Runs a trivial query and returns whether it succeeded.
    pub async fn ready(&self) -> bool {
        match self.store.ping().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "identity database ping failed");
                false
            }
        }
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Returns the workspace or [`ServiceError::WorkspaceNotFound`].
    async fn require_workspace(&self, workspace_id: &str) -> Result<WorkspaceRecord, ServiceError> {
        self.store
            .get_workspace(workspace_id)
            .await?
            .ok_or_else(|| ServiceError::WorkspaceNotFound(workspace_id.to_owned()))
    }
}

/// Returns the current time at the microsecond precision both engines store.
fn now() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

fn engine_name(database_url: &str) -> &'static str {
    if database_url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}
