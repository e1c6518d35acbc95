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
use plumbing::{outbox::OutboxSignal, token_cache::TokenCache};
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
    /// Successful token authentications, shared with the gateway. `None`
    /// without a cache every replica and the gateway share, because a
    /// revocation must reach every reader of the cache.
    token_cache: Option<TokenCache>,
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
            token_cache: None,
        }
    }

    /// Caches token authentications in `cache`, which must be the one every
    /// replica of identity-svc and the gateway use: Redis, or an in-process
    /// cache when all of them run in this process.
    pub fn with_token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = Some(cache);
        self
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

    /// Returns the digests of every token of the workspace, revoked and
    /// expired ones included, to withdraw their cached authentications.
    /// Empty without a token cache.
    async fn token_digests(&self, workspace_id: &str) -> Result<Vec<[u8; 32]>, ServiceError> {
        if self.token_cache.is_none() {
            return Ok(Vec::new());
        }
        let tokens = self.store.list_tokens(workspace_id).await?;
        Ok(tokens.into_iter().map(|token| token.digest).collect())
    }

    /// Withdraws the cached authentications of the tokens with `digests`.
    async fn withdraw_tokens(&self, digests: &[[u8; 32]]) {
        if let Some(cache) = &self.token_cache {
            cache.withdraw(digests).await;
        }
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
