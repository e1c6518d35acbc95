//! tonic adapters of the three `identity.v1` services. Each RPC opens a span
//! with the workspace and user ids, delegates to [`IdentityService`], maps
//! the error once, and records a request counter and a latency histogram.

use std::{future::Future, time::Instant};

use proto::identity::v1::{
    AddWorkspaceDomainRequest, AddWorkspaceDomainResponse, AuthenticateScimTokenRequest,
    AuthenticateScimTokenResponse, BatchGetUsersRequest, BatchGetUsersResponse, CheckLoginRequest,
    CheckLoginResponse, CreateUnmanagedUserRequest, CreateUnmanagedUserResponse, CreateUserRequest,
    CreateUserResponse, CreateWorkspaceRequest, CreateWorkspaceResponse, DeleteUserRequest,
    DeleteUserResponse, DisableScimRequest, DisableScimResponse, EnableScimRequest,
    EnableScimResponse, GetIdentitySettingsRequest, GetIdentitySettingsResponse, GetUserRequest,
    GetUserResponse, GetWorkspaceRequest, GetWorkspaceResponse, IssueScimTokenRequest,
    IssueScimTokenResponse, ListScimTokensRequest, ListScimTokensResponse, ListUsersRequest,
    ListUsersResponse, RemoveWorkspaceDomainRequest, RemoveWorkspaceDomainResponse,
    ReplaceUserRequest, ReplaceUserResponse, ResetScimRequest, ResetScimResponse,
    RevokeScimTokenRequest, RevokeScimTokenResponse, RotateScimTokenRequest,
    RotateScimTokenResponse, SetScimEntitlementRequest, SetScimEntitlementResponse,
    SetSsoEnabledRequest, SetSsoEnabledResponse, SetupScimRequest, SetupScimResponse,
    token_service_server::TokenService, user_service_server::UserService,
    workspace_service_server::WorkspaceService,
};
use tonic::{Code, Request, Response, Status};

use crate::{IdentityService, error::ServiceError};

/// Runs one RPC body and records `identity_rpc_requests_total{rpc, code}`
/// and `identity_rpc_duration_seconds{rpc}`.
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
    metrics::counter!("identity_rpc_requests_total", "rpc" => rpc, "code" => format!("{code:?}"))
        .increment(1);
    metrics::histogram!("identity_rpc_duration_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
    result
}

/// `identity.v1.WorkspaceService`.
#[derive(Debug, Clone)]
pub struct WorkspaceGrpc {
    service: IdentityService,
}

