//! Group writes composed from the engines' [`WriteTx`] steps, each in one
//! transaction.
//!
//! Membership changes are set operations on single member rows: adding
//! inserts only absent ids, removing deletes only present ones, replacing
//! reads the current ids and applies the difference, and clearing deletes
//! every row. `member_count` moves by the number of rows actually inserted
//! and deleted, and `version` (the group's membership epoch) grows only when
//! something changed. Every change also bumps the membership epochs of the
//! users it affects, for cached ListGroupsForUser results.
//!
//! Every write that changed something inserts its events into the outbox
//! as the last step of its transaction, so an event exists exactly when
//! its change committed. A request that changed nothing writes none.
//!
//! When sync is on for a group, each write also applies its net effect to
//! the synced User Group in the same transaction, with the User Group's
//! own events (see `user_group_writes`).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::{
    DeletedGroups, GroupRecord, MemberRecord, Store, WriteTx,
    user_group_writes::{
        delete_synced_user_group, delete_workspace_synced_user_groups, mirror_group_change,
        remove_user_from_user_groups,
    },
};
use crate::{
    error::StoreError,
    outbox::{self, GroupUpdate},
};

/// Attempts of a transaction that PostgreSQL aborted to break a deadlock.
const MAX_ATTEMPTS: usize = 5;

/// One membership set operation.
#[derive(Debug, Clone, PartialEq)]
pub enum MembershipChange {
    Add(Vec<MemberRecord>),
    Remove(Vec<String>),
    Replace(Vec<MemberRecord>),
    Clear,
}

/// A change of one group: attributes and ordered membership operations.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupChange {
    pub workspace_id: String,
    pub group_id: String,
    pub expected_version: Option<i64>,
    /// New displayName; `None` keeps the current one.
    pub display_name: Option<String>,
    /// New externalId; `None` keeps the current one, `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
    pub membership: Vec<MembershipChange>,
    /// Load the members in the transaction when the group has at most this
    /// many after the change.
    pub return_members_up_to: i64,
    pub at: OffsetDateTime,
}

/// Result of a write that may find the group missing or changed.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome<T> {
    Done(T),
    NotFound,
    VersionMismatch,
}

/// Result of a [`GroupChange`].
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatedGroup {
    pub group: GroupRecord,
    /// Members ordered by user id, when loaded.
    pub members: Option<Vec<MemberRecord>>,
    pub changed: bool,
    /// User ids that are members now and were not before, in request order.
    pub added: Vec<String>,
    /// User ids that were members before and are not now, in request order.
    pub removed: Vec<String>,
    /// Users whose membership epoch was bumped.
    pub epoch_user_ids: Vec<String>,
    /// The User Group synced from the group, when the change changed it.
    pub user_group_id: Option<String>,
}

/// Result of deleting a group.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedGroup {
    /// Former members, whose membership epochs were bumped.
    pub member_ids: Vec<String>,
    /// The User Group synced from the group, deleted with it.
    pub user_group_id: Option<String>,
}

/// Result of resetting a workspace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceReset {
    pub groups: DeletedGroups,
    /// Ids of the deleted synced User Groups, ordered.
    pub user_group_ids: Vec<String>,
}

/// Result of removing one user from every group of a workspace.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRemoval {
    /// The user's memberships in these groups and User Groups were removed
    /// (possibly none).
    Removed {
        group_ids: Vec<String>,
        user_group_ids: Vec<String>,
    },
    /// The event id was processed before, so nothing was done.
    AlreadyProcessed,
}

/// Inserts a new group with its members and its `GroupCreated` event.
/// Fails with [`StoreError::UniqueViolation`] when the folded displayName
/// is taken. A new group has no synced User Group, so nothing is mirrored.
pub async fn create_group(
    store: &dyn Store,
    group: &GroupRecord,
    members: &[MemberRecord],
) -> Result<GroupRecord, StoreError> {
    let members = unique_members(members);
    let mut group = group.clone();
    group.member_count = count_members(&members);
    let member_ids: Vec<String> = members
        .iter()
        .map(|member| member.user_id.clone())
        .collect();
    let (group, members, member_ids) = (&group, &members, &member_ids);

    retry(|| async move {
        let mut tx = store.begin_write().await?;
        tx.insert_group(group).await?;
        let inserted = tx
            .insert_members(&group.workspace_id, &group.id, members, group.created)
            .await?;
        tx.bump_user_epochs(&group.workspace_id, &sorted(inserted))
            .await?;
        let event = outbox::group_created(group, member_ids.clone());
        tx.insert_outbox_events(&[event]).await?;
        tx.commit().await?;
        Ok(group.clone())
    })
    .await
}

