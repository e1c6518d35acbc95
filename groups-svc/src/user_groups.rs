//! UserGroupService RPCs: manual User Groups (create, read, list, rename,
//! delete, add and remove members), the sync state of IdP groups, and the
//! switch that syncs an IdP group to a new User Group. Writes run in one
//! transaction each with their outbox events (see
//! `store::user_group_writes`). After the commit, cached membership results
//! are invalidated and the outbox relay is woken.

use std::future::Future;

use proto::groups::v1::{
    AddUserGroupMembersRequest, AddUserGroupMembersResponse, CreateUserGroupRequest,
    DeleteUserGroupRequest, GetUserGroupRequest, ListSyncableGroupsRequest,
    ListSyncableGroupsResponse, ListUserGroupsRequest, ListUserGroupsResponse,
    RemoveUserGroupMembersRequest, RemoveUserGroupMembersResponse, RenameUserGroupRequest,
    SetGroupSyncRequest, SetGroupSyncResponse, UserGroup,
};
use uuid::Uuid;

use crate::{
    GroupsService,
    convert::{source_filter, syncable_group_message, user_group_message, user_ids},
    error::{ServiceError, StoreError},
    groups::check_workspace,
    now,
    paging::PageRequest,
    store::{
        UserGroupRecord, UserGroupSource,
        user_group_writes::{
            self, MAX_USER_GROUP_NAME_CHARS, MembersChanged, SyncOutcome, UserGroupOutcome,
        },
    },
};

/// Maximum user ids in one AddUserGroupMembers or RemoveUserGroupMembers
/// request.
pub const MAX_USER_IDS_PER_REQUEST: usize = 10_000;

impl GroupsService {
    /// Creates a manual User Group without members.
    pub async fn create_user_group(
        &self,
        request: CreateUserGroupRequest,
    ) -> Result<UserGroup, ServiceError> {
        check_workspace(&request.workspace_id)?;
        check_name(&request.name)?;

        let at = now();
        let record = UserGroupRecord {
            id: Uuid::now_v7().to_string(),
            workspace_id: request.workspace_id.clone(),
            name: request.name.clone(),
            source: UserGroupSource::Manual,
            idp_group_id: None,
            member_count: 0,
            version: 1,
            created: at,
            last_modified: at,
        };
        with_request_actor(
            &request.actor,
            user_group_writes::create_user_group(self.store.as_ref(), &record),
        )
        .await?;
        self.outbox_signal.notify();
        tracing::Span::current().record("user_group_id", record.id.as_str());
        tracing::info!(workspace_id = %record.workspace_id, user_group_id = %record.id, "user group created");
        Ok(user_group_message(&record))
    }

