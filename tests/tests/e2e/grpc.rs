//! identity-svc's gRPC responses behind the SCIM gateway: status codes for
//! conflicts, foreign domains, other workspaces and stale versions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    fixtures::{DOMAIN, unique_email, user_body},
};
use proto::identity::v1::{
    AuthenticateScimTokenRequest, BatchGetUsersRequest, CreateUserRequest, DeleteUserRequest,
    GetUserRequest, GetWorkspaceRequest, ListUsersRequest, MultiValue, Name, User,
    token_service_client::TokenServiceClient, user_service_client::UserServiceClient,
    workspace_service_client::WorkspaceServiceClient,
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

e2e_tests::stack_tests!(
    create_user_codes,
    other_workspace_user_not_found,
    token_authentication,
    list_and_batch_get,
    stale_version_delete_aborted,
);

fn proto_user(user_name: &str) -> User {
    User {
        user_name: user_name.to_owned(),
        active: Some(true),
        name: Some(Name {
            given_name: Some("Grpc".to_owned()),
            family_name: Some("Caller".to_owned()),
            ..Default::default()
        }),
        emails: vec![MultiValue {
            value: Some(user_name.to_lowercase()),
            r#type: Some("work".to_owned()),
            primary: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn users(stack: &TestStack) -> UserServiceClient<tonic::transport::Channel> {
    UserServiceClient::new(stack.identity_channel().await)
}

async fn create_user_codes(stack: &TestStack) {
    let mut client = users(stack).await;
    let user_name = unique_email("Grpc.Caller", DOMAIN);
    let create = |user_name: &str| CreateUserRequest {
        workspace_id: stack.workspace_id.clone(),
        user: Some(proto_user(user_name)),
    };

    let created = client.create_user(create(&user_name)).await;
    let duplicate = client.create_user(create(&user_name.to_uppercase())).await;
    let foreign = client
        .create_user(create(&unique_email("grpc.caller", "evil.example")))
        .await;

    let created = created
        .expect("CreateUser failed")
        .into_inner()
        .user
        .expect("no user");
    assert!(!created.id.is_empty());
    assert_eq!(
        duplicate.expect_err("duplicate accepted").code(),
        Code::AlreadyExists
    );
    assert_eq!(
        foreign.expect_err("foreign domain accepted").code(),
        Code::InvalidArgument
    );
}

async fn other_workspace_user_not_found(stack: &TestStack) {
    let mut client = users(stack).await;
    let second = stack.second_workspace().await;
    let id = stack
        .client()
        .create_user(&user_body(
            &unique_email("grpc.owner", DOMAIN),
            "Grpc",
            "Owner",
        ))
        .await;

    let own = client
        .get_user(GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            user_id: id.clone(),
        })
        .await;
    let cross = client
        .get_user(GetUserRequest {
            workspace_id: second.workspace_id.clone(),
            user_id: id.clone(),
        })
        .await;
    let cross_delete = client
        .delete_user(DeleteUserRequest {
            workspace_id: second.workspace_id.clone(),
            user_id: id.clone(),
            expected_version: None,
        })
        .await;
    let second_domain_user = client
        .create_user(CreateUserRequest {
            workspace_id: second.workspace_id.clone(),
            user: Some(proto_user(&unique_email("grpc.caller", DOMAIN))),
        })
        .await;

    assert_eq!(
        own.expect("GetUser failed")
            .into_inner()
            .user
            .expect("no user")
            .id,
        id
    );
    assert_eq!(
        cross.expect_err("other workspace read the user").code(),
        Code::NotFound
    );
    assert_eq!(
        cross_delete
            .expect_err("other workspace deleted the user")
            .code(),
        Code::NotFound
    );
    assert_eq!(
        second_domain_user
            .expect_err("b.example workspace took an example.com user")
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(stack.client().get_user(&id).await["id"], id.as_str());
}

async fn token_authentication(stack: &TestStack) {
    let channel = stack.identity_channel().await;
    let mut tokens = TokenServiceClient::new(channel.clone());
    let mut workspaces = WorkspaceServiceClient::new(channel);

    let valid = tokens
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: stack.token.clone(),
        })
        .await;
    let unknown = tokens
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: format!("{}x", stack.token),
        })
        .await;
    let empty = tokens
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: String::new(),
        })
        .await;
    let workspace = workspaces
        .get_workspace(GetWorkspaceRequest {
            workspace_id: stack.workspace_id.clone(),
        })
        .await;
    let missing_workspace = workspaces
        .get_workspace(GetWorkspaceRequest {
            workspace_id: uuid::Uuid::new_v4().to_string(),
        })
        .await;

    assert_eq!(
        valid
            .expect("valid token rejected")
            .into_inner()
            .workspace_id,
        stack.workspace_id
    );
    assert_eq!(
        unknown.expect_err("unknown token accepted").code(),
        Code::Unauthenticated
    );
    assert_eq!(
        empty.expect_err("empty token accepted").code(),
        Code::Unauthenticated
    );
    let workspace = workspace
        .expect("GetWorkspace failed")
        .into_inner()
        .workspace
        .expect("no workspace");
    assert_eq!(workspace.domains, vec![DOMAIN.to_owned()]);
    assert!(workspace.scim_enabled);
    assert_eq!(
        missing_workspace
            .expect_err("unknown workspace found")
            .code(),
        Code::NotFound
    );
}