/// Applies a [`GroupChange`] under the group's lock, with one
/// `GroupUpdated` event when it changed something, and mirrors the change
/// into the group's synced User Group.
pub async fn update_group(
    store: &dyn Store,
    change: &GroupChange,
) -> Result<WriteOutcome<UpdatedGroup>, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let Some(current) = tx
            .lock_group(&change.workspace_id, &change.group_id)
            .await?
        else {
            return Ok(WriteOutcome::NotFound);
        };
        if change
            .expected_version
            .is_some_and(|expected| expected != current.version)
        {
            return Ok(WriteOutcome::VersionMismatch);
        }

        let mut next = current.clone();
        let renamed = change
            .display_name
            .as_ref()
            .is_some_and(|name| *name != current.display_name);
        if let Some(name) = change.display_name.as_ref().filter(|_| renamed) {
            next.display_name = name.clone();
        }
        let external_id_changed = change
            .external_id
            .as_ref()
            .is_some_and(|id| *id != current.external_id);
        if let Some(external_id) = change.external_id.as_ref().filter(|_| external_id_changed) {
            next.external_id = external_id.clone();
        }

        let mut tracker = MembershipTracker::default();
        for operation in &change.membership {
            apply_operation(tx.as_mut(), change, operation, &mut tracker).await?;
        }
        let (added, removed) = tracker.finish();
        let changed = renamed || external_id_changed || !added.is_empty() || !removed.is_empty();

        let mut epoch_user_ids = Vec::new();
        let mut mirrored = None;
        if changed {
            next.version += 1;
            next.member_count += count(&added) - count(&removed);
            next.last_modified = change.at;
            tx.update_group(&next).await?;
            epoch_user_ids = sorted(added.iter().chain(&removed).cloned().collect());
            tx.bump_user_epochs(&change.workspace_id, &epoch_user_ids)
                .await?;
            if renamed {
                // Every member's ListGroupsForUser result names this group.
                // NOTE: this updates one epoch row per member, so a rename
                // costs time proportional to the group's size.
                let members = tx
                    .bump_member_epochs(&change.workspace_id, &change.group_id)
                    .await?;
                epoch_user_ids.extend(members);
            }
            mirrored = mirror_group_change(tx.as_mut(), &next, &added, &removed, change.at).await?;
        }
        let members = if change.return_members_up_to > 0
            && next.member_count <= change.return_members_up_to
        {
            Some(tx.members(&change.group_id).await?)
        } else {
            None
        };
        if changed {
            let update = GroupUpdate {
                previous_display_name: renamed.then(|| current.display_name.clone()),
                external_id_changed,
                added_member_ids: added.clone(),
                removed_member_ids: removed.clone(),
            };
            let mut events = vec![outbox::group_updated(&next, update, change.at)];
            if let Some(mirrored) = &mut mirrored {
                events.append(&mut mirrored.events);
            }
            tx.insert_outbox_events(&events).await?;
        }
        tx.commit().await?;

        Ok(WriteOutcome::Done(UpdatedGroup {
            group: next,
            members,
            changed,
            added,
            removed,
            epoch_user_ids,
            user_group_id: mirrored.map(|mirrored| mirrored.user_group_id),
        }))
    })
    .await
}

/// Deletes a group, only at `expected_version` when given, with its
/// `GroupDeleted` event, and the User Group synced from it with a
/// `UserGroupDeleted` event.
pub async fn delete_group(
    store: &dyn Store,
    workspace_id: &str,
    group_id: &str,
    expected_version: Option<i64>,
    at: OffsetDateTime,
) -> Result<WriteOutcome<DeletedGroup>, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let Some(current) = tx.lock_group(workspace_id, group_id).await? else {
            return Ok(WriteOutcome::NotFound);
        };
        if expected_version.is_some_and(|expected| expected != current.version) {
            return Ok(WriteOutcome::VersionMismatch);
        }
        let member_ids = tx.bump_member_epochs(workspace_id, group_id).await?;
        let synced = delete_synced_user_group(tx.as_mut(), workspace_id, group_id, at).await?;
        tx.delete_group(workspace_id, group_id).await?;
        let mut events = vec![outbox::group_deleted(
            workspace_id,
            group_id,
            &current.display_name,
            current.member_count,
            at,
        )];
        let user_group_id = synced.map(|(user_group_id, event)| {
            events.push(event);
            user_group_id
        });
        tx.insert_outbox_events(&events).await?;
        tx.commit().await?;
        Ok(WriteOutcome::Done(DeletedGroup {
            member_ids,
            user_group_id,
        }))
    })
    .await
}