    pub async fn get_user_group(
        &self,
        request: GetUserGroupRequest,
    ) -> Result<UserGroup, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let record = self
            .store
            .get_user_group(&request.workspace_id, &request.user_group_id)
            .await?
            .ok_or(ServiceError::UserGroupNotFound(request.user_group_id))?;
        Ok(user_group_message(&record))
    }

    /// Returns one page of User Groups ordered by id, of one source when the
    /// request names it.
    pub async fn list_user_groups(
        &self,
        request: ListUserGroupsRequest,
    ) -> Result<ListUserGroupsResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let source = source_filter(request.source)?;
        let page = PageRequest::parse(request.page_size, &request.page_token)?;

        let mut records = self
            .store
            .list_user_groups(
                &request.workspace_id,
                source,
                page.after.as_deref(),
                page.fetch_limit(),
            )
            .await?;
        let next_page_token = page.finish(&mut records, |record| &record.id);
        Ok(ListUserGroupsResponse {
            user_groups: records.iter().map(user_group_message).collect(),
            next_page_token,
        })
    }

    /// Renames a manual User Group. Renaming it to its current name changes
    /// nothing and writes no event.
    pub async fn rename_user_group(
        &self,
        request: RenameUserGroupRequest,
    ) -> Result<UserGroup, ServiceError> {
        check_workspace(&request.workspace_id)?;
        check_name(&request.name)?;

        let write = user_group_writes::rename_user_group(
            self.store.as_ref(),
            &request.workspace_id,
            &request.user_group_id,
            &request.name,
            now(),
        );
        let outcome = with_request_actor(&request.actor, write).await?;
        let renamed = manual_outcome(outcome, &request.user_group_id)?;
        if renamed.changed {
            self.outbox_signal.notify();
            self.cache
                .invalidate_with_user_groups(
                    &request.workspace_id,
                    &[],
                    std::slice::from_ref(&request.user_group_id),
                    &renamed.member_ids,
                )
                .await;
            tracing::info!(
                workspace_id = %request.workspace_id,
                user_group_id = %request.user_group_id,
                version = renamed.user_group.version,
                "user group renamed"
            );
        }
        Ok(user_group_message(&renamed.user_group))
    }

    /// Deletes a manual User Group with its members.
    pub async fn delete_user_group(
        &self,
        request: DeleteUserGroupRequest,
    ) -> Result<(), ServiceError> {
        check_workspace(&request.workspace_id)?;
        let write = user_group_writes::delete_user_group(
            self.store.as_ref(),
            &request.workspace_id,
            &request.user_group_id,
            now(),
        );
        let outcome = with_request_actor(&request.actor, write).await?;
        let deleted = manual_outcome(outcome, &request.user_group_id)?;
        self.outbox_signal.notify();
        self.cache
            .invalidate_with_user_groups(
                &request.workspace_id,
                &[],
                std::slice::from_ref(&request.user_group_id),
                &deleted.member_ids,
            )
            .await;
        tracing::info!(
            workspace_id = %request.workspace_id,
            user_group_id = %request.user_group_id,
            member_count = deleted.user_group.member_count,
            "user group deleted"
        );
        Ok(())
    }

    /// Adds users to a manual User Group. Ids that are already members are
    /// left as they are, and the caller checks that the users exist.
    pub async fn add_user_group_members(
        &self,
        request: AddUserGroupMembersRequest,
    ) -> Result<AddUserGroupMembersResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let requested = check_user_ids(&request.user_ids)?;

        let write = user_group_writes::add_user_group_members(
            self.store.as_ref(),
            &request.workspace_id,
            &request.user_group_id,
            &requested,
            now(),
        );
        let outcome = with_request_actor(&request.actor, write).await?;
        let added = manual_outcome(outcome, &request.user_group_id)?;
        self.after_member_change(&added, "user group members added")
            .await;
        Ok(AddUserGroupMembersResponse {
            user_group: Some(user_group_message(&added.user_group)),
            added_user_ids: added.user_ids,
        })
    }

    /// Removes users from a manual User Group. Ids that are not members are
    /// ignored.
    pub async fn remove_user_group_members(
        &self,
        request: RemoveUserGroupMembersRequest,
    ) -> Result<RemoveUserGroupMembersResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let requested = check_user_ids(&request.user_ids)?;

        let write = user_group_writes::remove_user_group_members(
            self.store.as_ref(),
            &request.workspace_id,
            &request.user_group_id,
            &requested,
            now(),
        );
        let outcome = with_request_actor(&request.actor, write).await?;
        let removed = manual_outcome(outcome, &request.user_group_id)?;
        self.after_member_change(&removed, "user group members removed")
            .await;
        Ok(RemoveUserGroupMembersResponse {
            user_group: Some(user_group_message(&removed.user_group)),
            removed_user_ids: removed.user_ids,
        })
    }

    /// Returns one page of the workspace's IdP groups ordered by id, each
    /// with its sync state.
    pub async fn list_syncable_groups(
        &self,
        request: ListSyncableGroupsRequest,
    ) -> Result<ListSyncableGroupsResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let page = PageRequest::parse(request.page_size, &request.page_token)?;

        let mut records = self
            .store
            .list_syncable_groups(
                &request.workspace_id,
                page.after.as_deref(),
                page.fetch_limit(),
            )
            .await?;
        let next_page_token = page.finish(&mut records, |record| &record.group_id);
        Ok(ListSyncableGroupsResponse {
            groups: records.into_iter().map(syncable_group_message).collect(),
            next_page_token,
        })
    }

    /// Switches the sync of an IdP group on, creating a new User Group with
    /// exactly its members, or off, deleting that User Group.
    pub async fn set_group_sync(
        &self,
        request: SetGroupSyncRequest,
    ) -> Result<SetGroupSyncResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let (workspace_id, group_id) = (&request.workspace_id, &request.group_id);
        let at = now();

        let outcome = if request.enabled {
            let user_group_id = Uuid::now_v7().to_string();
            let write = user_group_writes::switch_sync_on(
                self.store.as_ref(),
                workspace_id,
                group_id,
                &user_group_id,
                at,
            );
            let result = with_request_actor(&request.actor, write).await;
            match result {
                // The IdP group's lock makes this unreachable unless a writer
                // bypasses it, and then the unique constraint still decides.
                Err(StoreError::UniqueViolation) => SyncOutcome::AlreadyOn,
                result => result?,
            }
        } else {
            let write =
                user_group_writes::switch_sync_off(self.store.as_ref(), workspace_id, group_id, at);
            with_request_actor(&request.actor, write).await?
        };

        match outcome {
            SyncOutcome::GroupNotFound => Err(ServiceError::GroupNotFound(group_id.clone())),
            SyncOutcome::AlreadyOn => Err(ServiceError::SyncAlreadyOn(group_id.clone())),
            SyncOutcome::AlreadyOff => Ok(SetGroupSyncResponse {
                user_group: None,
                changed: false,
            }),
            SyncOutcome::SwitchedOn {
                user_group,
                member_ids,
            } => {
                self.outbox_signal.notify();
                self.cache
                    .invalidate_with_user_groups(
                        workspace_id,
                        &[],
                        std::slice::from_ref(&user_group.id),
                        &member_ids,
                    )
                    .await;
                tracing::Span::current().record("user_group_id", user_group.id.as_str());
                tracing::info!(
                    workspace_id = %workspace_id,
                    group_id = %group_id,
                    user_group_id = %user_group.id,
                    member_count = user_group.member_count,
                    "group sync switched on"
                );
                Ok(SetGroupSyncResponse {
                    user_group: Some(user_group_message(&user_group)),
                    changed: true,
                })
            }
            SyncOutcome::SwitchedOff(deleted) => {
                self.outbox_signal.notify();
                self.cache
                    .invalidate_with_user_groups(
                        workspace_id,
                        &[],
                        std::slice::from_ref(&deleted.user_group.id),
                        &deleted.member_ids,
                    )
                    .await;
                tracing::info!(
                    workspace_id = %workspace_id,
                    group_id = %group_id,
                    user_group_id = %deleted.user_group.id,
                    member_count = deleted.user_group.member_count,
                    "group sync switched off"
                );
                Ok(SetGroupSyncResponse {
                    user_group: None,
                    changed: true,
                })
            }
        }
    }

    /// Wakes the relay, invalidates cached results and logs after a manual
    /// membership change that changed something.
    async fn after_member_change(&self, changed: &MembersChanged, message: &'static str) {
        if changed.user_ids.is_empty() {
            return;
        }
        let user_group = &changed.user_group;
        self.outbox_signal.notify();
        self.cache
            .invalidate_with_user_groups(
                &user_group.workspace_id,
                &[],
                std::slice::from_ref(&user_group.id),
                &changed.user_ids,
            )
            .await;
        tracing::info!(
            workspace_id = %user_group.workspace_id,
            user_group_id = %user_group.id,
            version = user_group.version,
            user_count = changed.user_ids.len(),
            "{message}"
        );
    }
}

