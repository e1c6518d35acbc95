//! Admin API authentication: admin and SCIM tokens are not interchangeable,
//! and a token reaches only the workspace it names, with the admin role.

use e2e_tests::{TestStack, assertions::assert_error};
use reqwest::Method;

use super::{ADMIN_KEY, AdminClient, admin_token, create_workspace};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    scim_token_rejected_on_admin_routes,
    admin_token_rejected_on_scim_routes,
    other_workspace_or_role_forbidden,
    invalid_admin_tokens_unauthenticated,
    unknown_admin_route_is_json_404,
);

async fn scim_token_rejected_on_admin_routes(stack: &TestStack) {
    let admin = AdminClient::new(stack, &stack.workspace_id, &stack.token);

    for (method, path) in [
        (Method::GET, ""),
        (Method::POST, "scim/disable"),
        (Method::GET, "scim/tokens"),
    ] {
        let response = admin.send(method, path, None).await;

        assert_eq!(response.status, 401, "{response}");
        assert_eq!(response.body["code"], "unauthenticated", "{response}");
    }
    assert_eq!(
        stack.client().get("Users").await.status,
        200,
        "SCIM stays enabled"
    );
}

async fn admin_token_rejected_on_scim_routes(stack: &TestStack) {
    let scim = stack
        .client()
        .with_token(&admin_token(&stack.workspace_id, "admin"));

    let list = scim.get("Users").await;
    let config = scim.get("ServiceProviderConfig").await;

    assert_error(&list, 401, None);
    assert_error(&config, 401, None);
}

async fn other_workspace_or_role_forbidden(stack: &TestStack) {
    let other_workspace = create_workspace(stack, true, true).await;
    let foreign = AdminClient::new(
        stack,
        &stack.workspace_id,
        &admin_token(&other_workspace, "admin"),
    );
    let member = AdminClient::new(
        stack,
        &stack.workspace_id,
        &admin_token(&stack.workspace_id, "member"),
    );

    let foreign_response = foreign.send(Method::POST, "scim/disable", None).await;
    let member_response = member.send(Method::GET, "", None).await;

    assert_eq!(foreign_response.status, 403, "{foreign_response}");
    assert_eq!(member_response.status, 403, "{member_response}");
    assert_eq!(
        stack.client().get("Users").await.status,
        200,
        "SCIM stays enabled"
    );
}

async fn invalid_admin_tokens_unauthenticated(stack: &TestStack) {
    let expired = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let claims = gateway::admin::jwt::AdminClaims {
            sub: "e2e-admin".to_owned(),
            workspace_id: stack.workspace_id.clone(),
            role: "admin".to_owned(),
            exp: gateway::admin::jwt::unix_now() - 3600,
        };
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(ADMIN_KEY.as_bytes()),
        )
        .unwrap()
    };
    let wrong_key = gateway::admin::jwt::sign_hs256(
        b"another-key-0123456789-0123456789",
        "e2e",
        &stack.workspace_id,
        "admin",
        600,
    )
    .unwrap();

    for token in ["", "not-a-jwt", expired.as_str(), wrong_key.as_str()] {
        let response = AdminClient::new(stack, &stack.workspace_id, token)
            .send(Method::GET, "", None)
            .await;

        assert_eq!(response.status, 401, "token {token:?}: {response}");
    }
}

async fn unknown_admin_route_is_json_404(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let response = admin.send(Method::GET, "no-such-thing", None).await;
    let wrong_method = admin.send(Method::DELETE, "scim/enable", None).await;

    assert_eq!(response.status, 404, "{response}");
    assert_eq!(wrong_method.status, 405, "{wrong_method}");
}
