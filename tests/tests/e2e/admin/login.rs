//! Login checks over gRPC: with SCIM on, only provisioned active users may
//! sign in; with SCIM off the workspace is not SCIM-managed.

use e2e_tests::{
    TestStack,
    fixtures::{DOMAIN, patch_body, unique_email, user_body},
};
use proto::identity::v1::{
    CheckLoginRequest, LoginDecision, check_login_request::Subject,
    user_service_client::UserServiceClient,
};
use reqwest::Method;
use serde_json::json;

use super::AdminClient;

e2e_tests::stack_tests!(
    options: crate::admin::options();
    login_allows_active_provisioned_user,
    login_denies_unprovisioned_user,
    login_denies_deactivated_user,
    login_with_scim_off_not_managed,
);

async fn check(stack: &TestStack, subject: Subject) -> (LoginDecision, String) {
    let response = UserServiceClient::new(stack.identity_channel().await)
        .check_login(CheckLoginRequest {
            workspace_id: stack.workspace_id.clone(),
            subject: Some(subject),
        })
        .await
        .unwrap()
        .into_inner();
    (response.decision(), response.user_id)
}

async fn login_allows_active_provisioned_user(stack: &TestStack) {
    let email = unique_email("ada", DOMAIN);
    let user_id = stack
        .client()
        .create_user(&user_body(&email, "Ada", "Lovelace"))
        .await;

    let by_email = check(stack, Subject::Email(email.to_uppercase())).await;
    let by_id = check(stack, Subject::UserId(user_id.clone())).await;

    assert_eq!(by_email, (LoginDecision::Allowed, user_id.clone()));
    assert_eq!(by_id, (LoginDecision::Allowed, user_id));
}

async fn login_denies_unprovisioned_user(stack: &TestStack) {
    let decision = check(stack, Subject::Email(unique_email("nobody", DOMAIN))).await;

    assert_eq!(decision.0, LoginDecision::DeniedNotProvisioned);
}

async fn login_denies_deactivated_user(stack: &TestStack) {
    let scim = stack.client();
    let email = unique_email("grace", DOMAIN);
    let user_id = scim
        .create_user(&user_body(&email, "Grace", "Hopper"))
        .await;

    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;
    let decision = check(stack, Subject::Email(email)).await;

    assert_eq!(decision, (LoginDecision::DeniedInactive, user_id));
}

async fn login_with_scim_off_not_managed(stack: &TestStack) {
    let email = unique_email("edsger", DOMAIN);
    stack
        .client()
        .create_user(&user_body(&email, "Edsger", "Dijkstra"))
        .await;
    AdminClient::for_demo(stack)
        .ok(Method::POST, "scim/disable", None)
        .await;

    let decision = check(stack, Subject::Email(email)).await;

    assert_eq!(decision.0, LoginDecision::NotScimManaged);
}
