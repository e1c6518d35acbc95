//! tonic adapters of `groups.v1.GroupService`, `groups.v1.MembershipService`,
//! `groups.v1.UserGroupService` (in `user_groups`) and `events.v1.EventSink`.
//! Each RPC opens a span with the workspace, group, User Group and user ids
//! it names, delegates to [`GroupsService`], maps the error once, and
//! records a request counter and a latency histogram.

mod user_groups;

use std::{future::Future, time::Instant};

use proto::events::v1::{DeliverRequest, DeliverResponse, event_sink_server::EventSink};
use proto::groups::v1::{
    BatchCheckMembershipRequest, BatchCheckMembershipResponse, CheckMembershipRequest,
    CheckMembershipResponse, CheckUserGroupMembershipRequest, CheckUserGroupMembershipResponse,
    CreateGroupRequest, CreateGroupResponse, DeleteGroupRequest, DeleteGroupResponse,
    GetGroupRequest, GetGroupResponse, ListGroupsForUserRequest, ListGroupsForUserResponse,
    ListGroupsRequest, ListGroupsResponse, ListMembersRequest, ListMembersResponse,
    ListUserGroupMembersRequest, ListUserGroupMembersResponse, ListUserGroupsForUserRequest,
    ListUserGroupsForUserResponse, RemoveUserMembershipsRequest, RemoveUserMembershipsResponse,
    ReplaceGroupRequest, ReplaceGroupResponse, ResetWorkspaceRequest, ResetWorkspaceResponse,
    UpdateGroupRequest, UpdateGroupResponse, group_service_server::GroupService,
    membership_service_server::MembershipService,
};
use tonic::{Code, Request, Response, Status};

use crate::{GroupsService, error::ServiceError};

pub use self::user_groups::UserGroupGrpc;

/// Runs one RPC body and records `groups_rpc_requests_total{rpc, code}` and
/// `groups_rpc_duration_seconds{rpc}`.
async fn observe<T>(
    rpc: &'static str,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<Response<T>, Status> {
    let started = Instant::now();
    let result = work.await.map(Response::new).map_err(Status::from);

    let code = match &result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    };
    metrics::counter!("groups_rpc_requests_total", "rpc" => rpc, "code" => format!("{code:?}"))
        .increment(1);
    metrics::histogram!("groups_rpc_duration_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
    result
}

/// `groups.v1.GroupService`.
#[derive(Debug, Clone)]
pub struct GroupGrpc {
    service: GroupsService,
}