/// Runs a write with the request's `actor`, an admin's subject, as the
/// actor stamped on its events. The `x-actor` gRPC metadata takes
/// precedence, because the gateway sets it after authenticating the admin,
/// and an empty `actor` leaves the stamp to it.
async fn with_request_actor<F: Future>(actor: &str, write: F) -> F::Output {
    if actor.is_empty() || plumbing::actor::current_actor().is_some() {
        return write.await;
    }
    plumbing::actor::with_actor(plumbing::actor::admin(actor), write).await
}

/// Turns the outcome of a write of a manual User Group into its result or
/// error.
fn manual_outcome<T>(outcome: UserGroupOutcome<T>, user_group_id: &str) -> Result<T, ServiceError> {
    match outcome {
        UserGroupOutcome::Done(result) => Ok(result),
        UserGroupOutcome::NotFound => {
            Err(ServiceError::UserGroupNotFound(user_group_id.to_owned()))
        }
        UserGroupOutcome::IdpManaged => Err(ServiceError::IdpManaged(user_group_id.to_owned())),
    }
}

/// Rejects a User Group name that is blank, longer than
/// [`MAX_USER_GROUP_NAME_CHARS`] characters or contains U+0000.
fn check_name(name: &str) -> Result<(), ServiceError> {
    if name.trim().is_empty() {
        return Err(ServiceError::invalid("name", "name is required"));
    }
    let length = name.chars().count();
    if length > MAX_USER_GROUP_NAME_CHARS {
        return Err(ServiceError::invalid(
            "name",
            format!(
                "name has {length} characters, more than the maximum of {MAX_USER_GROUP_NAME_CHARS}"
            ),
        ));
    }
    if name.contains('\0') {
        // PostgreSQL rejects U+0000 in text.
        return Err(ServiceError::invalid(
            "name",
            "name must not contain U+0000",
        ));
    }
    Ok(())
}

/// Checks the user ids of an add or remove request.
fn check_user_ids(ids: &[String]) -> Result<Vec<String>, ServiceError> {
    if ids.len() > MAX_USER_IDS_PER_REQUEST {
        return Err(ServiceError::invalid(
            "user_ids",
            format!(
                "at most {MAX_USER_IDS_PER_REQUEST} user ids per request, got {}, so split the change into several requests",
                ids.len()
            ),
        ));
    }
    user_ids(ids, "user_ids")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_of_max_length_accepted() {
        let name = "é".repeat(MAX_USER_GROUP_NAME_CHARS);

        assert!(check_name(&name).is_ok());
    }

    #[test]
    fn name_over_max_length_rejected() {
        let name = "a".repeat(MAX_USER_GROUP_NAME_CHARS + 1);

        assert!(check_name(&name).is_err());
    }

    #[test]
    fn blank_name_rejected() {
        assert!(check_name("  ").is_err());
    }
}
