//! Storage of workspaces, SCIM tokens and users behind one [`Store`] trait,
//! with a PostgreSQL and a SQLite engine chosen by database URL.

mod admin;
mod postgres;
mod postgres_admin;
mod postgres_outbox;
pub mod query;
mod render;
mod sqlite;
mod sqlite_admin;
mod sqlite_outbox;

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use plumbing::outbox::{OutboxRecord, OutboxSource};
use prost::Message as _;
use serde_json::Value;
use time::OffsetDateTime;

pub use self::admin::{AdminStore, RotateOutcome};
pub use self::postgres::PostgresStore;
pub use self::query::UserQuery;
pub use self::sqlite::SqliteStore;
use crate::error::StoreError;

/// A workspace with its normalised email domains and SCIM switches.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceRecord {
    pub id: String,
    pub name: String,
    /// Lower-case ASCII entries; `*.example.com` is a wildcard entry.
    pub domains: Vec<String>,
    pub sso_enabled: bool,
    pub scim_enabled: bool,
    pub created: OffsetDateTime,
    pub scim_entitled: bool,
    /// `entra` or `okta` once SCIM is set up.
    pub identity_provider: Option<String>,
    /// Steps of an unfinished reset; `None` when no reset is in progress.
    pub reset_pending: Option<Vec<String>>,
    /// Starts at 1 and grows by 1 with each change of the switches above.
    pub version: i64,
}

/// A SCIM bearer token. Only the SHA-256 digest of the secret is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// The first 12 characters of the secret, to recognise it in a list.
    pub prefix: String,
    pub digest: [u8; 32],
    pub created: OffsetDateTime,
    pub last_used: Option<OffsetDateTime>,
    pub expires: Option<OffsetDateTime>,
    pub revoked: Option<OffsetDateTime>,
}

/// The token found for a digest, with the state of its workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenMatch {
    pub token: TokenRecord,
    pub scim_enabled: bool,
    /// The workspace's identity provider, once SCIM setup chose one.
    pub identity_provider: Option<String>,
}

/// A user row. The engines derive `user_name_folded` and
/// `attributes_folded` from `user_name` and `attributes` on every write.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub workspace_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// Starts at 1 and grows by 1 with each change.
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// The serde JSON of `proto::identity::v1::User` without `id` and `meta`.
    pub attributes: Value,
    /// False for a user created outside SCIM until SCIM first writes it.
    pub scim_managed: bool,
}

/// A domain event to insert into the outbox with the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// `events.v1.Event.id`, a UUIDv7.
    pub id: String,
    pub workspace_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// Payload case, such as `user_deleted`, stored for operators.
    pub event_type: String,
    /// The protobuf encoding of the whole `events.v1.Event`.
    pub payload: Vec<u8>,
    pub created: OffsetDateTime,
}

/// One page of a user search.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    /// Number of users matching the condition, across all pages.
    pub total: i64,
}

/// Storage engine. Every user and token operation is scoped by workspace id.
///
/// The engine is also the source of this service's outbox relay, so every
/// engine implements [`OutboxSource`] over its `outbox` and
/// `outbox_consumers` tables, and the writes of the SCIM lifecycle in
/// [`AdminStore`].
#[async_trait]
pub trait Store: OutboxSource + AdminStore + Send + Sync + std::fmt::Debug {
    /// Runs a trivial query, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the connection pools and waits for checked-out connections.
    async fn close(&self);

    async fn insert_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), StoreError>;
    async fn get_workspace(
        &self,
        workspace_id: &str,
    ) -> Result<Option<WorkspaceRecord>, StoreError>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenMatch>, StoreError>;
    /// Sets `last_used` to `used_at` unless it is already at or after
    /// `stale_before`. The condition is in the UPDATE, so of several
    /// concurrent requests only the first changes the row.
    async fn touch_token(
        &self,
        token_id: &str,
        used_at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Marks a token revoked. Returns false when the workspace has no such token.
    async fn revoke_token(
        &self,
        workspace_id: &str,
        token_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Inserts a user and `events` in one transaction. Fails with
    /// [`StoreError::UniqueViolation`], writing nothing, when the folded
    /// userName is taken in the workspace.
    async fn insert_user(
        &self,
        user: &UserRecord,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError>;
    async fn get_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// Returns the users among `user_ids`, in no particular order.
    async fn get_users(
        &self,
        workspace_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<UserRecord>, StoreError>;
    async fn list_users(
        &self,
        workspace_id: &str,
        query: &UserQuery,
    ) -> Result<UserPage, StoreError>;
    /// Overwrites the user only while its stored version equals
    /// `expected_version`. Returns false when no row matched.
    async fn update_user(
        &self,
        user: &UserRecord,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        self.update_user_recorded(user, expected_version, &[]).await
    }
    /// Deletes the user, only at `expected_version` when given, and inserts
    /// `event` into the outbox in the same transaction. Returns false, and
    /// writes no event, when no row matched.
    async fn delete_user(
        &self,
        workspace_id: &str,
        user_id: &str,
        expected_version: Option<i64>,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError>;
}

/// Connects to `database_url` (`postgres://`, `postgresql://`, `sqlite:`)
/// and applies the engine's migrations.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            PostgresStore::connect(database_url, max_connections).await?,
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect(database_url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Truncates a timestamp to whole microseconds, the precision both engines store.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// Maximum outbox rows one prune deletes, so a prune after a long outage
/// does not hold SQLite's only write connection for long.
const PRUNE_BATCH: i64 = 10_000;

/// Maximum characters of a delivery error kept in `outbox_consumers.last_error`.
const MAX_STORED_ERROR_CHARS: usize = 1_000;

/// Decodes one outbox row.
fn outbox_record(
    sequence: i64,
    payload: &[u8],
    created: OffsetDateTime,
) -> anyhow::Result<OutboxRecord> {
    let event = proto::events::v1::Event::decode(payload)
        .with_context(|| format!("outbox row {sequence} does not hold a valid events.v1.Event"))?;
    Ok(OutboxRecord {
        sequence,
        event,
        created: SystemTime::from(created),
    })
}

/// Shortens a delivery error for storage and removes U+0000, which
/// PostgreSQL rejects in text.
fn stored_error(error: &str) -> String {
    error
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_STORED_ERROR_CHARS)
        .collect()
}
