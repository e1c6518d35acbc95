//! GroupService RPCs: create, read, search, replace, update and delete
//! groups, remove a user from every group and User Group, and delete every
//! group of a workspace for a SCIM reset. Writes run in one transaction each with
//! their outbox events (see `store::writes`). After the commit, cached
//! membership results are invalidated and the outbox relay is woken.

use proto::groups::v1::{
    CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, Group, ListGroupsRequest,
    ListGroupsResponse, MembershipOperation, RemoveUserMembershipsRequest,
    RemoveUserMembershipsResponse, ReplaceGroupRequest, ResetWorkspaceRequest,
    ResetWorkspaceResponse, UpdateGroupRequest, UpdateGroupResponse,
    membership_operation::Operation,
};
use proto::identity::v1::SortOrder;
use uuid::Uuid;

use crate::{
    GroupsService,
    convert::{group_message, member_records, user_ids},
    error::{ServiceError, StoreError},
    filter::{build_condition, build_sort},
    now,
    store::{
        GroupQuery, GroupRecord,
        writes::{self, GroupChange, MembershipChange, UserRemoval, WriteOutcome},
    },
};

/// Maximum group size for which CreateGroup and ReplaceGroup return the
/// members. Larger groups come back with `member_count` only, so responses
/// stay well under gRPC's default 4 MiB message limit.
pub const MAX_RETURNED_MEMBERS: i64 = 10_000;

impl GroupsService {
    /// Creates a group with a new id, version 1 and the given members.
    pub async fn create_group(&self, request: CreateGroupRequest) -> Result<Group, ServiceError> {
        check_workspace(&request.workspace_id)?;
        check_display_name(&request.display_name)?;
        check_external_id(request.external_id.as_deref())?;
        let mut members = member_records(&request.members)?;

        let at = now();
        let record = GroupRecord {
            id: Uuid::now_v7().to_string(),
            workspace_id: request.workspace_id,
            display_name: request.display_name,
            external_id: request.external_id,
            version: 1,
            member_count: 0,
            created: at,
            last_modified: at,
        };
        // The unique index decides, so two concurrent creates cannot both win.
        let created = match writes::create_group(self.store.as_ref(), &record, &members).await {
            Err(StoreError::UniqueViolation) => return Err(ServiceError::DisplayNameTaken),
            result => result?,
        };
        self.outbox_signal.notify();
        let member_ids: Vec<String> = members
            .iter()
            .map(|member| member.user_id.clone())
            .collect();
        self.cache
            .invalidate(
                &created.workspace_id,
                std::slice::from_ref(&created.id),
                &member_ids,
            )
            .await;
        tracing::Span::current().record("group_id", created.id.as_str());
        tracing::info!(workspace_id = %created.workspace_id, group_id = %created.id, member_count = created.member_count, "group created");

        members.sort_by(|left, right| left.user_id.cmp(&right.user_id));
        members.dedup_by(|left, right| left.user_id == right.user_id);
        let returned = (created.member_count <= MAX_RETURNED_MEMBERS).then_some(members.as_slice());
        Ok(group_message(&created, returned))
    }