async fn list_and_batch_get(stack: &TestStack) {
    let mut client = users(stack).await;
    let scim = stack.client();
    let first = scim
        .create_user(&user_body(
            &unique_email("grpc.list.one", DOMAIN),
            "Grpc",
            "One",
        ))
        .await;
    let second = scim
        .create_user(&user_body(
            &unique_email("grpc.list.two", DOMAIN),
            "Grpc",
            "Two",
        ))
        .await;
    let missing = uuid::Uuid::new_v4().to_string();

    let total_only = client
        .list_users(ListUsersRequest {
            workspace_id: stack.workspace_id.clone(),
            start_index: 1,
            count: 0,
            ..Default::default()
        })
        .await
        .expect("ListUsers failed")
        .into_inner();
    let batch = client
        .batch_get_users(BatchGetUsersRequest {
            workspace_id: stack.workspace_id.clone(),
            user_ids: vec![first.clone(), missing.clone(), second.clone()],
        })
        .await
        .expect("BatchGetUsers failed")
        .into_inner();

    assert_eq!(total_only.total_results, 2);
    assert!(total_only.users.is_empty());
    let mut found: Vec<String> = batch.users.into_iter().map(|user| user.id).collect();
    found.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(batch.missing_ids, vec![missing]);
}

async fn stale_version_delete_aborted(stack: &TestStack) {
    let mut client = users(stack).await;
    let scim = stack.client();
    let id = scim
        .create_user(&user_body(
            &unique_email("grpc.versioned", DOMAIN),
            "Grpc",
            "Versioned",
        ))
        .await;
    scim.patch_ok(
        &id,
        &e2e_tests::fixtures::patch_body(
            serde_json::json!([{"op": "replace", "path": "title", "value": "Chef"}]),
        ),
    )
    .await;
    let version = client
        .get_user(GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            user_id: id.clone(),
        })
        .await
        .expect("GetUser failed")
        .into_inner()
        .user
        .and_then(|user| user.meta)
        .expect("user without meta")
        .version;

    let stale = client
        .delete_user(DeleteUserRequest {
            workspace_id: stack.workspace_id.clone(),
            user_id: id.clone(),
            expected_version: Some(version - 1),
        })
        .await;
    let current = client
        .delete_user(DeleteUserRequest {
            workspace_id: stack.workspace_id.clone(),
            user_id: id.clone(),
            expected_version: Some(version),
        })
        .await;

    assert_eq!(
        stale.expect_err("stale delete accepted").code(),
        Code::Aborted
    );
    assert!(current.is_ok(), "{current:?}");
    assert_eq!(scim.get(&format!("Users/{id}")).await.status, 404);
}

/// During a shutdown's readiness delay, every gRPC server reports
/// NOT_SERVING, so health-checking clients stop sending new calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_not_serving_during_shutdown() {
    let data_dir = e2e_tests::process::TempDir::new("e2e-grpc-health");
    let args = e2e_tests::stack::run_args(data_dir.path(), &["--readiness-delay", "3s"]);
    let stack = launcher::run::start(args).await.unwrap();
    let identity_addr = stack.identity_addr.unwrap();
    let groups_addr = stack.groups_addr.unwrap();
    let before = health_status(identity_addr, "").await;

    let stopping = tokio::spawn(stack.stop());
    let identity_after = wait_for_not_serving(identity_addr, "identity.v1.TokenService").await;
    let groups_after = wait_for_not_serving(groups_addr, "").await;
    stopping.await.unwrap();

    assert_eq!(before, ServingStatus::Serving);
    assert_eq!(identity_after, ServingStatus::NotServing);
    assert_eq!(groups_after, ServingStatus::NotServing);
}

async fn health_status(addr: std::net::SocketAddr, service: &str) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap();
    reply.into_inner().status()
}

/// Polls `service`'s health for up to 2 s, less than the readiness delay,
/// and returns the last status.
async fn wait_for_not_serving(addr: std::net::SocketAddr, service: &str) -> ServingStatus {
    let started = std::time::Instant::now();
    loop {
        let status = health_status(addr, service).await;
        if status == ServingStatus::NotServing
            || started.elapsed() > std::time::Duration::from_secs(2)
        {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
