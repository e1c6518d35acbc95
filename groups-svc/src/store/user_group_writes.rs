//! User Group writes composed from the engines' [`UserGroupWrite`] steps.
//! Each runs in one transaction that inserts its events into the outbox as
//! the last step. The module also has the steps that mirror SCIM writes of
//! an IdP group into the User Group synced from it, which `writes` runs
//! inside the transaction of each group write.
//!
//! Membership changes are set operations on single member rows, as for
//! IdP groups: adding inserts only absent ids and removing deletes only
//! present ones. A change that changes nothing bumps no version and writes
//! no event. Every change bumps the membership epochs of the users whose
//! ListUserGroupsForUser result it changes, in the same transaction.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::{
    GroupRecord, OutboxEvent, Store, UserGroupRecord, UserGroupSource, UserGroupSummary, WriteTx,
    writes::{count, retry, sorted, unique_ids},
};
use crate::{
    error::StoreError,
    outbox::{
        DeletionCause, group_sync_switched, user_group_created, user_group_deleted,
        user_group_members_changed, user_group_renamed,
    },
};

/// Maximum member ids that a write lists in a `UserGroupCreated` event and
/// returns for cache invalidation. Members beyond it see their cached
/// ListUserGroupsForUser results expire within `cache::EPOCH_MAX_AGE`
/// instead of at once.
pub const MAX_LISTED_MEMBER_IDS: i64 = 10_000;

/// Maximum characters (Unicode scalar values) of a User Group name.
pub const MAX_USER_GROUP_NAME_CHARS: usize = 256;

/// Result of a write of one User Group that may find it missing or synced.
#[derive(Debug, Clone, PartialEq)]
pub enum UserGroupOutcome<T> {
    Done(T),
    NotFound,
    /// The User Group is synced from an IdP group, so only SCIM changes it.
    IdpManaged,
}

/// Result of adding or removing members of a User Group.
#[derive(Debug, Clone, PartialEq)]
pub struct MembersChanged {
    pub user_group: UserGroupRecord,
    /// Ids that the request really added or removed, in request order.
    /// Empty when the request changed nothing.
    pub user_ids: Vec<String>,
}

/// Result of renaming a User Group.
#[derive(Debug, Clone, PartialEq)]
pub struct RenamedUserGroup {
    pub user_group: UserGroupRecord,
    /// False when the name was already the requested one.
    pub changed: bool,
    /// Members whose epochs the rename bumped, at most
    /// [`MAX_LISTED_MEMBER_IDS`] of them.
    pub member_ids: Vec<String>,
}

/// A deleted User Group.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedUserGroup {
    pub user_group: UserGroupSummary,
    /// Former members whose epochs the deletion bumped, at most
    /// [`MAX_LISTED_MEMBER_IDS`] of them.
    pub member_ids: Vec<String>,
}

/// Result of switching the sync of an IdP group on or off.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOutcome {
    /// The workspace has no such IdP group.
    GroupNotFound,
    /// Switching on found the IdP group already synced.
    AlreadyOn,
    /// Switching off found no synced User Group.
    AlreadyOff,
    SwitchedOn {
        user_group: UserGroupRecord,
        /// The first members by id, at most [`MAX_LISTED_MEMBER_IDS`].
        member_ids: Vec<String>,
    },
    SwitchedOff(DeletedUserGroup),
}

/// A synced User Group that a group write changed, with its events.
#[derive(Debug)]
pub(super) struct Mirrored {
    pub user_group_id: String,
    pub events: Vec<OutboxEvent>,
}

/// Returns the name of a User Group synced from an IdP group with this
/// displayName: its first [`MAX_USER_GROUP_NAME_CHARS`] characters, because
/// SCIM sets no length limit on displayName.
pub fn synced_name(display_name: &str) -> String {
    display_name
        .chars()
        .take(MAX_USER_GROUP_NAME_CHARS)
        .collect()
}

/// Inserts a new manual User Group without members, with its
/// `UserGroupCreated` event.
pub async fn create_user_group(
    store: &dyn Store,
    user_group: &UserGroupRecord,
) -> Result<(), StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        tx.insert_user_group(user_group).await?;
        let event = user_group_created(user_group, Vec::new(), 0);
        tx.insert_outbox_events(&[event]).await?;
        tx.commit().await
    })
    .await
}

