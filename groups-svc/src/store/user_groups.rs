//! Storage of User Groups and their members: the records, the reads and the
//! row-level steps of a write transaction that both engines implement.
//! `user_group_writes` composes the steps into the User Group operations,
//! and `writes` calls them to mirror SCIM writes into synced User Groups.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::GroupEpoch;
use crate::error::StoreError;

/// Origin of a User Group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserGroupSource {
    /// Created and filled by admins.
    Manual,
    /// Synced from an IdP group.
    Idp,
}

impl UserGroupSource {
    /// Returns the value stored in `user_groups.source` and sent in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Idp => "idp",
        }
    }

    /// Parses a stored `user_groups.source` value.
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "manual" => Ok(Self::Manual),
            "idp" => Ok(Self::Idp),
            other => Err(StoreError::InvalidRow(format!(
                "unknown user group source {other:?}"
            ))),
        }
    }
}

/// A User Group row without its members.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroupRecord {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub source: UserGroupSource,
    /// The IdP group it is synced from, set exactly for [`UserGroupSource::Idp`].
    pub idp_group_id: Option<String>,
    pub member_count: i64,
    /// Starts at 1 and grows by 1 with each change of the name or members,
    /// so it is also the User Group's membership epoch.
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

/// A User Group's id, name, member count and IdP group as a write left them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupSummary {
    pub id: String,
    pub name: String,
    pub member_count: i64,
    pub idp_group_id: Option<String>,
}

/// One User Group of a user, as ListUserGroupsForUser returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroupEntry {
    pub id: String,
    pub name: String,
    pub source: UserGroupSource,
}

/// The User Groups of one user with the user's membership epoch, from one
/// snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroupsOfUser {
    /// 0 when the user was never a member of any group or User Group of the
    /// workspace.
    pub epoch: i64,
    /// Ordered by User Group id.
    pub user_groups: Vec<UserGroupEntry>,
}

/// An IdP group with its sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncableGroupRecord {
    pub group_id: String,
    pub display_name: String,
    pub member_count: i64,
    /// The synced User Group while sync is on.
    pub user_group_id: Option<String>,
}

/// User Group reads of a storage engine. Every read is scoped by workspace id.
#[async_trait]
pub trait UserGroupRead: Send + Sync {
    async fn get_user_group(
        &self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError>;
    /// Returns up to `limit` User Groups with ids greater than `after`,
    /// ordered by id, only of `source` when given.
    async fn list_user_groups(
        &self,
        workspace_id: &str,
        source: Option<UserGroupSource>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserGroupRecord>, StoreError>;
    /// Returns the User Group's epoch and whether `user_id` is a member,
    /// from one statement, so the result belongs to exactly that epoch.
    async fn check_user_group_membership(
        &self,
        workspace_id: &str,
        user_group_id: &str,
        user_id: &str,
    ) -> Result<(GroupEpoch, bool), StoreError>;
    async fn user_groups_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<UserGroupsOfUser, StoreError>;
    /// Returns up to `limit` member user ids greater than `after`, ordered,
    /// or `None` when the workspace has no such User Group.
    async fn list_user_group_members(
        &self,
        workspace_id: &str,
        user_group_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Returns up to `limit` IdP groups with ids greater than `after`,
    /// ordered by id, each with its synced User Group if any.
    async fn list_syncable_groups(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SyncableGroupRecord>, StoreError>;
}

/// User Group steps of one write transaction.
///
/// On PostgreSQL, every write that locks both an IdP group and a User Group
/// locks the IdP group first, and locks several rows of one table in id
/// order, so that writers of groups and User Groups do not deadlock each
/// other. A deadlock that happens anyway is retried by `writes::retry`.
#[async_trait]
pub trait UserGroupWrite: Send {
    /// Inserts a User Group row. Fails with [`StoreError::UniqueViolation`]
    /// when its IdP group already syncs to another User Group.
    async fn insert_user_group(&mut self, user_group: &UserGroupRecord) -> Result<(), StoreError>;
    /// Reads the User Group and locks it against other writers until the
    /// transaction ends.
    async fn lock_user_group(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError>;
    /// Reads and locks the User Group synced from the IdP group, if any.
    async fn lock_synced_user_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError>;
    /// Writes the name, version, member_count and last_modified of a locked
    /// User Group.
    async fn update_user_group(&mut self, user_group: &UserGroupRecord) -> Result<(), StoreError>;
    /// Deletes a locked User Group and, by cascade, its member rows.
    async fn delete_user_group(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<(), StoreError>;

    /// Inserts the users that are not members yet and returns the user ids
    /// actually inserted. `user_ids` has no duplicates.
    async fn insert_user_group_members(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
        user_ids: &[String],
        added: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;
    /// Deletes the listed members and returns the user ids actually deleted.
    async fn delete_user_group_members(
        &mut self,
        user_group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError>;
    /// Copies every member of the IdP group into the empty User Group with
    /// one INSERT ... SELECT, so no member id passes through the service.
    /// Returns the number of rows inserted.
    async fn copy_group_members(
        &mut self,
        workspace_id: &str,
        group_id: &str,
        user_group_id: &str,
        added: OffsetDateTime,
    ) -> Result<i64, StoreError>;
    /// Returns the first `limit` member user ids ordered by id.
    async fn user_group_member_ids(
        &mut self,
        user_group_id: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError>;
    /// Increments the membership epoch of every member of the User Group,
    /// creating it at 1, with one statement whatever the number of members.
    async fn bump_user_group_member_epochs(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<(), StoreError>;

    /// Deletes every synced User Group of the workspace with its member
    /// rows, and returns them ordered by id with their member counts before
    /// the deletion. Manual User Groups stay. The caller bumps the former
    /// members' epochs, which the deletion of their IdP groups does.
    async fn delete_synced_user_groups(
        &mut self,
        workspace_id: &str,
    ) -> Result<Vec<UserGroupSummary>, StoreError>;

    /// Returns the ids of the User Groups that have the user as a member,
    /// ordered by id, and locks them against other writers.
    async fn lock_user_groups_of_user(
        &mut self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// Deletes the user's membership in each of the locked
    /// `user_group_ids`, and bumps the version, decrements member_count and
    /// sets last_modified of each User Group that lost it. Returns those
    /// User Groups as updated, ordered by id.
    async fn remove_user_from_user_groups(
        &mut self,
        workspace_id: &str,
        user_id: &str,
        user_group_ids: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<UserGroupSummary>, StoreError>;
}
