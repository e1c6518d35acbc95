//! gRPC suite: RoleAdminService, RoleService and EventSink on a loopback
//! port, called with the generated clients, checking status codes and
//! google.rpc error details.

use proto::events::v1::{DeliverRequest, event_sink_client::EventSinkClient};
use proto::rbac::v1::{
    BatchGetEffectiveRolesRequest, GetEffectiveRoleRequest, ListUsersWithRoleRequest,
    SetDefaultRoleRequest, SetGroupMappingRequest, SetUserRoleRequest,
    role_admin_service_client::RoleAdminServiceClient, role_service_client::RoleServiceClient,
};
use rbac_svc::{MAX_BATCH_USERS, RbacService};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::engine_tests;
use crate::support::{TestContext, user_created, user_ids, workspace};

engine_tests!(
    scim_user_role_change_is_failed_precondition,
    unknown_user_is_not_found,
    unknown_role_is_invalid_argument,
    missing_workspace_names_field,
    oversized_batch_rejected,
    bad_page_size_rejected,
    deliver_then_get_over_grpc,
);

struct Clients {
    admin: RoleAdminServiceClient<Channel>,
    roles: RoleServiceClient<Channel>,
    events: EventSinkClient<Channel>,
    server: JoinHandle<()>,
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the three services on 127.0.0.1 with an OS-assigned port.
async fn serve(service: &RbacService) -> Clients {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(service.role_admin_server())
        .add_service(service.role_server())
        .add_service(service.event_sink_server());
    let server = tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Clients {
        admin: RoleAdminServiceClient::new(channel.clone()),
        roles: RoleServiceClient::new(channel.clone()),
        events: EventSinkClient::new(channel),
        server,
    }
}

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Creates a user over gRPC and returns its id.
async fn provision(clients: &mut Clients, workspace_id: &str, scim_managed: bool) -> String {
    let user_id = user_ids(1).remove(0);
    clients
        .events
        .deliver(DeliverRequest {
            events: vec![user_created(workspace_id, &user_id, scim_managed)],
        })
        .await
        .unwrap();
    user_id
}

async fn scim_user_role_change_is_failed_precondition(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let ws = workspace();
    let user_id = provision(&mut clients, &ws, true).await;

    let status = clients
        .admin
        .set_user_role(SetUserRoleRequest {
            workspace_id: ws.clone(),
            user_id,
            role: "admin".to_owned(),
            actor: String::new(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "ROLE_MANAGED_BY_SCIM");
    assert!(status.message().contains("group mappings"));
}

async fn unknown_user_is_not_found(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .roles
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id: workspace(),
            user_id: "ghost".to_owned(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "USER_NOT_FOUND");
}

async fn unknown_role_is_invalid_argument(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .admin
        .set_default_role(SetDefaultRoleRequest {
            workspace_id: workspace(),
            role: "owner".to_owned(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "UNKNOWN_ROLE");
}

async fn missing_workspace_names_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .admin
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: String::new(),
            group_id: "g".to_owned(),
            role: "admin".to_owned(),
            actor: String::new(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["workspace_id"]);
}

async fn oversized_batch_rejected(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .roles
        .batch_get_effective_roles(BatchGetEffectiveRolesRequest {
            workspace_id: workspace(),
            user_ids: user_ids(MAX_BATCH_USERS + 1),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
}

async fn bad_page_size_rejected(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .roles
        .list_users_with_role(ListUsersWithRoleRequest {
            workspace_id: workspace(),
            role: "member".to_owned(),
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
}

async fn deliver_then_get_over_grpc(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let ws = workspace();
    let user_id = provision(&mut clients, &ws, false).await;

    let answer = clients
        .roles
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id: ws,
            user_id,
        })
        .await
        .unwrap()
        .into_inner()
        .effective_role
        .unwrap();

    assert_eq!(answer.role, "member");
    assert!(!answer.scim_managed);
}
