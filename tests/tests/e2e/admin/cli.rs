//! `scimctl` against running stacks: the binary is built with this test
//! crate and talks to the gateway over HTTP, as an admin's terminal does.

use std::process::Output;

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    client::encode_percent,
    fixtures::{DOMAIN, okta_user_body, patch_body, unique_email},
};
use serde_json::{Value, json};

use super::{admin_token, scim_client, wait_for_status};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    cli_disable_and_enable_scim,
    cli_token_issue_rotate_revoke,
    cli_created_user_adopted_by_idp,
    cli_manages_domains,
    cli_errors_exit_nonzero,
);

/// Runs `scimctl` for the stack's demo workspace with `token`.
async fn scimctl_with(stack: &TestStack, token: &str, args: &[&str]) -> Output {
    let url = format!("http://{}", stack.http_addr);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_scimctl"));
    command
        .args([
            "--url",
            &url,
            "--workspace",
            &stack.workspace_id,
            "--admin-token",
            token,
        ])
        .args(args)
        .env_remove("SCIMCTL_URL")
        .env_remove("SCIMCTL_WORKSPACE")
        .env_remove("SCIMCTL_ADMIN_TOKEN")
        .env_remove("SCIMCTL_DEMO_FILE");
    command.output().await.expect("failed to run scimctl")
}

/// Runs `scimctl` with an admin token and asserts success.
async fn scimctl(stack: &TestStack, args: &[&str]) -> String {
    let output = scimctl_with(stack, &admin_token(&stack.workspace_id, "admin"), args).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "scimctl {args:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `scimctl --json` and parses its output.
async fn scimctl_json(stack: &TestStack, args: &[&str]) -> Value {
    let mut with_json = vec!["--json"];
    with_json.extend_from_slice(args);
    let stdout = scimctl(stack, &with_json).await;
    serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("scimctl {args:?} printed no JSON ({error}): {stdout}"))
}

async fn cli_disable_and_enable_scim(stack: &TestStack) {
    let scim = stack.client();

    let shown = scimctl_json(stack, &["workspace", "show"]).await;
    let disabled = scimctl(stack, &["scim", "disable"]).await;
    let while_disabled = scim.get("Users").await;
    let enabled = scimctl(stack, &["scim", "enable"]).await;

    assert_eq!(shown["scim_enabled"], true);
    assert_eq!(shown["workspace_id"], stack.workspace_id.as_str());
    assert!(disabled.contains("SCIM        disabled"), "{disabled}");
    assert_error(&while_disabled, 403, None);
    assert!(enabled.contains("SCIM        enabled"), "{enabled}");
    assert_eq!(scim.get("Users").await.status, 200);
}

async fn cli_token_issue_rotate_revoke(stack: &TestStack) {
    let issued = scimctl_json(
        stack,
        &["token", "issue", "--name", "cli", "--expires-in", "90d"],
    )
    .await;
    let secret = issued["token"].as_str().unwrap().to_owned();
    let token_id = issued["id"].as_str().unwrap().to_owned();
    let old = scim_client(stack, &stack.workspace_id, &secret);
    let listed = scimctl_json(stack, &["token", "list"]).await;
    let human_list = scimctl(stack, &["token", "list"]).await;

    let rotated = scimctl_json(stack, &["token", "rotate", &token_id, "--overlap", "2s"]).await;
    let new_secret = rotated["token"].as_str().unwrap().to_owned();
    let new_id = rotated["id"].as_str().unwrap().to_owned();
    let new = scim_client(stack, &stack.workspace_id, &new_secret);
    let new_during_overlap = new.get("Users").await.status;
    wait_for_status(&old, 401).await;
    let revoked = scimctl(stack, &["token", "revoke", &new_id]).await;

    assert!(secret.starts_with("scim_"), "{issued}");
    assert!(issued["expires"].is_string(), "{issued}");
    let ids: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|token| token["id"].as_str())
        .collect();
    assert!(ids.contains(&token_id.as_str()), "{listed}");
    assert!(human_list.contains(&token_id), "{human_list}");
    assert!(
        !human_list.contains(&secret[12..]),
        "token list printed a secret"
    );
    assert!(new_secret.starts_with("scim_"), "{rotated}");
    assert_eq!(new_during_overlap, 200);
    assert!(revoked.contains(&new_id), "{revoked}");
    assert_error(&new.get("Users").await, 401, None);
}

