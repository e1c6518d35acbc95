//! Storage of groups and memberships behind one [`Store`] trait, with a
//! PostgreSQL and a SQLite engine chosen by database URL.
//!
//! Engines provide reads and the row-level steps of a write transaction
//! ([`WriteTx`]). `writes` composes those steps into the group operations
//! and `user_group_writes` into the User Group operations, so both engines
//! apply membership changes with the same set semantics, and each
//! operation inserts its events into the outbox in the same transaction.

pub mod outbox;
mod postgres;
pub mod query;
mod render;
mod sqlite;
pub mod user_group_writes;
pub mod user_groups;
pub mod writes;

use std::sync::Arc;

use async_trait::async_trait;
use plumbing::outbox::OutboxSource;
use time::OffsetDateTime;

pub use self::outbox::OutboxEvent;
pub use self::postgres::PostgresStore;
pub use self::query::GroupQuery;
pub use self::sqlite::SqliteStore;
pub use self::user_groups::{
    SyncableGroupRecord, UserGroupEntry, UserGroupRead, UserGroupRecord, UserGroupSource,
    UserGroupSummary, UserGroupWrite, UserGroupsOfUser,
};
use crate::error::StoreError;

/// A group row without its members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: String,
    pub workspace_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    /// Starts at 1 and grows by 1 with each change. Every membership change
    /// bumps it, so it is also the group's membership epoch.
    pub version: i64,
    pub member_count: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: String,
    pub display: Option<String>,
    /// SCIM `type`, "User" when set.
    pub kind: Option<String>,
}

/// One page of a group search.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPage {
    /// Each group with its members when they were requested, else `None`.
    pub groups: Vec<(GroupRecord, Option<Vec<MemberRecord>>)>,
    /// Number of groups matching the condition, across all pages.
    pub total: i64,
}

/// A group's membership epoch, read in the same snapshot as a membership result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupEpoch {
    /// The workspace has no such group.
    Absent,
    Version(i64),
}

/// Membership results for a set of (group, user) pairs from one snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MembershipSnapshot {
    /// Epoch of every requested group that exists in the workspace.
    pub epochs: std::collections::HashMap<String, i64>,
    /// The requested pairs that are memberships, as (group id, user id).
    pub members: std::collections::HashSet<(String, String)>,
}

/// The groups of one user with the user's membership epoch, from one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroups {
    /// 0 when the user was never a member of any group of the workspace.
    pub epoch: i64,
    /// (group id, displayName), ordered by group id.
    pub groups: Vec<(String, String)>,
}

/// A group's id, displayName and member count as a write left them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub id: String,
    pub display_name: String,
    pub member_count: i64,
}

/// The groups a workspace reset deleted and the members they had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedGroups {
    /// The deleted groups, ordered by id, with their member counts before
    /// the deletion.
    pub groups: Vec<GroupSummary>,
    /// Each former member's user id once, ordered by id. Their membership
    /// epochs were bumped in the same transaction.
    pub member_ids: Vec<String>,
}

/// Storage engine. Every operation is scoped by workspace id.
///
/// The engine is also the source of this service's outbox relay, so every
/// engine implements [`OutboxSource`] over its `outbox` and
/// `outbox_consumers` tables, and it reads User Groups through
/// [`UserGroupRead`].
#[async_trait]
pub trait Store: OutboxSource + UserGroupRead + Send + Sync + std::fmt::Debug {
    /// Runs a trivial query, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the connection pools and waits for checked-out connections.
    async fn close(&self);
    /// Deletes at most `limit` processed event ids recorded before `before`,
    /// oldest first, and returns how many it deleted.
    async fn prune_processed_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Starts a write transaction. Writers to one group queue instead of
    /// failing: PostgreSQL through the row lock of [`WriteTx::lock_group`],
    /// SQLite through its single write connection.
    async fn begin_write(&self) -> Result<Box<dyn WriteTx>, StoreError>;