/// Deletes every group of the workspace with its memberships in one
/// transaction, as the groups-svc step of a SCIM reset. Bumps each former
/// member's epoch and keeps the epoch rows, because an epoch that restarted
/// at 1 could match a cached ListGroupsForUser result naming deleted groups.
/// A workspace without groups deletes nothing, so a repeated reset succeeds.
/// Writes one `GroupDeleted` event per deleted group, in group id order.
///
/// The User Groups synced from those groups go too, with one
/// `UserGroupDeleted` event each, and with them every sync switch, because
/// a switch is on exactly while its synced User Group exists. Manual User
/// Groups stay. The former members of a synced User Group were members of
/// its IdP group, so their epochs are already bumped.
pub async fn reset_workspace(
    store: &dyn Store,
    workspace_id: &str,
    at: OffsetDateTime,
) -> Result<WorkspaceReset, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        let deleted = tx.delete_workspace_groups(workspace_id).await?;
        let (user_group_ids, user_group_events) =
            delete_workspace_synced_user_groups(tx.as_mut(), workspace_id, at).await?;
        let mut events: Vec<_> = deleted
            .groups
            .iter()
            .map(|group| {
                outbox::group_deleted(
                    workspace_id,
                    &group.id,
                    &group.display_name,
                    group.member_count,
                    at,
                )
            })
            .collect();
        events.extend(user_group_events);
        tx.insert_outbox_events(&events).await?;
        tx.commit().await?;
        Ok(WorkspaceReset {
            groups: deleted,
            user_group_ids,
        })
    })
    .await
}

/// Removes the user from every group and every User Group of the
/// workspace, with one `GroupUpdated` event per group and one
/// `UserGroupMembersChanged` event per User Group that lost the user. With
/// `event_id`, does nothing when that event was processed before, and
/// records it as processed in the same transaction otherwise.
pub async fn remove_user_memberships(
    store: &dyn Store,
    workspace_id: &str,
    user_id: &str,
    event_id: Option<&str>,
    at: OffsetDateTime,
) -> Result<UserRemoval, StoreError> {
    retry(|| async move {
        let mut tx = store.begin_write().await?;
        if let Some(event_id) = event_id
            && !tx.claim_event(event_id, at).await?
        {
            return Ok(UserRemoval::AlreadyProcessed);
        }

        let locked = tx.lock_groups_of_user(workspace_id, user_id).await?;
        let removed = tx
            .remove_user_from_groups(workspace_id, user_id, &locked, at)
            .await?;
        // Groups are locked before User Groups, as in every other write.
        let (user_group_ids, user_group_events) =
            remove_user_from_user_groups(tx.as_mut(), workspace_id, user_id, at).await?;
        if !removed.is_empty() || !user_group_ids.is_empty() {
            tx.bump_user_epochs(workspace_id, &[user_id.to_owned()])
                .await?;
        }
        let mut events: Vec<_> = removed
            .iter()
            .map(|group| {
                outbox::member_removed(workspace_id, &group.id, &group.display_name, user_id, at)
            })
            .collect();
        events.extend(user_group_events);
        tx.insert_outbox_events(&events).await?;
        tx.commit().await?;
        Ok(UserRemoval::Removed {
            group_ids: removed.into_iter().map(|group| group.id).collect(),
            user_group_ids,
        })
    })
    .await
}