/// Renames a manual User Group, with a `UserGroupRenamed` event unless the
/// name is already `name`. Bumps every member's epoch, because
/// ListUserGroupsForUser returns the name.
pub async fn rename_user_group(
    store: &dyn Store,
    workspace_id: &str,
    user_group_id: &str,
    name: &str,
    at: OffsetDateTime,
) -> Result<UserGroupOutcome<RenamedUserGroup>, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let current = match lock_manual(tx.as_mut(), workspace_id, user_group_id).await? {
            UserGroupOutcome::Done(current) => current,
            UserGroupOutcome::NotFound => return Ok(UserGroupOutcome::NotFound),
            UserGroupOutcome::IdpManaged => return Ok(UserGroupOutcome::IdpManaged),
        };
        if current.name == name {
            return Ok(UserGroupOutcome::Done(RenamedUserGroup {
                user_group: current,
                changed: false,
                member_ids: Vec::new(),
            }));
        }

        let mut next = current.clone();
        next.name = name.to_owned();
        next.version += 1;
        next.last_modified = at;
        tx.update_user_group(&next).await?;
        tx.bump_user_group_member_epochs(workspace_id, user_group_id)
            .await?;
        let member_ids = tx
            .user_group_member_ids(user_group_id, MAX_LISTED_MEMBER_IDS)
            .await?;
        let event = user_group_renamed(&next, &current.name, at);
        tx.insert_outbox_events(&[event]).await?;
        tx.commit().await?;
        Ok(UserGroupOutcome::Done(RenamedUserGroup {
            user_group: next,
            changed: true,
            member_ids,
        }))
    })
    .await
}

/// Deletes a manual User Group with its members and a `UserGroupDeleted`
/// event with cause "admin".
pub async fn delete_user_group(
    store: &dyn Store,
    workspace_id: &str,
    user_group_id: &str,
    at: OffsetDateTime,
) -> Result<UserGroupOutcome<DeletedUserGroup>, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let current = match lock_manual(tx.as_mut(), workspace_id, user_group_id).await? {
            UserGroupOutcome::Done(current) => current,
            UserGroupOutcome::NotFound => return Ok(UserGroupOutcome::NotFound),
            UserGroupOutcome::IdpManaged => return Ok(UserGroupOutcome::IdpManaged),
        };
        let deleted = delete_locked(tx.as_mut(), &current).await?;
        let event = user_group_deleted(workspace_id, &deleted.user_group, DeletionCause::Admin, at);
        tx.insert_outbox_events(&[event]).await?;
        tx.commit().await?;
        Ok(UserGroupOutcome::Done(deleted))
    })
    .await
}

/// Adds users to a manual User Group, with a `UserGroupMembersChanged`
/// event listing the ids that were not members before, if any.
pub async fn add_user_group_members(
    store: &dyn Store,
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[String],
    at: OffsetDateTime,
) -> Result<UserGroupOutcome<MembersChanged>, StoreError> {
    let requested = unique_ids(user_ids);
    let requested = &requested;
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let current = match lock_manual(tx.as_mut(), workspace_id, user_group_id).await? {
            UserGroupOutcome::Done(current) => current,
            UserGroupOutcome::NotFound => return Ok(UserGroupOutcome::NotFound),
            UserGroupOutcome::IdpManaged => return Ok(UserGroupOutcome::IdpManaged),
        };
        let inserted = tx
            .insert_user_group_members(workspace_id, user_group_id, requested, at)
            .await?;
        let added = in_request_order(requested, inserted);
        let user_group = apply_member_change(tx.as_mut(), current, &added, &[], at).await?;
        if !added.is_empty() {
            let event = user_group_members_changed(
                workspace_id,
                user_group_id,
                added.clone(),
                Vec::new(),
                None,
                at,
            );
            tx.insert_outbox_events(&[event]).await?;
        }
        tx.commit().await?;
        Ok(UserGroupOutcome::Done(MembersChanged {
            user_group,
            user_ids: added,
        }))
    })
    .await
}

