//! Builders of the events about User Groups (aggregate `user_group`) and of
//! `GroupSyncSwitched` (aggregate `group`, the IdP group):
//!
//! - `UserGroupCreated` for a manual create and for switching sync on.
//! - `UserGroupRenamed` for an admin's rename and for a SCIM rename of the
//!   IdP group a User Group is synced from.
//! - `UserGroupDeleted` with the cause of the deletion.
//! - `UserGroupMembersChanged` with the ids a change really added and
//!   removed, and the IdP group when the change mirrors a SCIM write.
//!
//! Like every event of this service, each is stamped with the actor of the
//! request that caused it (see `plumbing::actor`).

use proto::events::v1::{
    GroupSyncSwitched, UserGroupCreated, UserGroupDeleted, UserGroupMembersChanged,
    UserGroupRenamed, event::Payload,
};
use time::OffsetDateTime;

use super::{AGGREGATE_GROUP, AGGREGATE_USER_GROUP, build_event};
use crate::store::{OutboxEvent, UserGroupRecord, UserGroupSummary};

/// Cause of a User Group's deletion, as `UserGroupDeleted.cause` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionCause {
    /// An admin deleted a manual User Group.
    Admin,
    /// Sync of its IdP group was switched off.
    SyncOff,
    /// Its IdP group was deleted over SCIM.
    GroupDeleted,
    /// The workspace's SCIM configuration was reset.
    ScimReset,
}

impl DeletionCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::SyncOff => "sync_off",
            Self::GroupDeleted => "group_deleted",
            Self::ScimReset => "scim_reset",
        }
    }
}

/// Builds the `GroupSyncSwitched` event of an IdP group whose sync to
/// `user_group_id` was switched on or off.
pub(crate) fn group_sync_switched(
    workspace_id: &str,
    group_id: &str,
    enabled: bool,
    user_group_id: &str,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::GroupSyncSwitched(GroupSyncSwitched {
        group_id: group_id.to_owned(),
        enabled,
        user_group_id: user_group_id.to_owned(),
    });
    build_event(workspace_id, AGGREGATE_GROUP, group_id, payload, at)
}

/// Builds the `UserGroupCreated` event of a new User Group. `member_ids`
/// may be the first part of its members, and `member_count` counts all.
pub(crate) fn user_group_created(
    user_group: &UserGroupRecord,
    member_ids: Vec<String>,
    member_count: i64,
) -> OutboxEvent {
    let payload = Payload::UserGroupCreated(UserGroupCreated {
        user_group_id: user_group.id.clone(),
        name: user_group.name.clone(),
        source: user_group.source.as_str().to_owned(),
        idp_group_id: user_group.idp_group_id.clone().unwrap_or_default(),
        member_ids,
        member_count,
    });
    build_event(
        &user_group.workspace_id,
        AGGREGATE_USER_GROUP,
        &user_group.id,
        payload,
        user_group.created,
    )
}

/// Builds the `UserGroupRenamed` event of `user_group`, as the rename left it.
pub(crate) fn user_group_renamed(
    user_group: &UserGroupRecord,
    previous_name: &str,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::UserGroupRenamed(UserGroupRenamed {
        user_group_id: user_group.id.clone(),
        previous_name: previous_name.to_owned(),
        name: user_group.name.clone(),
    });
    build_event(
        &user_group.workspace_id,
        AGGREGATE_USER_GROUP,
        &user_group.id,
        payload,
        at,
    )
}

/// Builds the `UserGroupDeleted` event of a User Group with its member
/// count at deletion.
pub(crate) fn user_group_deleted(
    workspace_id: &str,
    user_group: &UserGroupSummary,
    cause: DeletionCause,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::UserGroupDeleted(UserGroupDeleted {
        user_group_id: user_group.id.clone(),
        name: user_group.name.clone(),
        cause: cause.as_str().to_owned(),
        member_count: user_group.member_count,
    });
    build_event(
        workspace_id,
        AGGREGATE_USER_GROUP,
        &user_group.id,
        payload,
        at,
    )
}

/// Builds the `UserGroupMembersChanged` event of a change that added and
/// removed these ids. `idp_group_id` names the IdP group whose SCIM write
/// the change mirrors, and is `None` for an admin's change.
pub(crate) fn user_group_members_changed(
    workspace_id: &str,
    user_group_id: &str,
    added: Vec<String>,
    removed: Vec<String>,
    idp_group_id: Option<&str>,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::UserGroupMembersChanged(UserGroupMembersChanged {
        user_group_id: user_group_id.to_owned(),
        added_member_ids: added,
        removed_member_ids: removed,
        idp_group_id: idp_group_id.unwrap_or_default().to_owned(),
    });
    build_event(
        workspace_id,
        AGGREGATE_USER_GROUP,
        user_group_id,
        payload,
        at,
    )
}
