//! Groups service: IdP groups with set-based memberships and User Groups
//! (manual or synced from an IdP group), stored in PostgreSQL or SQLite.
//! It serves them and cached membership results over the `groups.v1` gRPC
//! services, and consumes `events.v1.EventSink` deliveries. Changes are
//! written as events to an outbox and relayed to consumers.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cache;
mod convert;
pub mod error;
mod events;
mod filter;
pub mod fold;
mod groups;
mod grpc;
mod membership;
pub mod outbox;
mod paging;
pub mod store;
mod user_groups;

use std::sync::Arc;

use anyhow::Context;
use plumbing::cache::Cache;
use plumbing::outbox::OutboxSignal;
use proto::events::v1::event_sink_server::EventSinkServer;
use proto::groups::v1::{
    group_service_server::GroupServiceServer, membership_service_server::MembershipServiceServer,
    user_group_service_server::UserGroupServiceServer,
};
use time::OffsetDateTime;

pub use crate::cache::MembershipCache;
pub use crate::error::{ServiceError, StoreError};
pub use crate::groups::MAX_RETURNED_MEMBERS;
pub use crate::grpc::{EventSinkGrpc, GroupGrpc, MembershipGrpc, UserGroupGrpc};
pub use crate::membership::MAX_BATCH_PAIRS;
pub use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use crate::store::user_group_writes::{MAX_LISTED_MEMBER_IDS, MAX_USER_GROUP_NAME_CHARS};
use crate::store::{Store, truncate_to_micros};
pub use crate::user_groups::MAX_USER_IDS_PER_REQUEST;

/// Settings of groups-svc.
#[derive(Debug, Clone)]
pub struct GroupsConfig {
    /// `postgres://user@host/db`, `sqlite://path?mode=rwc` or `sqlite::memory:`.
    pub database_url: String,
    /// Maximum pooled connections. For SQLite this sizes the read pool,
    /// because writes go through a single connection.
    pub max_connections: u32,
    /// `redis://host:port/db` for a membership cache shared by replicas;
    /// `None` caches in process.
    pub redis_url: Option<String>,
}

/// The groups service: business rules over a [`Store`] and a
/// [`MembershipCache`]. Cloning is cheap and every clone shares the pool and
/// the cache.
#[derive(Debug, Clone)]
pub struct GroupsService {
    store: Arc<dyn Store>,
    cache: MembershipCache,
    /// Woken after each commit that wrote to the outbox.
    outbox_signal: OutboxSignal,
}

impl GroupsService {
    /// Connects to the configured database, applies its migrations and
    /// connects to Redis when configured. Fails when Redis is configured but
    /// unreachable; once running, Redis failures only degrade the cache.
    pub async fn connect(config: &GroupsConfig) -> anyhow::Result<Self> {
        let store = store::connect(&config.database_url, config.max_connections)
            .await
            .context("failed to open the groups database")?;
        let cache = match &config.redis_url {
            Some(url) => Cache::redis(plumbing::cache::connect_redis(url).await?),
            None => Cache::in_process(cache::IN_PROCESS_CAPACITY),
        };
        tracing::info!(
            engine = engine_name(&config.database_url),
            cache = if config.redis_url.is_some() {
                "redis"
            } else {
                "in-process"
            },
            "groups database ready"
        );
        Ok(Self::from_parts(store, MembershipCache::new(cache)))
    }

    /// Wraps an already connected store and cache.
    pub fn from_parts(store: Arc<dyn Store>, cache: MembershipCache) -> Self {
        Self {
            store,
            cache,
            outbox_signal: OutboxSignal::new(),
        }
    }

    /// Returns the storage engine, for tests and maintenance tasks. Writes
    /// made through it skip the cache invalidation that the RPCs do.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn group_server(&self) -> GroupServiceServer<GroupGrpc> {
        GroupServiceServer::new(GroupGrpc::new(self.clone()))
    }

    pub fn membership_server(&self) -> MembershipServiceServer<MembershipGrpc> {
        MembershipServiceServer::new(MembershipGrpc::new(self.clone()))
    }

    pub fn user_group_server(&self) -> UserGroupServiceServer<UserGroupGrpc> {
        UserGroupServiceServer::new(UserGroupGrpc::new(self.clone()))
    }

    pub fn event_sink_server(&self) -> EventSinkServer<EventSinkGrpc> {
        EventSinkServer::new(EventSinkGrpc::new(self.clone()))
            .max_decoding_message_size(plumbing::outbox::MAX_DELIVER_MESSAGE_BYTES)
    }

    /// Runs a trivial query and returns whether it succeeded. The cache is
    /// not checked, because the service returns correct results without it.
    pub async fn ready(&self) -> bool {
        match self.store.ping().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "groups database ping failed");
                false
            }
        }
    }

    /// Closes the connection pool.
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
        plumbing::outbox::processed::run_retention(
            "groups-svc",
            config,
            cancel,
            |before, limit| self.prune_processed_events(before, limit),
        )
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
        let before = OffsetDateTime::from(before);
        Ok(self.store.prune_processed_events(before, limit).await?)
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