    /// Returns one group, with its members only when asked for.
    pub async fn get_group(&self, request: GetGroupRequest) -> Result<Group, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let not_found = || ServiceError::GroupNotFound(request.group_id.clone());
        if request.include_members {
            let (group, members) = self
                .store
                .get_group_with_members(&request.workspace_id, &request.group_id)
                .await?
                .ok_or_else(not_found)?;
            return Ok(group_message(&group, Some(&members)));
        }
        let group = self
            .store
            .get_group(&request.workspace_id, &request.group_id)
            .await?
            .ok_or_else(not_found)?;
        Ok(group_message(&group, None))
    }

    /// Searches groups with an optional filter, sort and 1-based paging.
    pub async fn list_groups(
        &self,
        request: ListGroupsRequest,
    ) -> Result<ListGroupsResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let query = GroupQuery {
            condition: request.filter.as_ref().map(build_condition).transpose()?,
            offset: request.start_index.max(1) - 1,
            limit: request.count.max(0),
            sort: build_sort(request.sort_by.as_ref())?,
            descending: request.sort_order == SortOrder::Descending as i32,
        };

        let page = self
            .store
            .list_groups(&request.workspace_id, &query, request.include_members)
            .await?;
        let groups = page
            .groups
            .iter()
            .map(|(group, members)| group_message(group, members.as_deref()))
            .collect();
        Ok(ListGroupsResponse {
            groups,
            total_results: page.total,
        })
    }

    /// Replaces the name, externalId and member set. Members that stay keep
    /// their rows; only the difference is deleted and inserted.
    pub async fn replace_group(&self, request: ReplaceGroupRequest) -> Result<Group, ServiceError> {
        check_workspace(&request.workspace_id)?;
        check_display_name(&request.display_name)?;
        check_external_id(request.external_id.as_deref())?;
        let members = member_records(&request.members)?;

        let change = GroupChange {
            workspace_id: request.workspace_id,
            group_id: request.group_id,
            expected_version: request.expected_version,
            display_name: Some(request.display_name),
            external_id: Some(request.external_id),
            membership: vec![MembershipChange::Replace(members)],
            return_members_up_to: MAX_RETURNED_MEMBERS,
            at: now(),
        };
        let updated = self.apply_change(&change).await?;
        Ok(group_message(&updated.group, updated.members.as_deref()))
    }

    /// Applies attribute changes and membership operations in order, in one
    /// transaction.
    pub async fn update_group(
        &self,
        request: UpdateGroupRequest,
    ) -> Result<UpdateGroupResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        if let Some(name) = &request.display_name {
            check_display_name(name)?;
        }
        check_external_id(request.external_id.as_deref())?;
        let membership = request
            .operations
            .iter()
            .enumerate()
            .map(|(index, operation)| membership_change(index, operation))
            .collect::<Result<Vec<_>, _>>()?;

        let change = GroupChange {
            workspace_id: request.workspace_id,
            group_id: request.group_id,
            expected_version: request.expected_version,
            display_name: request.display_name,
            external_id: request.set_external_id.then_some(request.external_id),
            membership,
            return_members_up_to: request.return_members_up_to.max(0),
            at: now(),
        };
        let updated = self.apply_change(&change).await?;
        Ok(UpdateGroupResponse {
            group: Some(group_message(&updated.group, updated.members.as_deref())),
            changed: updated.changed,
            added_user_ids: updated.added,
            removed_user_ids: updated.removed,
        })
    }

    /// Deletes a group, only at `expected_version` when given.
    pub async fn delete_group(&self, request: DeleteGroupRequest) -> Result<(), ServiceError> {
        check_workspace(&request.workspace_id)?;
        let outcome = writes::delete_group(
            self.store.as_ref(),
            &request.workspace_id,
            &request.group_id,
            request.expected_version,
            now(),
        )
        .await?;
        let deleted = match outcome {
            WriteOutcome::Done(deleted) => deleted,
            WriteOutcome::NotFound => return Err(ServiceError::GroupNotFound(request.group_id)),
            WriteOutcome::VersionMismatch => {
                return Err(ServiceError::VersionMismatch {
                    expected: request.expected_version.unwrap_or_default(),
                });
            }
        };
        self.outbox_signal.notify();
        let user_group_ids: Vec<String> = deleted.user_group_id.into_iter().collect();
        self.cache
            .invalidate_with_user_groups(
                &request.workspace_id,
                std::slice::from_ref(&request.group_id),
                &user_group_ids,
                &deleted.member_ids,
            )
            .await;
        tracing::info!(
            workspace_id = %request.workspace_id,
            group_id = %request.group_id,
            synced_user_group_id = user_group_ids.first().map(String::as_str),
            "group deleted"
        );
        Ok(())
    }

    /// Removes the user from every group of the workspace, bumping each
    /// affected group's version and member_count.
    pub async fn remove_user_memberships(
        &self,
        request: RemoveUserMembershipsRequest,
    ) -> Result<RemoveUserMembershipsResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        user_ids(std::slice::from_ref(&request.user_id), "user_id")?;
        let group_ids = self
            .remove_user(&request.workspace_id, &request.user_id, None)
            .await?
            .unwrap_or_default();
        Ok(RemoveUserMembershipsResponse { group_ids })
    }

    /// Deletes every group of the workspace with its memberships and the
    /// User Groups synced from them, and invalidates the cached epochs of
    /// those groups, User Groups and their former members. Returns 0 when
    /// the workspace has no groups, for example on a repeated call.
    pub async fn reset_workspace(
        &self,
        request: ResetWorkspaceRequest,
    ) -> Result<ResetWorkspaceResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let reset =
            writes::reset_workspace(self.store.as_ref(), &request.workspace_id, now()).await?;
        let group_ids: Vec<String> = reset
            .groups
            .groups
            .iter()
            .map(|group| group.id.clone())
            .collect();
        if !group_ids.is_empty() {
            self.outbox_signal.notify();
        }
        self.cache
            .invalidate_with_user_groups(
                &request.workspace_id,
                &group_ids,
                &reset.user_group_ids,
                &reset.groups.member_ids,
            )
            .await;

        let deleted_groups = i64::try_from(group_ids.len()).unwrap_or(i64::MAX);
        tracing::info!(
            workspace_id = %request.workspace_id,
            deleted_groups,
            deleted_user_groups = reset.user_group_ids.len(),
            former_members = reset.groups.member_ids.len(),
            "workspace groups reset"
        );
        Ok(ResetWorkspaceResponse { deleted_groups })
    }

    /// Removes the user from every group and User Group, once per
    /// `event_id` when given. Returns the groups that lost the user, or
    /// `None` when the event was processed before.
    pub(crate) async fn remove_user(
        &self,
        workspace_id: &str,
        user_id: &str,
        event_id: Option<&str>,
    ) -> Result<Option<Vec<String>>, ServiceError> {
        let removal = writes::remove_user_memberships(
            self.store.as_ref(),
            workspace_id,
            user_id,
            event_id,
            now(),
        )
        .await?;
        let UserRemoval::Removed {
            group_ids,
            user_group_ids,
        } = removal
        else {
            return Ok(None);
        };
        if !group_ids.is_empty() || !user_group_ids.is_empty() {
            self.outbox_signal.notify();
        }
        self.cache
            .invalidate_with_user_groups(
                workspace_id,
                &group_ids,
                &user_group_ids,
                &[user_id.to_owned()],
            )
            .await;
        tracing::info!(
            workspace_id,
            user_id,
            group_count = group_ids.len(),
            user_group_count = user_group_ids.len(),
            "user removed from groups"
        );
        Ok(Some(group_ids))
    }

    async fn apply_change(
        &self,
        change: &GroupChange,
    ) -> Result<writes::UpdatedGroup, ServiceError> {
        let outcome = match writes::update_group(self.store.as_ref(), change).await {
            Err(StoreError::UniqueViolation) => return Err(ServiceError::DisplayNameTaken),
            result => result?,
        };
        let updated = match outcome {
            WriteOutcome::Done(updated) => updated,
            WriteOutcome::NotFound => {
                return Err(ServiceError::GroupNotFound(change.group_id.clone()));
            }
            WriteOutcome::VersionMismatch => {
                return Err(ServiceError::VersionMismatch {
                    expected: change.expected_version.unwrap_or_default(),
                });
            }
        };
        if updated.changed {
            self.outbox_signal.notify();
            let user_group_ids: Vec<String> = updated.user_group_id.iter().cloned().collect();
            self.cache
                .invalidate_with_user_groups(
                    &change.workspace_id,
                    std::slice::from_ref(&change.group_id),
                    &user_group_ids,
                    &updated.epoch_user_ids,
                )
                .await;
            tracing::info!(
                workspace_id = %change.workspace_id,
                group_id = %change.group_id,
                version = updated.group.version,
                added = updated.added.len(),
                removed = updated.removed.len(),
                synced_user_group_id = updated.user_group_id.as_deref(),
                "group updated"
            );
        }
        Ok(updated)
    }
}

