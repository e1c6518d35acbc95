//! tonic adapter of `groups.v1.UserGroupService`, with the span and
//! metrics of every other RPC of this service.

use proto::groups::v1::{
    AddUserGroupMembersRequest, AddUserGroupMembersResponse, CreateUserGroupRequest,
    CreateUserGroupResponse, DeleteUserGroupRequest, DeleteUserGroupResponse, GetUserGroupRequest,
    GetUserGroupResponse, ListSyncableGroupsRequest, ListSyncableGroupsResponse,
    ListUserGroupsRequest, ListUserGroupsResponse, RemoveUserGroupMembersRequest,
    RemoveUserGroupMembersResponse, RenameUserGroupRequest, RenameUserGroupResponse,
    SetGroupSyncRequest, SetGroupSyncResponse, user_group_service_server::UserGroupService,
};
use tonic::{Request, Response, Status};

use super::observe;
use crate::GroupsService;

/// `groups.v1.UserGroupService`.
#[derive(Debug, Clone)]
pub struct UserGroupGrpc {
    service: GroupsService,
}

impl UserGroupGrpc {
    pub fn new(service: GroupsService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl UserGroupService for UserGroupGrpc {
    #[tracing::instrument(
        skip_all,
        fields(rpc = "CreateUserGroup", workspace_id = %request.get_ref().workspace_id, user_group_id = tracing::field::Empty)
    )]
    async fn create_user_group(
        &self,
        request: Request<CreateUserGroupRequest>,
    ) -> Result<Response<CreateUserGroupResponse>, Status> {
        observe("CreateUserGroup", async {
            let user_group = self.service.create_user_group(request.into_inner()).await?;
            Ok(CreateUserGroupResponse {
                user_group: Some(user_group),
            })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "GetUserGroup", workspace_id = %request.get_ref().workspace_id, user_group_id = %request.get_ref().user_group_id)
    )]
    async fn get_user_group(
        &self,
        request: Request<GetUserGroupRequest>,
    ) -> Result<Response<GetUserGroupResponse>, Status> {
        observe("GetUserGroup", async {
            let user_group = self.service.get_user_group(request.into_inner()).await?;
            Ok(GetUserGroupResponse {
                user_group: Some(user_group),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListUserGroups", workspace_id = %request.get_ref().workspace_id))]
    async fn list_user_groups(
        &self,
        request: Request<ListUserGroupsRequest>,
    ) -> Result<Response<ListUserGroupsResponse>, Status> {
        observe(
            "ListUserGroups",
            self.service.list_user_groups(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "RenameUserGroup", workspace_id = %request.get_ref().workspace_id, user_group_id = %request.get_ref().user_group_id)
    )]
    async fn rename_user_group(
        &self,
        request: Request<RenameUserGroupRequest>,
    ) -> Result<Response<RenameUserGroupResponse>, Status> {
        observe("RenameUserGroup", async {
            let user_group = self.service.rename_user_group(request.into_inner()).await?;
            Ok(RenameUserGroupResponse {
                user_group: Some(user_group),
            })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "DeleteUserGroup", workspace_id = %request.get_ref().workspace_id, user_group_id = %request.get_ref().user_group_id)
    )]
    async fn delete_user_group(
        &self,
        request: Request<DeleteUserGroupRequest>,
    ) -> Result<Response<DeleteUserGroupResponse>, Status> {
        observe("DeleteUserGroup", async {
            self.service.delete_user_group(request.into_inner()).await?;
            Ok(DeleteUserGroupResponse {})
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "AddUserGroupMembers",
            workspace_id = %request.get_ref().workspace_id,
            user_group_id = %request.get_ref().user_group_id,
            user_count = request.get_ref().user_ids.len()
        )
    )]
    async fn add_user_group_members(
        &self,
        request: Request<AddUserGroupMembersRequest>,
    ) -> Result<Response<AddUserGroupMembersResponse>, Status> {
        observe(
            "AddUserGroupMembers",
            self.service.add_user_group_members(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "RemoveUserGroupMembers",
            workspace_id = %request.get_ref().workspace_id,
            user_group_id = %request.get_ref().user_group_id,
            user_count = request.get_ref().user_ids.len()
        )
    )]
    async fn remove_user_group_members(
        &self,
        request: Request<RemoveUserGroupMembersRequest>,
    ) -> Result<Response<RemoveUserGroupMembersResponse>, Status> {
        observe(
            "RemoveUserGroupMembers",
            self.service.remove_user_group_members(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListSyncableGroups", workspace_id = %request.get_ref().workspace_id))]
    async fn list_syncable_groups(
        &self,
        request: Request<ListSyncableGroupsRequest>,
    ) -> Result<Response<ListSyncableGroupsResponse>, Status> {
        observe(
            "ListSyncableGroups",
            self.service.list_syncable_groups(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "SetGroupSync",
            workspace_id = %request.get_ref().workspace_id,
            group_id = %request.get_ref().group_id,
            enabled = request.get_ref().enabled,
            user_group_id = tracing::field::Empty
        )
    )]
    async fn set_group_sync(
        &self,
        request: Request<SetGroupSyncRequest>,
    ) -> Result<Response<SetGroupSyncResponse>, Status> {
        observe(
            "SetGroupSync",
            self.service.set_group_sync(request.into_inner()),
        )
        .await
    }
}