async fn cli_created_user_adopted_by_idp(stack: &TestStack) {
    let email = unique_email("adopted", DOMAIN);
    let created = scimctl_json(stack, &["users", "create", &email, "--given-name", "Ada"]).await;
    let user_id = created["id"].as_str().unwrap().to_owned();
    let scim = stack.client();
    let entra = stack.client().with_base_query("aadOptscim062020");

    let okta_filter = scim
        .get(&format!(
            "Users?filter={}&startIndex=1&count=100",
            encode_percent(&format!("userName eq \"{email}\""))
        ))
        .await;
    let entra_filter = entra
        .filter_users(&format!("userName eq \"{email}\""))
        .await;
    let email_filter = scim
        .filter_users(&format!("emails[type eq \"work\"].value eq \"{email}\""))
        .await;
    entra
        .patch_ok(
            &user_id,
            &patch_body(
                json!([{"op": "Replace", "path": "externalId", "value": "entra-object-1"}]),
            ),
        )
        .await;
    let shown = scimctl_json(stack, &["users", "show", &user_id]).await;

    assert_eq!(created["scim_managed"], false);
    assert_eq!(created["active"], true);
    assert_eq!(okta_filter.status, 200, "{okta_filter}");
    assert_list(&okta_filter.body, 1, &[&user_id]);
    assert_list(&entra_filter, 1, &[&user_id]);
    assert_list(&email_filter, 1, &[&user_id]);
    assert_eq!(shown["scim_managed"], true, "{shown}");
    assert_eq!(shown["external_id"], "entra-object-1");

    // Okta adopts with a full PUT.
    let okta_email = unique_email("okta.adopted", DOMAIN);
    let okta_user = scimctl_json(stack, &["users", "create", &okta_email]).await;
    let okta_id = okta_user["id"].as_str().unwrap().to_owned();
    let replaced = scim
        .put(
            &format!("Users/{okta_id}"),
            &okta_user_body(&okta_email, "Okta", "Adopted", "S3cret!pass"),
        )
        .await;
    let okta_shown = scimctl_json(stack, &["users", "show", &okta_id]).await;

    assert_eq!(okta_user["scim_managed"], false);
    assert_eq!(replaced.status, 200, "{replaced}");
    assert_eq!(okta_shown["scim_managed"], true, "{okta_shown}");
}

async fn cli_manages_domains(stack: &TestStack) {
    let added = scimctl_json(stack, &["domains", "add", "*.Example.com"]).await;
    let listed = scimctl(stack, &["domains", "list"]).await;
    let removed = scimctl_json(stack, &["domains", "remove", "*.example.com"]).await;

    assert_eq!(added["domains"], json!(["*.example.com", "example.com"]));
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        vec!["*.example.com", "example.com"]
    );
    assert_eq!(removed["domains"], json!(["example.com"]));
}

async fn cli_errors_exit_nonzero(stack: &TestStack) {
    let admin = admin_token(&stack.workspace_id, "admin");

    let missing_domain =
        scimctl_with(stack, &admin, &["domains", "remove", "not-listed.example"]).await;
    let outside_domain =
        scimctl_with(stack, &admin, &["users", "create", "eve@evilexample.com"]).await;
    let bad_token = scimctl_with(stack, "not-a-jwt", &["workspace", "show"]).await;
    let member = scimctl_with(
        stack,
        &admin_token(&stack.workspace_id, "member"),
        &["scim", "disable"],
    )
    .await;

    for (output, expected) in [
        (&missing_domain, "not one of the workspace's domains"),
        (&outside_domain, "Invalid value for emails"),
        (&bad_token, "Authentication failed"),
        (&member, "does not grant the admin role"),
    ] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr:?}"
        );
    }
    assert_eq!(
        stack.client().get("Users").await.status,
        200,
        "SCIM stays enabled"
    );
}