impl GroupGrpc {
    pub fn new(service: GroupsService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl GroupService for GroupGrpc {
    #[tracing::instrument(
        skip_all,
        fields(rpc = "CreateGroup", workspace_id = %request.get_ref().workspace_id, group_id = tracing::field::Empty)
    )]
    async fn create_group(
        &self,
        request: Request<CreateGroupRequest>,
    ) -> Result<Response<CreateGroupResponse>, Status> {
        observe("CreateGroup", async {
            let group = self.service.create_group(request.into_inner()).await?;
            Ok(CreateGroupResponse { group: Some(group) })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "GetGroup", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id)
    )]
    async fn get_group(
        &self,
        request: Request<GetGroupRequest>,
    ) -> Result<Response<GetGroupResponse>, Status> {
        observe("GetGroup", async {
            let group = self.service.get_group(request.into_inner()).await?;
            Ok(GetGroupResponse { group: Some(group) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListGroups", workspace_id = %request.get_ref().workspace_id))]
    async fn list_groups(
        &self,
        request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        observe("ListGroups", self.service.list_groups(request.into_inner())).await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "ReplaceGroup", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id)
    )]
    async fn replace_group(
        &self,
        request: Request<ReplaceGroupRequest>,
    ) -> Result<Response<ReplaceGroupResponse>, Status> {
        observe("ReplaceGroup", async {
            let group = self.service.replace_group(request.into_inner()).await?;
            Ok(ReplaceGroupResponse { group: Some(group) })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "UpdateGroup", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id)
    )]
    async fn update_group(
        &self,
        request: Request<UpdateGroupRequest>,
    ) -> Result<Response<UpdateGroupResponse>, Status> {
        observe(
            "UpdateGroup",
            self.service.update_group(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "DeleteGroup", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id)
    )]
    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        observe("DeleteGroup", async {
            self.service.delete_group(request.into_inner()).await?;
            Ok(DeleteGroupResponse {})
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "RemoveUserMemberships", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id)
    )]
    async fn remove_user_memberships(
        &self,
        request: Request<RemoveUserMembershipsRequest>,
    ) -> Result<Response<RemoveUserMembershipsResponse>, Status> {
        observe(
            "RemoveUserMemberships",
            self.service.remove_user_memberships(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ResetWorkspace", workspace_id = %request.get_ref().workspace_id))]
    async fn reset_workspace(
        &self,
        request: Request<ResetWorkspaceRequest>,
    ) -> Result<Response<ResetWorkspaceResponse>, Status> {
        observe(
            "ResetWorkspace",
            self.service.reset_workspace(request.into_inner()),
        )
        .await
    }
}

/// `groups.v1.MembershipService`.
#[derive(Debug, Clone)]
pub struct MembershipGrpc {
    service: GroupsService,
}

impl MembershipGrpc {
    pub fn new(service: GroupsService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl MembershipService for MembershipGrpc {
    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "CheckMembership",
            workspace_id = %request.get_ref().workspace_id,
            group_id = %request.get_ref().group_id,
            user_id = %request.get_ref().user_id
        )
    )]
    async fn check_membership(
        &self,
        request: Request<CheckMembershipRequest>,
    ) -> Result<Response<CheckMembershipResponse>, Status> {
        observe(
            "CheckMembership",
            self.service.check_membership(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "BatchCheckMembership", workspace_id = %request.get_ref().workspace_id, pair_count = request.get_ref().pairs.len())
    )]
    async fn batch_check_membership(
        &self,
        request: Request<BatchCheckMembershipRequest>,
    ) -> Result<Response<BatchCheckMembershipResponse>, Status> {
        observe(
            "BatchCheckMembership",
            self.service.batch_check_membership(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "ListGroupsForUser", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id)
    )]
    async fn list_groups_for_user(
        &self,
        request: Request<ListGroupsForUserRequest>,
    ) -> Result<Response<ListGroupsForUserResponse>, Status> {
        observe(
            "ListGroupsForUser",
            self.service.list_groups_for_user(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "ListMembers", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id)
    )]
    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<ListMembersResponse>, Status> {
        observe(
            "ListMembers",
            self.service.list_members(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "CheckUserGroupMembership",
            workspace_id = %request.get_ref().workspace_id,
            user_group_id = %request.get_ref().user_group_id,
            user_id = %request.get_ref().user_id
        )
    )]
    async fn check_user_group_membership(
        &self,
        request: Request<CheckUserGroupMembershipRequest>,
    ) -> Result<Response<CheckUserGroupMembershipResponse>, Status> {
        observe(
            "CheckUserGroupMembership",
            self.service
                .check_user_group_membership(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "ListUserGroupsForUser", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id)
    )]
    async fn list_user_groups_for_user(
        &self,
        request: Request<ListUserGroupsForUserRequest>,
    ) -> Result<Response<ListUserGroupsForUserResponse>, Status> {
        observe(
            "ListUserGroupsForUser",
            self.service.list_user_groups_for_user(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "ListUserGroupMembers",
            workspace_id = %request.get_ref().workspace_id,
            user_group_id = %request.get_ref().user_group_id
        )
    )]
    async fn list_user_group_members(
        &self,
        request: Request<ListUserGroupMembersRequest>,
    ) -> Result<Response<ListUserGroupMembersResponse>, Status> {
        observe(
            "ListUserGroupMembers",
            self.service.list_user_group_members(request.into_inner()),
        )
        .await
    }
}

/// `events.v1.EventSink`, the consumer side of other services' outboxes.
#[derive(Debug, Clone)]
pub struct EventSinkGrpc {
    service: GroupsService,
}

impl EventSinkGrpc {
    pub fn new(service: GroupsService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl EventSink for EventSinkGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "Deliver", event_count = request.get_ref().events.len()))]
    async fn deliver(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<Response<DeliverResponse>, Status> {
        observe("Deliver", self.service.deliver(request.into_inner())).await
    }
}