/// Removes users from a manual User Group, with a
/// `UserGroupMembersChanged` event listing the ids that were members, if any.
pub async fn remove_user_group_members(
    store: &dyn Store,
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[String],
    at: OffsetDateTime,
) -> Result<UserGroupOutcome<MembersChanged>, StoreError> {
    let requested = unique_ids(user_ids);
    let requested = &requested;
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let current = match lock_manual(tx.as_mut(), workspace_id, user_group_id).await? {
            UserGroupOutcome::Done(current) => current,
            UserGroupOutcome::NotFound => return Ok(UserGroupOutcome::NotFound),
            UserGroupOutcome::IdpManaged => return Ok(UserGroupOutcome::IdpManaged),
        };
        let deleted = tx
            .delete_user_group_members(user_group_id, requested)
            .await?;
        let removed = in_request_order(requested, deleted);
        let user_group = apply_member_change(tx.as_mut(), current, &[], &removed, at).await?;
        if !removed.is_empty() {
            let event = user_group_members_changed(
                workspace_id,
                user_group_id,
                Vec::new(),
                removed.clone(),
                None,
                at,
            );
            tx.insert_outbox_events(&[event]).await?;
        }
        tx.commit().await?;
        Ok(UserGroupOutcome::Done(MembersChanged {
            user_group,
            user_ids: removed,
        }))
    })
    .await
}

/// Switches sync on for an IdP group: creates the User Group `user_group_id`
/// named after it and copies its members inside the database, under the
/// IdP group's lock, so no SCIM write of the group lands in between. Writes
/// `GroupSyncSwitched` and `UserGroupCreated`, which lists at most the
/// first [`MAX_LISTED_MEMBER_IDS`] members.
pub async fn switch_sync_on(
    store: &dyn Store,
    workspace_id: &str,
    group_id: &str,
    user_group_id: &str,
    at: OffsetDateTime,
) -> Result<SyncOutcome, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let Some(group) = tx.lock_group(workspace_id, group_id).await? else {
            return Ok(SyncOutcome::GroupNotFound);
        };
        if tx
            .lock_synced_user_group(workspace_id, group_id)
            .await?
            .is_some()
        {
            return Ok(SyncOutcome::AlreadyOn);
        }

        let mut user_group = UserGroupRecord {
            id: user_group_id.to_owned(),
            workspace_id: workspace_id.to_owned(),
            name: synced_name(&group.display_name),
            source: UserGroupSource::Idp,
            idp_group_id: Some(group.id.clone()),
            member_count: 0,
            version: 1,
            created: at,
            last_modified: at,
        };
        tx.insert_user_group(&user_group).await?;
        let copied = tx
            .copy_group_members(workspace_id, group_id, user_group_id, at)
            .await?;
        if copied > 0 {
            user_group.member_count = copied;
            tx.update_user_group(&user_group).await?;
            tx.bump_user_group_member_epochs(workspace_id, user_group_id)
                .await?;
        }
        let member_ids = tx
            .user_group_member_ids(user_group_id, MAX_LISTED_MEMBER_IDS)
            .await?;

        let events = [
            group_sync_switched(workspace_id, group_id, true, user_group_id, at),
            user_group_created(&user_group, member_ids.clone(), copied),
        ];
        tx.insert_outbox_events(&events).await?;
        tx.commit().await?;
        Ok(SyncOutcome::SwitchedOn {
            user_group,
            member_ids,
        })
    })
    .await
}

/// Switches sync off for an IdP group: deletes its synced User Group, with
/// `GroupSyncSwitched` and `UserGroupDeleted` (cause "sync_off"). Returns
/// [`SyncOutcome::AlreadyOff`], and writes nothing, when sync is off.
pub async fn switch_sync_off(
    store: &dyn Store,
    workspace_id: &str,
    group_id: &str,
    at: OffsetDateTime,
) -> Result<SyncOutcome, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        if tx.lock_group(workspace_id, group_id).await?.is_none() {
            return Ok(SyncOutcome::GroupNotFound);
        }
        let Some(current) = tx.lock_synced_user_group(workspace_id, group_id).await? else {
            return Ok(SyncOutcome::AlreadyOff);
        };

        let deleted = delete_locked(tx.as_mut(), &current).await?;
        let events = [
            group_sync_switched(workspace_id, group_id, false, &current.id, at),
            user_group_deleted(
                workspace_id,
                &deleted.user_group,
                DeletionCause::SyncOff,
                at,
            ),
        ];
        tx.insert_outbox_events(&events).await?;
        tx.commit().await?;
        Ok(SyncOutcome::SwitchedOff(deleted))
    })
    .await
}