    async fn get_group(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError>;
    /// Returns the group with all its members ordered by user id, read in
    /// one snapshot.
    async fn get_group_with_members(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<(GroupRecord, Vec<MemberRecord>)>, StoreError>;
    async fn list_groups(
        &self,
        workspace_id: &str,
        query: &GroupQuery,
        include_members: bool,
    ) -> Result<GroupPage, StoreError>;

    /// Returns the group's epoch and whether `user_id` is a member, from one
    /// statement, so the result belongs to exactly that epoch.
    async fn check_membership(
        &self,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<(GroupEpoch, bool), StoreError>;
    /// Checks many (group id, user id) pairs in one snapshot.
    async fn check_memberships(
        &self,
        workspace_id: &str,
        pairs: &[(String, String)],
    ) -> Result<MembershipSnapshot, StoreError>;
    async fn groups_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<UserGroups, StoreError>;
    /// Returns up to `limit` members with user ids greater than `after`,
    /// ordered by user id, or `None` when the workspace has no such group.
    async fn list_members(
        &self,
        workspace_id: &str,
        group_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Option<Vec<MemberRecord>>, StoreError>;
}

/// Row-level steps of one write transaction, with the User Group steps of
/// [`UserGroupWrite`]. Dropping it without [`WriteTx::commit`] rolls the
/// transaction back.
#[async_trait]
pub trait WriteTx: UserGroupWrite + Send {
    /// Inserts a group row. Fails with [`StoreError::UniqueViolation`] when
    /// the folded displayName is taken in the workspace.
    async fn insert_group(&mut self, group: &GroupRecord) -> Result<(), StoreError>;
    /// Reads the group and locks it against other writers until the
    /// transaction ends.
    async fn lock_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError>;
    /// Writes every column of a locked group except its id, workspace and
    /// creation time. Fails with [`StoreError::UniqueViolation`] when the new
    /// folded displayName is taken.
    async fn update_group(&mut self, group: &GroupRecord) -> Result<(), StoreError>;
    /// Deletes a locked group and, by cascade, its member rows.
    async fn delete_group(&mut self, workspace_id: &str, group_id: &str) -> Result<(), StoreError>;

    /// Returns the user ids of every member, in no particular order.
    async fn member_ids(&mut self, group_id: &str) -> Result<Vec<String>, StoreError>;
    /// Returns every member ordered by user id.
    async fn members(&mut self, group_id: &str) -> Result<Vec<MemberRecord>, StoreError>;
    /// Inserts the members that are not present yet and returns the user ids
    /// actually inserted. `members` has no duplicate user ids.
    async fn insert_members(
        &mut self,
        workspace_id: &str,
        group_id: &str,
        members: &[MemberRecord],
        added: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;
    /// Deletes the listed members and returns the user ids actually deleted.
    async fn delete_members(
        &mut self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError>;
    async fn delete_all_members(&mut self, group_id: &str) -> Result<Vec<String>, StoreError>;

    /// Increments the membership epoch of each user, creating it at 1.
    /// `user_ids` is sorted and has no duplicates, so concurrent
    /// transactions lock the rows in the same order.
    async fn bump_user_epochs(
        &mut self,
        workspace_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError>;
    /// Increments the membership epoch of every member of the group and
    /// returns their user ids.
    async fn bump_member_epochs(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Deletes every group of the workspace with its member rows, and bumps
    /// the membership epoch of each former member once, creating it at 1.
    /// The number of statements is fixed, whatever the number of groups or
    /// members. On PostgreSQL the groups are locked in id order first, so
    /// their writers wait, and a group created by a transaction that commits
    /// meanwhile is left alone.
    async fn delete_workspace_groups(
        &mut self,
        workspace_id: &str,
    ) -> Result<DeletedGroups, StoreError>;

    /// Returns the ids of the groups that have the user as a member, ordered
    /// by id, and locks them against other writers.
    async fn lock_groups_of_user(
        &mut self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// Deletes the user's membership in each of the locked `group_ids`, and
    /// bumps the version, decrements member_count and sets last_modified of
    /// each group that lost it. Returns those groups as updated, ordered by
    /// id.
    async fn remove_user_from_groups(
        &mut self,
        workspace_id: &str,
        user_id: &str,
        group_ids: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<GroupSummary>, StoreError>;

    /// Records the event id as processed. Returns false, and records
    /// nothing, when it was recorded before. On PostgreSQL a concurrent
    /// transaction claiming the same id waits for this one to end.
    async fn claim_event(&mut self, event_id: &str, at: OffsetDateTime)
    -> Result<bool, StoreError>;

    /// Inserts `events` into the outbox in order. Call it as the last step
    /// before [`WriteTx::commit`], because on PostgreSQL it takes a lock
    /// that serialises outbox writers until the commit, so that sequence
    /// order is commit order.
    async fn insert_outbox_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
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
