//! MembershipService RPCs: membership checks and the groups and User
//! Groups of a user, served through the versioned cache in `crate::cache`,
//! and cursor-paged member lists read from the database.

use proto::groups::v1::{
    BatchCheckMembershipRequest, BatchCheckMembershipResponse, CheckMembershipRequest,
    CheckMembershipResponse, CheckUserGroupMembershipRequest, CheckUserGroupMembershipResponse,
    GroupRef, ListGroupsForUserRequest, ListGroupsForUserResponse, ListMembersRequest,
    ListMembersResponse, ListUserGroupMembersRequest, ListUserGroupMembersResponse,
    ListUserGroupsForUserRequest, ListUserGroupsForUserResponse,
};

use crate::{
    GroupsService,
    convert::{member_message, user_group_ref},
    error::ServiceError,
    groups::check_workspace,
    paging::PageRequest,
};

/// Maximum pairs in one BatchCheckMembership request.
pub const MAX_BATCH_PAIRS: usize = 1_000;

impl GroupsService {
    /// Returns whether the user is a member of the group. A group that does
    /// not exist in the workspace has no members.
    pub async fn check_membership(
        &self,
        request: CheckMembershipRequest,
    ) -> Result<CheckMembershipResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let is_member = self
            .cache
            .check(
                self.store.as_ref(),
                &request.workspace_id,
                &request.group_id,
                &request.user_id,
            )
            .await?;
        Ok(CheckMembershipResponse { is_member })
    }

    /// Checks up to [`MAX_BATCH_PAIRS`] pairs, in request order.
    pub async fn batch_check_membership(
        &self,
        request: BatchCheckMembershipRequest,
    ) -> Result<BatchCheckMembershipResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        if request.pairs.len() > MAX_BATCH_PAIRS {
            return Err(ServiceError::invalid(
                "pairs",
                format!(
                    "at most {MAX_BATCH_PAIRS} pairs per request, got {}",
                    request.pairs.len()
                ),
            ));
        }
        let pairs: Vec<(String, String)> = request
            .pairs
            .into_iter()
            .map(|pair| (pair.group_id, pair.user_id))
            .collect();

        let is_member = self
            .cache
            .check_many(self.store.as_ref(), &request.workspace_id, &pairs)
            .await?;
        Ok(BatchCheckMembershipResponse { is_member })
    }

    /// Returns the user's groups ordered by group id.
    pub async fn list_groups_for_user(
        &self,
        request: ListGroupsForUserRequest,
    ) -> Result<ListGroupsForUserResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let groups = self
            .cache
            .groups_for_user(self.store.as_ref(), &request.workspace_id, &request.user_id)
            .await?;
        Ok(ListGroupsForUserResponse {
            groups: groups
                .into_iter()
                .map(|(id, display_name)| GroupRef { id, display_name })
                .collect(),
        })
    }

    /// Returns one page of members ordered by user id. The page token
    /// encodes the last user id of the previous page, so pages stay
    /// consistent while members are added or removed elsewhere.
    pub async fn list_members(
        &self,
        request: ListMembersRequest,
    ) -> Result<ListMembersResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let page = PageRequest::parse(request.page_size, &request.page_token)?;

        let mut members = self
            .store
            .list_members(
                &request.workspace_id,
                &request.group_id,
                page.after.as_deref(),
                page.fetch_limit(),
            )
            .await?
            .ok_or_else(|| ServiceError::GroupNotFound(request.group_id.clone()))?;
        let next_page_token = page.finish(&mut members, |member| &member.user_id);
        Ok(ListMembersResponse {
            members: members.iter().map(member_message).collect(),
            next_page_token,
        })
    }

    /// Returns whether the user is a member of the User Group. A User Group
    /// that does not exist in the workspace has no members.
    pub async fn check_user_group_membership(
        &self,
        request: CheckUserGroupMembershipRequest,
    ) -> Result<CheckUserGroupMembershipResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let is_member = self
            .cache
            .check_user_group(
                self.store.as_ref(),
                &request.workspace_id,
                &request.user_group_id,
                &request.user_id,
            )
            .await?;
        Ok(CheckUserGroupMembershipResponse { is_member })
    }

    /// Returns the user's User Groups ordered by id.
    pub async fn list_user_groups_for_user(
        &self,
        request: ListUserGroupsForUserRequest,
    ) -> Result<ListUserGroupsForUserResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let user_groups = self
            .cache
            .user_groups_for_user(self.store.as_ref(), &request.workspace_id, &request.user_id)
            .await?;
        Ok(ListUserGroupsForUserResponse {
            user_groups: user_groups.into_iter().map(user_group_ref).collect(),
        })
    }

    /// Returns one page of a User Group's member ids, ordered.
    pub async fn list_user_group_members(
        &self,
        request: ListUserGroupMembersRequest,
    ) -> Result<ListUserGroupMembersResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let page = PageRequest::parse(request.page_size, &request.page_token)?;

        let mut user_ids = self
            .store
            .list_user_group_members(
                &request.workspace_id,
                &request.user_group_id,
                page.after.as_deref(),
                page.fetch_limit(),
            )
            .await?
            .ok_or_else(|| ServiceError::UserGroupNotFound(request.user_group_id.clone()))?;
        let next_page_token = page.finish(&mut user_ids, String::as_str);
        Ok(ListUserGroupMembersResponse {
            user_ids,
            next_page_token,
        })
    }
}