/// Applies the net effect of a SCIM write of `group` (as the write left it)
/// to the User Group synced from it, if any: inserts `added`, deletes
/// `removed` and takes the group's name. Returns the User Group's events,
/// or `None` when no User Group is synced or nothing changed.
///
/// The caller has locked the group and bumped the epochs of the added and
/// removed users, and on a rename the epochs of every group member. The
/// synced User Group has exactly the group's members, so those bumps cover
/// its members too.
pub(super) async fn mirror_group_change(
    tx: &mut dyn WriteTx,
    group: &GroupRecord,
    added: &[String],
    removed: &[String],
    at: OffsetDateTime,
) -> Result<Option<Mirrored>, StoreError> {
    let workspace_id = group.workspace_id.as_str();
    let Some(current) = tx.lock_synced_user_group(workspace_id, &group.id).await? else {
        return Ok(None);
    };
    let inserted = tx
        .insert_user_group_members(workspace_id, &current.id, added, at)
        .await?;
    let deleted = tx.delete_user_group_members(&current.id, removed).await?;
    let added = in_request_order(added, inserted);
    let removed = in_request_order(removed, deleted);
    let name = synced_name(&group.display_name);
    let renamed = name != current.name;
    if added.is_empty() && removed.is_empty() && !renamed {
        return Ok(None);
    }

    let mut next = current.clone();
    next.name = name;
    next.version += 1;
    next.member_count += count(&added) - count(&removed);
    next.last_modified = at;
    tx.update_user_group(&next).await?;

    let mut events = Vec::new();
    if renamed {
        events.push(user_group_renamed(&next, &current.name, at));
    }
    if !added.is_empty() || !removed.is_empty() {
        events.push(user_group_members_changed(
            workspace_id,
            &next.id,
            added,
            removed,
            Some(&group.id),
            at,
        ));
    }
    Ok(Some(Mirrored {
        user_group_id: next.id,
        events,
    }))
}

/// Deletes the User Group synced from a group that a SCIM DELETE deletes,
/// and returns its id with its `UserGroupDeleted` event (cause
/// "group_deleted"). The caller has locked the group and bumped its
/// members' epochs, which are the User Group's members.
pub(super) async fn delete_synced_user_group(
    tx: &mut dyn WriteTx,
    workspace_id: &str,
    group_id: &str,
    at: OffsetDateTime,
) -> Result<Option<(String, OutboxEvent)>, StoreError> {
    let Some(current) = tx.lock_synced_user_group(workspace_id, group_id).await? else {
        return Ok(None);
    };
    tx.delete_user_group(workspace_id, &current.id).await?;
    let event = user_group_deleted(
        workspace_id,
        &summary(&current),
        DeletionCause::GroupDeleted,
        at,
    );
    Ok(Some((current.id, event)))
}

/// Deletes every synced User Group of a workspace whose IdP groups a SCIM
/// reset deletes, and returns their ids with one `UserGroupDeleted` event
/// each (cause "scim_reset"), in id order.
pub(super) async fn delete_workspace_synced_user_groups(
    tx: &mut dyn WriteTx,
    workspace_id: &str,
    at: OffsetDateTime,
) -> Result<(Vec<String>, Vec<OutboxEvent>), StoreError> {
    let deleted = tx.delete_synced_user_groups(workspace_id).await?;
    let events = deleted
        .iter()
        .map(|user_group| {
            user_group_deleted(workspace_id, user_group, DeletionCause::ScimReset, at)
        })
        .collect();
    let ids = deleted
        .into_iter()
        .map(|user_group| user_group.id)
        .collect();
    Ok((ids, events))
}

