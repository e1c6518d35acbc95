//! Role service: the role catalogue, the default role, mappings from IdP
//! groups to roles and every user's stored effective role, in PostgreSQL or
//! SQLite, served over `rbac.v1` and fed by identity-svc's and groups-svc's
//! events through `events.v1.EventSink`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admin;
pub mod catalogue;
pub mod error;
mod events;
mod grpc;
pub mod outbox;
mod recompute;
mod resolve;
mod roles;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;
use plumbing::cache::Cache;
use plumbing::epoch_cache::EpochCache;
use plumbing::outbox::{Consumer, OutboxSignal, OutboxSource, Relay, RelayConfig};
use proto::events::v1::event_sink_server::EventSinkServer;
use proto::rbac::v1::{
    role_admin_service_server::RoleAdminServiceServer, role_service_server::RoleServiceServer,
};

pub use crate::admin::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SAMPLE_SIZE};
pub use crate::error::{ServiceError, StoreError};
pub use crate::grpc::{EventSinkGrpc, RoleAdminGrpc, RoleGrpc};
pub use crate::roles::MAX_BATCH_USERS;
use crate::store::Store;

/// Entries of the in-process cache used without Redis.
pub const IN_PROCESS_CACHE_CAPACITY: u64 = 200_000;

/// Settings of rbac-svc.
#[derive(Debug, Clone)]
pub struct RbacConfig {
    /// `postgres://user@host/db`, `sqlite://path?mode=rwc` or `sqlite::memory:`.
    pub database_url: String,
    /// Maximum pooled connections. For SQLite this sizes the read pool,
    /// because writes go through a single connection.
    pub max_connections: u32,
    /// `redis://host:port/db` for a cache shared by replicas; `None` caches
    /// in process.
    pub redis_url: Option<String>,
}

/// The role service. Cloning is cheap and every clone shares the pools and
/// the cache.
#[derive(Debug, Clone)]
pub struct RbacService {
    store: Arc<Store>,
    cache: EpochCache,
    outbox_signal: OutboxSignal,
}

impl RbacService {
    /// Connects to the configured database, applies its migrations and
    /// connects to Redis when configured. Fails when Redis is configured but
    /// unreachable; once running, Redis failures only degrade the cache.
    pub async fn connect(config: &RbacConfig) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url, config.max_connections)
            .await
            .context("failed to open the role database")?;
        let cache = match &config.redis_url {
            Some(url) => Cache::redis(plumbing::cache::connect_redis(url).await?),
            None => Cache::in_process(IN_PROCESS_CACHE_CAPACITY),
        };
        tracing::info!(
            engine = ?store.engine(),
            cache = if config.redis_url.is_some() { "redis" } else { "in-process" },
            "role database ready"
        );
        Ok(Self {
            store: Arc::new(store),
            cache: EpochCache::new(cache, "rbac"),
            outbox_signal: OutboxSignal::new(),
        })
    }

    /// Returns the store, for tests and maintenance tasks. Writes made
    /// through it skip the cache invalidation that the RPCs do.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn role_admin_server(&self) -> RoleAdminServiceServer<RoleAdminGrpc> {
        RoleAdminServiceServer::new(RoleAdminGrpc::new(self.clone()))
    }

    pub fn role_server(&self) -> RoleServiceServer<RoleGrpc> {
        RoleServiceServer::new(RoleGrpc::new(self.clone()))
    }

    pub fn event_sink_server(&self) -> EventSinkServer<EventSinkGrpc> {
        EventSinkServer::new(EventSinkGrpc::new(self.clone()))
            .max_decoding_message_size(plumbing::outbox::MAX_DELIVER_MESSAGE_BYTES)
    }

    /// Builds the relay that delivers this service's outbox (role, mapping
    /// and default-role changes) to `consumers`. Run it with
    /// `relay.run(token)` until shutdown, and stop it before
    /// [`RbacService::close`]. Fails when `consumers` is empty or names a
    /// consumer twice.
    pub fn outbox_relay(
        &self,
        consumers: Vec<Consumer>,
        config: RelayConfig,
    ) -> anyhow::Result<Relay> {
        let source: Arc<dyn OutboxSource> = self.store.clone();
        let relay = Relay::new(outbox::OUTBOX_SERVICE, source, consumers, config)?;
        Ok(relay.with_signal(self.outbox_signal.clone()))
    }

    /// Runs a trivial query and returns whether it succeeded.
    pub async fn ready(&self) -> bool {
        match self.store.ping().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "role database ping failed");
                false
            }
        }
    }

    /// Closes the connection pools.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Deletes processed event ids older than `config`'s retention, every
    /// few minutes, until `cancel` fires.
    pub async fn run_processed_events_retention(
        self,
        config: plumbing::outbox::processed::ProcessedEventsConfig,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        plumbing::outbox::processed::run_retention("rbac-svc", config, cancel, |before, limit| {
            self.prune_processed_events(before, limit)
        })
        .await;
    }

    /// Deletes at most `limit` ids of applied events recorded before
    /// `before`, oldest first, and returns how many it deleted. A relay that
    /// redelivers one of them afterwards gets it applied again.
    pub async fn prune_processed_events(
        &self,
        before: std::time::SystemTime,
        limit: u32,
    ) -> anyhow::Result<u64> {
        let elapsed = before
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let before_micros = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
        Ok(self
            .store
            .prune_processed_events(before_micros, limit)
            .await?)
    }
}
