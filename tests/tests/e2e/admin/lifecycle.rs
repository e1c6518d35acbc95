//! Enabling, disabling and resetting SCIM through the admin API, and what
//! each does to the SCIM routes.

use e2e_tests::{
    TestStack,
    assertions::assert_error,
    fixtures::{DOMAIN, group_body, member_values, unique_email, unique_group_name, user_body},
};
use proto::identity::v1::{ListUsersRequest, user_service_client::UserServiceClient};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{AdminClient, admin_token, create_workspace, scim_client};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    enable_without_sso_names_sso,
    enable_without_entitlement_names_it,
    disabled_workspace_rejects_every_route,
    setup_entra_adds_url_flag,
    reset_revokes_tokens_keeps_users,
);

/// Returns every SCIM route with a method it serves.
fn routes() -> Vec<(Method, String)> {
    let id = Uuid::new_v4();
    vec![
        (Method::GET, "Users".to_owned()),
        (Method::POST, "Users".to_owned()),
        (Method::POST, "Users/.search".to_owned()),
        (Method::GET, format!("Users/{id}")),
        (Method::PUT, format!("Users/{id}")),
        (Method::PATCH, format!("Users/{id}")),
        (Method::DELETE, format!("Users/{id}")),
        (Method::GET, "Groups".to_owned()),
        (Method::POST, "Groups".to_owned()),
        (Method::GET, format!("Groups/{id}")),
        (Method::PATCH, format!("Groups/{id}")),
        (Method::DELETE, format!("Groups/{id}")),
        (Method::POST, ".search".to_owned()),
        (Method::GET, "ServiceProviderConfig".to_owned()),
        (Method::GET, "Schemas".to_owned()),
        (Method::GET, "ResourceTypes".to_owned()),
    ]
}

async fn user_count(stack: &TestStack, workspace_id: &str) -> i64 {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        ..ListUsersRequest::default()
    };
    UserServiceClient::new(stack.identity_channel().await)
        .list_users(request)
        .await
        .unwrap()
        .into_inner()
        .total_results
}

async fn enable_without_sso_names_sso(stack: &TestStack) {
    let workspace_id = create_workspace(stack, false, true).await;
    let admin = AdminClient::new(stack, &workspace_id, &admin_token(&workspace_id, "admin"));

    let response = admin.send(Method::POST, "scim/enable", None).await;

    assert_eq!(response.status, 409, "{response}");
    assert_eq!(response.body["reason"], "SSO_NOT_ENABLED", "{response}");
    assert!(
        response.body["message"].as_str().unwrap().contains("SSO"),
        "{response}"
    );
    let shown = admin.ok(Method::GET, "", None).await;
    assert_eq!(shown["scim_enabled"], false);
}

async fn enable_without_entitlement_names_it(stack: &TestStack) {
    let workspace_id = create_workspace(stack, true, false).await;
    let admin = AdminClient::new(stack, &workspace_id, &admin_token(&workspace_id, "admin"));

    let response = admin.send(Method::POST, "scim/enable", None).await;

    assert_eq!(response.status, 409, "{response}");
    assert_eq!(response.body["reason"], "SCIM_NOT_ENTITLED", "{response}");
}

async fn disabled_workspace_rejects_every_route(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let scim = stack.client();
    let email = unique_email("kept", DOMAIN);
    scim.create_user(&user_body(&email, "Kept", "User")).await;

    let disabled = admin.ok(Method::POST, "scim/disable", None).await;
    for (method, path) in routes() {
        let response = scim
            .send(
                scim.request(method.clone(), &path)
                    .header("Content-Type", "application/scim+json")
                    .body("{}"),
            )
            .await;

        assert_error(&response, 403, None);
        let detail = response.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("disabled"), "{method} {path}: {response}");
    }
    let enabled = admin.ok(Method::POST, "scim/enable", None).await;
    let listed = scim.filter_users(&format!("userName eq \"{email}\"")).await;

    assert_eq!(disabled["scim_enabled"], false);
    assert_eq!(
        disabled["tokens"].as_array().unwrap().len(),
        1,
        "disable keeps tokens: {disabled}"
    );
    assert_eq!(enabled["scim_enabled"], true);
    assert_eq!(listed["totalResults"], 1);
}

async fn setup_entra_adds_url_flag(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let entra = admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "entra"})),
        )
        .await;
    let okta = admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "okta"})),
        )
        .await;
    let invalid = admin
        .send(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "ping"})),
        )
        .await;

    let base = format!("http://{}/scim/v2/{}", stack.http_addr, stack.workspace_id);
    assert_eq!(entra["identity_provider"], "entra");
    assert_eq!(entra["scim_url"], format!("{base}?aadOptscim062020"));
    assert_eq!(okta["identity_provider"], "okta");
    assert_eq!(okta["scim_url"], base);
    assert_eq!(invalid.status, 400, "{invalid}");
    assert_eq!(invalid.body["field"], "identity_provider");
}

async fn reset_revokes_tokens_keeps_users(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let scim = stack.client();
    let member = scim
        .create_user(&user_body(
            &unique_email("before", DOMAIN),
            "Before",
            "Reset",
        ))
        .await;
    let group_name = unique_group_name("Reset");
    let group_id = scim
        .create_group(&group_body(&group_name, &[&member]))
        .await;
    admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "okta"})),
        )
        .await;
    let users_before = user_count(stack, &stack.workspace_id).await;

    let reset = admin.send(Method::POST, "scim/reset", None).await;

    assert_eq!(reset.status, 200, "{reset}");
    assert_eq!(reset.body["reset_pending"], json!([]), "{reset}");
    assert_error(&scim.get("Users").await, 401, None);
    assert_eq!(user_count(stack, &stack.workspace_id).await, users_before);
    let shown = admin.ok(Method::GET, "", None).await;
    assert_eq!(shown["scim_enabled"], false);
    assert_eq!(shown["identity_provider"], serde_json::Value::Null);
    assert_eq!(shown["tokens"], json!([]));
    assert_eq!(shown["reset_pending"], json!([]));

    // After a completed reset, SCIM can be enabled again and a new token
    // provisions users and groups.
    admin.ok(Method::POST, "scim/enable", None).await;
    let (_, secret) = admin.issue_token("after reset").await;
    let fresh = scim_client(stack, &stack.workspace_id, &secret);
    let old_group = fresh.get(&format!("Groups/{group_id}")).await;
    assert_error(&old_group, 404, None);
    let groups = fresh.get("Groups").await;
    assert_eq!(groups.status, 200, "{groups}");
    assert_eq!(groups.body["totalResults"], 0, "{groups}");

    fresh
        .create_user(&user_body(&unique_email("after", DOMAIN), "After", "Reset"))
        .await;
    let recreated = fresh
        .create_group(&group_body(&group_name, &[&member]))
        .await;
    assert_eq!(
        user_count(stack, &stack.workspace_id).await,
        users_before + 1
    );
    assert_ne!(recreated, group_id);
    assert_eq!(
        member_values(&fresh.get_group(&recreated).await),
        vec![member]
    );
}