/// Removes a deleted user from every User Group of the workspace, manual
/// and synced, and returns their ids with one `UserGroupMembersChanged`
/// event each. The caller bumps the user's epoch.
pub(super) async fn remove_user_from_user_groups(
    tx: &mut dyn WriteTx,
    workspace_id: &str,
    user_id: &str,
    at: OffsetDateTime,
) -> Result<(Vec<String>, Vec<OutboxEvent>), StoreError> {
    let locked = tx.lock_user_groups_of_user(workspace_id, user_id).await?;
    let removed = tx
        .remove_user_from_user_groups(workspace_id, user_id, &locked, at)
        .await?;
    let events = removed
        .iter()
        .map(|user_group| {
            user_group_members_changed(
                workspace_id,
                &user_group.id,
                Vec::new(),
                vec![user_id.to_owned()],
                user_group.idp_group_id.as_deref(),
                at,
            )
        })
        .collect();
    let ids = removed
        .into_iter()
        .map(|user_group| user_group.id)
        .collect();
    Ok((ids, events))
}

/// Locks a User Group that admins may change.
async fn lock_manual(
    tx: &mut dyn WriteTx,
    workspace_id: &str,
    user_group_id: &str,
) -> Result<UserGroupOutcome<UserGroupRecord>, StoreError> {
    match tx.lock_user_group(workspace_id, user_group_id).await? {
        None => Ok(UserGroupOutcome::NotFound),
        Some(user_group) if user_group.source == UserGroupSource::Idp => {
            Ok(UserGroupOutcome::IdpManaged)
        }
        Some(user_group) => Ok(UserGroupOutcome::Done(user_group)),
    }
}

/// Bumps the version, member_count and epochs for members that a manual
/// change added and removed, and returns the User Group as it left it.
/// Changes nothing when both lists are empty.
async fn apply_member_change(
    tx: &mut dyn WriteTx,
    current: UserGroupRecord,
    added: &[String],
    removed: &[String],
    at: OffsetDateTime,
) -> Result<UserGroupRecord, StoreError> {
    if added.is_empty() && removed.is_empty() {
        return Ok(current);
    }
    let mut next = current;
    next.version += 1;
    next.member_count += count(added) - count(removed);
    next.last_modified = at;
    tx.update_user_group(&next).await?;
    let changed = sorted(added.iter().chain(removed).cloned().collect());
    tx.bump_user_epochs(&next.workspace_id, &changed).await?;
    Ok(next)
}

/// Deletes a locked User Group after bumping its members' epochs.
async fn delete_locked(
    tx: &mut dyn WriteTx,
    user_group: &UserGroupRecord,
) -> Result<DeletedUserGroup, StoreError> {
    let member_ids = tx
        .user_group_member_ids(&user_group.id, MAX_LISTED_MEMBER_IDS)
        .await?;
    tx.bump_user_group_member_epochs(&user_group.workspace_id, &user_group.id)
        .await?;
    tx.delete_user_group(&user_group.workspace_id, &user_group.id)
        .await?;
    Ok(DeletedUserGroup {
        user_group: summary(user_group),
        member_ids,
    })
}

fn summary(user_group: &UserGroupRecord) -> UserGroupSummary {
    UserGroupSummary {
        id: user_group.id.clone(),
        name: user_group.name.clone(),
        member_count: user_group.member_count,
        idp_group_id: user_group.idp_group_id.clone(),
    }
}

/// Returns the ids of `requested` that are in `changed`, in request order.
fn in_request_order(requested: &[String], changed: Vec<String>) -> Vec<String> {
    if changed.is_empty() {
        return changed;
    }
    let changed: HashSet<String> = changed.into_iter().collect();
    requested
        .iter()
        .filter(|id| changed.contains(id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synced_name_keeps_short_names() {
        assert_eq!(synced_name("Litigation"), "Litigation");
    }

    #[test]
    fn synced_name_cuts_at_max_characters() {
        let long = "é".repeat(MAX_USER_GROUP_NAME_CHARS + 5);

        assert_eq!(
            synced_name(&long).chars().count(),
            MAX_USER_GROUP_NAME_CHARS
        );
    }

    #[test]
    fn request_order_kept_for_changed_ids() {
        let requested = vec!["c".to_owned(), "a".to_owned(), "b".to_owned()];

        let ordered = in_request_order(&requested, vec!["b".to_owned(), "c".to_owned()]);

        assert_eq!(ordered, vec!["c".to_owned(), "b".to_owned()]);
    }
}