impl WorkspaceGrpc {
    pub fn new(service: IdentityService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl WorkspaceService for WorkspaceGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "CreateWorkspace"))]
    async fn create_workspace(
        &self,
        request: Request<CreateWorkspaceRequest>,
    ) -> Result<Response<CreateWorkspaceResponse>, Status> {
        observe("CreateWorkspace", async {
            let workspace = self.service.create_workspace(request.into_inner()).await?;
            Ok(CreateWorkspaceResponse {
                workspace: Some(workspace),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetWorkspace", workspace_id = %request.get_ref().workspace_id))]
    async fn get_workspace(
        &self,
        request: Request<GetWorkspaceRequest>,
    ) -> Result<Response<GetWorkspaceResponse>, Status> {
        observe("GetWorkspace", async {
            let workspace = self.service.get_workspace(request.into_inner()).await?;
            Ok(GetWorkspaceResponse {
                workspace: Some(workspace),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetSsoEnabled", workspace_id = %request.get_ref().workspace_id))]
    async fn set_sso_enabled(
        &self,
        request: Request<SetSsoEnabledRequest>,
    ) -> Result<Response<SetSsoEnabledResponse>, Status> {
        let request = request.into_inner();
        observe("SetSsoEnabled", async {
            let settings = self
                .service
                .set_sso_enabled(&request.workspace_id, request.enabled)
                .await?;
            Ok(SetSsoEnabledResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetScimEntitlement", workspace_id = %request.get_ref().workspace_id))]
    async fn set_scim_entitlement(
        &self,
        request: Request<SetScimEntitlementRequest>,
    ) -> Result<Response<SetScimEntitlementResponse>, Status> {
        let request = request.into_inner();
        observe("SetScimEntitlement", async {
            let settings = self
                .service
                .set_scim_entitlement(&request.workspace_id, request.entitled)
                .await?;
            Ok(SetScimEntitlementResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetIdentitySettings", workspace_id = %request.get_ref().workspace_id))]
    async fn get_identity_settings(
        &self,
        request: Request<GetIdentitySettingsRequest>,
    ) -> Result<Response<GetIdentitySettingsResponse>, Status> {
        observe("GetIdentitySettings", async {
            let settings = self
                .service
                .identity_settings(&request.get_ref().workspace_id)
                .await?;
            Ok(GetIdentitySettingsResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "EnableScim", workspace_id = %request.get_ref().workspace_id))]
    async fn enable_scim(
        &self,
        request: Request<EnableScimRequest>,
    ) -> Result<Response<EnableScimResponse>, Status> {
        observe("EnableScim", async {
            let settings = self
                .service
                .enable_scim(&request.get_ref().workspace_id)
                .await?;
            Ok(EnableScimResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "DisableScim", workspace_id = %request.get_ref().workspace_id))]
    async fn disable_scim(
        &self,
        request: Request<DisableScimRequest>,
    ) -> Result<Response<DisableScimResponse>, Status> {
        observe("DisableScim", async {
            let settings = self
                .service
                .disable_scim(&request.get_ref().workspace_id)
                .await?;
            Ok(DisableScimResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetupScim", workspace_id = %request.get_ref().workspace_id))]
    async fn setup_scim(
        &self,
        request: Request<SetupScimRequest>,
    ) -> Result<Response<SetupScimResponse>, Status> {
        let request = request.into_inner();
        observe("SetupScim", async {
            let settings = self
                .service
                .setup_scim(&request.workspace_id, request.identity_provider())
                .await?;
            Ok(SetupScimResponse {
                settings: Some(settings),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ResetScim", workspace_id = %request.get_ref().workspace_id))]
    async fn reset_scim(
        &self,
        request: Request<ResetScimRequest>,
    ) -> Result<Response<ResetScimResponse>, Status> {
        observe(
            "ResetScim",
            self.service.reset_scim(&request.get_ref().workspace_id),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "AddWorkspaceDomain", workspace_id = %request.get_ref().workspace_id))]
    async fn add_workspace_domain(
        &self,
        request: Request<AddWorkspaceDomainRequest>,
    ) -> Result<Response<AddWorkspaceDomainResponse>, Status> {
        let request = request.into_inner();
        observe("AddWorkspaceDomain", async {
            let domains = self
                .service
                .add_workspace_domain(&request.workspace_id, &request.domain)
                .await?;
            Ok(AddWorkspaceDomainResponse { domains })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "RemoveWorkspaceDomain", workspace_id = %request.get_ref().workspace_id))]
    async fn remove_workspace_domain(
        &self,
        request: Request<RemoveWorkspaceDomainRequest>,
    ) -> Result<Response<RemoveWorkspaceDomainResponse>, Status> {
        let request = request.into_inner();
        observe("RemoveWorkspaceDomain", async {
            let domains = self
                .service
                .remove_workspace_domain(&request.workspace_id, &request.domain)
                .await?;
            Ok(RemoveWorkspaceDomainResponse { domains })
        })
        .await
    }
}

/// `identity.v1.TokenService`.
#[derive(Debug, Clone)]
pub struct TokenGrpc {
    service: IdentityService,
}

impl TokenGrpc {
    pub fn new(service: IdentityService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl TokenService for TokenGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "IssueScimToken", workspace_id = %request.get_ref().workspace_id))]
    async fn issue_scim_token(
        &self,
        request: Request<IssueScimTokenRequest>,
    ) -> Result<Response<IssueScimTokenResponse>, Status> {
        observe(
            "IssueScimToken",
            self.service.issue_scim_token(request.into_inner()),
        )
        .await
    }

    // The request holds only the secret, so the span gets no ids.
    #[tracing::instrument(skip_all, fields(rpc = "AuthenticateScimToken"))]
    async fn authenticate_scim_token(
        &self,
        request: Request<AuthenticateScimTokenRequest>,
    ) -> Result<Response<AuthenticateScimTokenResponse>, Status> {
        observe(
            "AuthenticateScimToken",
            self.service.authenticate_scim_token(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListScimTokens", workspace_id = %request.get_ref().workspace_id))]
    async fn list_scim_tokens(
        &self,
        request: Request<ListScimTokensRequest>,
    ) -> Result<Response<ListScimTokensResponse>, Status> {
        observe(
            "ListScimTokens",
            self.service.list_scim_tokens(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "RotateScimToken", workspace_id = %request.get_ref().workspace_id, token_id = %request.get_ref().token_id)
    )]
    async fn rotate_scim_token(
        &self,
        request: Request<RotateScimTokenRequest>,
    ) -> Result<Response<RotateScimTokenResponse>, Status> {
        observe(
            "RotateScimToken",
            self.service.rotate_scim_token(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "RevokeScimToken", workspace_id = %request.get_ref().workspace_id, token_id = %request.get_ref().token_id)
    )]
    async fn revoke_scim_token(
        &self,
        request: Request<RevokeScimTokenRequest>,
    ) -> Result<Response<RevokeScimTokenResponse>, Status> {
        observe(
            "RevokeScimToken",
            self.service.revoke_scim_token(request.into_inner()),
        )
        .await
    }
}

/// `identity.v1.UserService`.
#[derive(Debug, Clone)]
pub struct UserGrpc {
    service: IdentityService,
}

impl UserGrpc {
    pub fn new(service: IdentityService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl UserService for UserGrpc {
    #[tracing::instrument(
        skip_all,
        fields(rpc = "CreateUser", workspace_id = %request.get_ref().workspace_id, user_id = tracing::field::Empty)
    )]
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        observe("CreateUser", async {
            let user = self.service.create_user(request.into_inner()).await?;
            Ok(CreateUserResponse { user: Some(user) })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "GetUser", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id)
    )]
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        observe("GetUser", async {
            let user = self.service.get_user(request.into_inner()).await?;
            Ok(GetUserResponse { user: Some(user) })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "BatchGetUsers", workspace_id = %request.get_ref().workspace_id, user_count = request.get_ref().user_ids.len())
    )]
    async fn batch_get_users(
        &self,
        request: Request<BatchGetUsersRequest>,
    ) -> Result<Response<BatchGetUsersResponse>, Status> {
        observe(
            "BatchGetUsers",
            self.service.batch_get_users(request.into_inner()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListUsers", workspace_id = %request.get_ref().workspace_id))]
    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        observe("ListUsers", self.service.list_users(request.into_inner())).await
    }

    #[tracing::instrument(
        skip_all,
        fields(
            rpc = "ReplaceUser",
            workspace_id = %request.get_ref().workspace_id,
            user_id = %request.get_ref().user.as_ref().map(|user| user.id.as_str()).unwrap_or_default()
        )
    )]
    async fn replace_user(
        &self,
        request: Request<ReplaceUserRequest>,
    ) -> Result<Response<ReplaceUserResponse>, Status> {
        observe("ReplaceUser", async {
            let user = self.service.replace_user(request.into_inner()).await?;
            Ok(ReplaceUserResponse { user: Some(user) })
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "DeleteUser", workspace_id = %request.get_ref().workspace_id, user_id = %request.get_ref().user_id)
    )]
    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<DeleteUserResponse>, Status> {
        observe("DeleteUser", async {
            self.service.delete_user(request.into_inner()).await?;
            Ok(DeleteUserResponse {})
        })
        .await
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc = "CreateUnmanagedUser", workspace_id = %request.get_ref().workspace_id, user_id = tracing::field::Empty)
    )]
    async fn create_unmanaged_user(
        &self,
        request: Request<CreateUnmanagedUserRequest>,
    ) -> Result<Response<CreateUnmanagedUserResponse>, Status> {
        observe("CreateUnmanagedUser", async {
            let user = self
                .service
                .create_unmanaged_user(request.into_inner())
                .await?;
            Ok(CreateUnmanagedUserResponse { user: Some(user) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "CheckLogin", workspace_id = %request.get_ref().workspace_id))]
    async fn check_login(
        &self,
        request: Request<CheckLoginRequest>,
    ) -> Result<Response<CheckLoginResponse>, Status> {
        observe("CheckLogin", self.service.check_login(request.into_inner())).await
    }
}