fn membership_change(
    index: usize,
    operation: &MembershipOperation,
) -> Result<MembershipChange, ServiceError> {
    let field = "operations";
    match &operation.operation {
        Some(Operation::Add(list)) => Ok(MembershipChange::Add(member_records(&list.members)?)),
        Some(Operation::Remove(list)) => {
            Ok(MembershipChange::Remove(user_ids(&list.user_ids, field)?))
        }
        Some(Operation::Replace(list)) => {
            Ok(MembershipChange::Replace(member_records(&list.members)?))
        }
        Some(Operation::Clear(true)) => Ok(MembershipChange::Clear),
        Some(Operation::Clear(false)) => Err(ServiceError::invalid(
            field,
            format!("operation {index}: clear must be true"),
        )),
        None => Err(ServiceError::invalid(
            field,
            format!("operation {index} names no operation"),
        )),
    }
}

/// Rejects an empty workspace id, which would match no tenant.
pub(crate) fn check_workspace(workspace_id: &str) -> Result<(), ServiceError> {
    if workspace_id.is_empty() {
        return Err(ServiceError::invalid(
            "workspace_id",
            "workspace_id is required",
        ));
    }
    Ok(())
}

fn check_display_name(display_name: &str) -> Result<(), ServiceError> {
    if display_name.trim().is_empty() {
        return Err(ServiceError::invalid(
            "displayName",
            "displayName is required",
        ));
    }
    if display_name.contains('\0') {
        // PostgreSQL rejects U+0000 in text.
        return Err(ServiceError::invalid(
            "displayName",
            "displayName must not contain U+0000",
        ));
    }
    Ok(())
}

fn check_external_id(external_id: Option<&str>) -> Result<(), ServiceError> {
    if external_id.is_some_and(|id| id.contains('\0')) {
        return Err(ServiceError::invalid(
            "externalId",
            "externalId must not contain U+0000",
        ));
    }
    Ok(())
}
