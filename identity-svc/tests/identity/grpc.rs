//! gRPC suite: the three services on a loopback port, called with the
//! generated clients, checking status codes and google.rpc error details.

use identity_svc::IdentityService;
use proto::identity::v1::{
    AttributePath, AttributeSchema, AuthenticateScimTokenRequest, Comparison, ComparisonOperator,
    CreateUserRequest, CreateWorkspaceRequest, DeleteUserRequest, Filter, FilterValue,
    GetUserRequest, IssueScimTokenRequest, ListUsersRequest, ReplaceUserRequest, User,
    filter::Expr, filter_value::Kind, token_service_client::TokenServiceClient,
    user_service_client::UserServiceClient, workspace_service_client::WorkspaceServiceClient,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::support::{TestContext, email, user};

struct Clients {
    workspaces: WorkspaceServiceClient<Channel>,
    tokens: TokenServiceClient<Channel>,
    users: UserServiceClient<Channel>,
    server: JoinHandle<()>,
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the three services on 127.0.0.1 with an OS-assigned port.
async fn serve(service: &IdentityService) -> Clients {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(service.workspace_server())
        .add_service(service.token_server())
        .add_service(service.user_server());
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
        workspaces: WorkspaceServiceClient::new(channel.clone()),
        tokens: TokenServiceClient::new(channel.clone()),
        users: UserServiceClient::new(channel),
        server,
    }
}

async fn create_workspace(clients: &mut Clients, scim_enabled: bool) -> String {
    let request = CreateWorkspaceRequest {
        name: "Firm".to_owned(),
        domains: vec!["example.com".to_owned()],
        sso_enabled: true,
        scim_enabled,
        scim_entitled: false,
    };
    let response = clients
        .workspaces
        .create_workspace(request)
        .await
        .unwrap()
        .into_inner();
    response.workspace.unwrap().id
}

async fn create_user(
    clients: &mut Clients,
    workspace_id: &str,
    user: User,
) -> Result<User, Status> {
    let request = CreateUserRequest {
        workspace_id: workspace_id.to_owned(),
        user: Some(user),
    };
    Ok(clients
        .users
        .create_user(request)
        .await?
        .into_inner()
        .user
        .unwrap())
}

fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

fn violation_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

async fn create_then_get_and_list(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;
    let created = create_user(&mut clients, &workspace_id, user("ada@example.com"))
        .await
        .unwrap();

    let fetched = clients
        .users
        .get_user(GetUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let listed = clients
        .users
        .list_users(ListUsersRequest {
            workspace_id,
            count: 10,
            ..ListUsersRequest::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(fetched.user.unwrap(), created);
    assert_eq!(listed.total_results, 1);
}

async fn foreign_domain_names_emails_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;
    let outsider = User {
        emails: vec![email("ada@evilexample.com", "work", true)],
        ..user("ada")
    };

    let status = create_user(&mut clients, &workspace_id, outsider)
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), ["emails"]);
}

async fn duplicate_user_name_already_exists(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;
    create_user(&mut clients, &workspace_id, user("Straße"))
        .await
        .unwrap();

    let status = create_user(&mut clients, &workspace_id, user("STRASSE"))
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "USER_NAME_TAKEN");
}

async fn stale_version_aborted(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;
    let created = create_user(&mut clients, &workspace_id, user("ada"))
        .await
        .unwrap();

    let status = clients
        .users
        .replace_user(ReplaceUserRequest {
            workspace_id,
            user: Some(created),
            expected_version: Some(7),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(reason(&status), "VERSION_MISMATCH");
}

async fn missing_user_not_found(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;

    let status = clients
        .users
        .delete_user(DeleteUserRequest {
            workspace_id,
            user_id: uuid::Uuid::now_v7().to_string(),
            expected_version: None,
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::NotFound);
}

async fn unknown_workspace_not_found(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = create_user(&mut clients, "no-such-workspace", user("ada"))
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::NotFound);
}

async fn unsupported_filter_names_filter_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, true).await;
    let filter = Filter {
        expr: Some(Expr::Comparison(Comparison {
            attribute: Some(AttributePath {
                schema: AttributeSchema::Core as i32,
                name: "password".to_owned(),
                sub_attribute: String::new(),
            }),
            operator: ComparisonOperator::Eq as i32,
            value: Some(FilterValue {
                kind: Some(Kind::StringValue("secret".to_owned())),
            }),
        })),
    };

    let status = clients
        .users
        .list_users(ListUsersRequest {
            workspace_id,
            filter: Some(filter),
            count: 10,
            ..ListUsersRequest::default()
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), ["filter"]);
}

async fn unknown_token_unauthenticated(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .tokens
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: identity_svc::tokens::generate_secret(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
}

async fn disabled_scim_failed_precondition(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = create_workspace(&mut clients, false).await;
    let issued = clients
        .tokens
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id,
            name: "okta".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap()
        .into_inner();

    let status = clients
        .tokens
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: issued.secret,
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "SCIM_DISABLED");
}

crate::engine_tests!(
    create_then_get_and_list,
    foreign_domain_names_emails_field,
    duplicate_user_name_already_exists,
    stale_version_aborted,
    missing_user_not_found,
    unknown_workspace_not_found,
    unsupported_filter_names_filter_field,
    unknown_token_unauthenticated,
    disabled_scim_failed_precondition,
);
