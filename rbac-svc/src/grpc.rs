//! tonic adapters of `rbac.v1.RoleAdminService`, `rbac.v1.RoleService` and
//! `events.v1.EventSink`. Each RPC opens a span with the workspace and the
//! ids it names, delegates to [`RbacService`], maps the error once, and
//! records a request counter and a latency histogram.

use std::{future::Future, time::Instant};

use proto::events::v1::{DeliverRequest, DeliverResponse, event_sink_server::EventSink};
use proto::rbac::v1::{
    BatchGetEffectiveRolesRequest, BatchGetEffectiveRolesResponse, GetEffectiveRoleRequest,
    GetEffectiveRoleResponse, ListGroupMappingsRequest, ListGroupMappingsResponse,
    ListRolesRequest, ListRolesResponse, ListUsersWithRoleRequest, ListUsersWithRoleResponse,
    PreviewRoleChangeRequest, PreviewRoleChangeResponse, RemoveGroupMappingRequest,
    RemoveGroupMappingResponse, SetDefaultRoleRequest, SetDefaultRoleResponse,
    SetGroupMappingRequest, SetGroupMappingResponse, SetUserRoleRequest, SetUserRoleResponse,
    role_admin_service_server::RoleAdminService, role_service_server::RoleService,
};
use tonic::{Code, Request, Response, Status};

use crate::{RbacService, error::ServiceError};

/// Runs one RPC body and records `rbac_rpc_requests_total{rpc, code}` and
/// `rbac_rpc_duration_seconds{rpc}`.
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
    metrics::counter!("rbac_rpc_requests_total", "rpc" => rpc, "code" => format!("{code:?}"))
        .increment(1);
    metrics::histogram!("rbac_rpc_duration_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
    result
}

/// `rbac.v1.RoleAdminService`.
#[derive(Debug, Clone)]
pub struct RoleAdminGrpc {
    service: RbacService,
}

impl RoleAdminGrpc {
    pub fn new(service: RbacService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl RoleAdminService for RoleAdminGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "ListRoles", workspace_id = %request.get_ref().workspace_id))]
    async fn list_roles(
        &self,
        request: Request<ListRolesRequest>,
    ) -> Result<Response<ListRolesResponse>, Status> {
        observe("ListRoles", self.service.list_roles(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetDefaultRole", workspace_id = %request.get_ref().workspace_id))]
    async fn set_default_role(
        &self,
        request: Request<SetDefaultRoleRequest>,
    ) -> Result<Response<SetDefaultRoleResponse>, Status> {
        observe(
            "SetDefaultRole",
            self.service.set_default_role(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListGroupMappings", workspace_id = %request.get_ref().workspace_id))]
    async fn list_group_mappings(
        &self,
        request: Request<ListGroupMappingsRequest>,
    ) -> Result<Response<ListGroupMappingsResponse>, Status> {
        observe(
            "ListGroupMappings",
            self.service.list_group_mappings(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetGroupMapping", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id))]
    async fn set_group_mapping(
        &self,
        request: Request<SetGroupMappingRequest>,
    ) -> Result<Response<SetGroupMappingResponse>, Status> {
        observe(
            "SetGroupMapping",
            self.service.set_group_mapping(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "RemoveGroupMapping", workspace_id = %request.get_ref().workspace_id, group_id = %request.get_ref().group_id))]
    async fn remove_group_mapping(
        &self,
        request: Request<RemoveGroupMappingRequest>,
    ) -> Result<Response<RemoveGroupMappingResponse>, Status> {
        observe(
            "RemoveGroupMapping",
            self.service.remove_group_mapping(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "PreviewRoleChange", workspace_id = %request.get_ref().workspace_id))]
    async fn preview_role_change(
        &self,
        request: Request<PreviewRoleChangeRequest>,
    ) -> Result<Response<PreviewRoleChangeResponse>, Status> {
        observe(
            "PreviewRoleChange",
            self.service.preview_role_change(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetUserRole", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id))]
    async fn set_user_role(
        &self,
        request: Request<SetUserRoleRequest>,
    ) -> Result<Response<SetUserRoleResponse>, Status> {
        observe(
            "SetUserRole",
            self.service.set_user_role(request.into_inner()),
        )
        .await
    }
}

/// `rbac.v1.RoleService`.
#[derive(Debug, Clone)]
pub struct RoleGrpc {
    service: RbacService,
}

impl RoleGrpc {
    pub fn new(service: RbacService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl RoleService for RoleGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "GetEffectiveRole", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id))]
    async fn get_effective_role(
        &self,
        request: Request<GetEffectiveRoleRequest>,
    ) -> Result<Response<GetEffectiveRoleResponse>, Status> {
        observe(
            "GetEffectiveRole",
            self.service.get_effective_role(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "BatchGetEffectiveRoles", workspace_id = %request.get_ref().workspace_id))]
    async fn batch_get_effective_roles(
        &self,
        request: Request<BatchGetEffectiveRolesRequest>,
    ) -> Result<Response<BatchGetEffectiveRolesResponse>, Status> {
        observe(
            "BatchGetEffectiveRoles",
            self.service.batch_get_effective_roles(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListUsersWithRole", workspace_id = %request.get_ref().workspace_id))]
    async fn list_users_with_role(
        &self,
        request: Request<ListUsersWithRoleRequest>,
    ) -> Result<Response<ListUsersWithRoleResponse>, Status> {
        observe(
            "ListUsersWithRole",
            self.service.list_users_with_role(request.into_inner()),
        )
        .await
    }
}

/// `events.v1.EventSink`: users, groups and memberships from the other
/// services' outboxes.
#[derive(Debug, Clone)]
pub struct EventSinkGrpc {
    service: RbacService,
}

impl EventSinkGrpc {
    pub fn new(service: RbacService) -> Self {
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