async fn apply_operation(
    tx: &mut dyn WriteTx,
    change: &GroupChange,
    operation: &MembershipChange,
    tracker: &mut MembershipTracker,
) -> Result<(), StoreError> {
    let (workspace_id, group_id) = (change.workspace_id.as_str(), change.group_id.as_str());
    match operation {
        MembershipChange::Add(members) => {
            let inserted = tx
                .insert_members(workspace_id, group_id, &unique_members(members), change.at)
                .await?;
            tracker.inserted(inserted);
        }
        MembershipChange::Remove(user_ids) => {
            let deleted = tx.delete_members(group_id, &unique_ids(user_ids)).await?;
            tracker.deleted(deleted);
        }
        MembershipChange::Replace(members) => {
            // The difference is computed inside the transaction, so rows of
            // members that stay are neither deleted nor rewritten.
            let wanted = unique_members(members);
            let wanted_ids: HashSet<&str> = wanted
                .iter()
                .map(|member| member.user_id.as_str())
                .collect();
            let present: HashSet<String> = tx.member_ids(group_id).await?.into_iter().collect();

            let to_delete: Vec<String> = present
                .iter()
                .filter(|id| !wanted_ids.contains(id.as_str()))
                .cloned()
                .collect();
            let to_insert: Vec<MemberRecord> = wanted
                .into_iter()
                .filter(|member| !present.contains(&member.user_id))
                .collect();
            tracker.deleted(tx.delete_members(group_id, &sorted(to_delete)).await?);
            tracker.inserted(
                tx.insert_members(workspace_id, group_id, &to_insert, change.at)
                    .await?,
            );
        }
        MembershipChange::Clear => {
            tracker.deleted(tx.delete_all_members(group_id).await?);
        }
    }
    Ok(())
}

/// Net membership effect of a sequence of operations relative to the state
/// before the first one: an id added and then removed again is neither.
#[derive(Default)]
struct MembershipTracker {
    order: Vec<String>,
    /// True when the id is a member now and was not before, false for the
    /// opposite. Ids back in their starting state are absent.
    effect: HashMap<String, bool>,
}

impl MembershipTracker {
    fn inserted(&mut self, user_ids: Vec<String>) {
        for user_id in user_ids {
            if self.effect.remove(&user_id).is_none() {
                self.effect.insert(user_id.clone(), true);
                self.order.push(user_id);
            }
        }
    }

    fn deleted(&mut self, user_ids: Vec<String>) {
        for user_id in user_ids {
            if self.effect.remove(&user_id).is_none() {
                self.effect.insert(user_id.clone(), false);
                self.order.push(user_id);
            }
        }
    }

    /// Returns the added and the removed ids, each once, in first-seen order.
    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for user_id in self.order {
            match self.effect.remove(&user_id) {
                Some(true) => added.push(user_id),
                Some(false) => removed.push(user_id),
                None => {}
            }
        }
        (added, removed)
    }
}

/// Runs a transaction again when PostgreSQL aborted it to break a deadlock.
pub(super) async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(StoreError::Conflict(error)) if attempts < MAX_ATTEMPTS => {
                tracing::debug!(error = %error, attempt = attempts, "transaction aborted by a concurrent one, retrying");
                attempts += 1;
            }
            result => return result,
        }
    }
}

/// Keeps the first member of each user id.
fn unique_members(members: &[MemberRecord]) -> Vec<MemberRecord> {
    let mut seen = HashSet::new();
    members
        .iter()
        .filter(|member| seen.insert(member.user_id.as_str()))
        .cloned()
        .collect()
}

pub(super) fn unique_ids(user_ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    user_ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

pub(super) fn sorted(mut user_ids: Vec<String>) -> Vec<String> {
    user_ids.sort_unstable();
    user_ids.dedup();
    user_ids
}

pub(super) fn count(user_ids: &[String]) -> i64 {
    i64::try_from(user_ids.len()).unwrap_or(i64::MAX)
}

fn count_members(members: &[MemberRecord]) -> i64 {
    i64::try_from(members.len()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn tracker_cancels_add_then_remove() {
        let mut tracker = MembershipTracker::default();

        tracker.inserted(ids(&["a", "b"]));
        tracker.deleted(ids(&["a", "c"]));

        assert_eq!(tracker.finish(), (ids(&["b"]), ids(&["c"])));
    }

    #[test]
    fn tracker_cancels_remove_then_add() {
        let mut tracker = MembershipTracker::default();

        tracker.deleted(ids(&["a"]));
        tracker.inserted(ids(&["a"]));

        assert_eq!(tracker.finish(), (Vec::new(), Vec::new()));
    }
}
