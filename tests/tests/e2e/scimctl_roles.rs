//! `scimctl` commands of roles and group mappings against running stacks:
//! `roles`, `mappings`, `users role`, `users set-role` and `scim setup
//! --default-role`, with human output, `--json`, and a non-zero exit on a
//! rejected change.

use std::process::Output;

use e2e_tests::TestStack;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    admin::{AdminClient, admin_token},
    admin_roles::{known_group, known_scim_user, known_unmanaged_user, wait_for_user},
};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    cli_roles_list,
    cli_roles_default,
    cli_roles_default_unknown_exits_nonzero,
    cli_mappings_list,
    cli_mappings_set,
    cli_mappings_set_unknown_group_exits_nonzero,
    cli_mappings_remove,
    cli_mappings_preview_mapping,
    cli_mappings_preview_default_and_removal,
    cli_users_role,
    cli_users_set_role,
    cli_users_set_role_of_scim_user_exits_nonzero,
    cli_scim_setup_default_role,
    cli_scim_setup_unknown_default_role_exits_nonzero,
);

/// Runs `scimctl` against the stack's demo workspace with an admin token.
async fn run_scimctl(stack: &TestStack, args: &[&str]) -> Output {
    let url = format!("http://{}", stack.http_addr);
    let token = admin_token(&stack.workspace_id, "admin");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_scimctl"));
    command
        .args([
            "--url",
            &url,
            "--workspace",
            &stack.workspace_id,
            "--admin-token",
            &token,
        ])
        .args(args)
        .env_remove("SCIMCTL_URL")
        .env_remove("SCIMCTL_WORKSPACE")
        .env_remove("SCIMCTL_ADMIN_TOKEN")
        .env_remove("SCIMCTL_DEMO_FILE");
    command.output().await.expect("failed to run scimctl")
}

/// Runs `scimctl`, asserts success and returns its standard output.
async fn scimctl(stack: &TestStack, args: &[&str]) -> String {
    let output = run_scimctl(stack, args).await;
    assert!(
        output.status.success(),
        "scimctl {args:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `scimctl --json` and parses its output.
async fn scimctl_json(stack: &TestStack, args: &[&str]) -> Value {
    let mut with_json = vec!["--json"];
    with_json.extend_from_slice(args);
    let stdout = scimctl(stack, &with_json).await;
    serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("scimctl {args:?} printed no JSON ({error}): {stdout}"))
}

/// Runs `scimctl`, asserts exit status 1 and returns its standard error.
async fn scimctl_rejected(stack: &TestStack, args: &[&str]) -> String {
    let output = run_scimctl(stack, args).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "scimctl {args:?}: {stderr}");
    stderr
}

async fn default_role(stack: &TestStack) -> Value {
    AdminClient::for_demo(stack)
        .ok(Method::GET, "roles", None)
        .await["default_role"]
        .clone()
}

async fn cli_roles_list(stack: &TestStack) {
    let listed = scimctl_json(stack, &["roles", "list"]).await;
    let human = scimctl(stack, &["roles", "list"]).await;

    let roles: Vec<(&str, i64)> = listed["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| {
            (
                role["name"].as_str().unwrap(),
                role["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("admin", 40),
            ("manager", 30),
            ("member", 20),
            ("viewer", 10)
        ],
        "{listed}"
    );
    assert_eq!(listed["default_role"], "member", "{listed}");
    let member_line = human
        .lines()
        .find(|line| line.starts_with("member "))
        .unwrap_or_else(|| panic!("no member line in {human:?}"));
    assert!(member_line.contains("(default)"), "{human}");
}

async fn cli_roles_default(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_unmanaged_user(&admin).await;

    let changed = scimctl_json(stack, &["roles", "default", "viewer"]).await;
    let human = scimctl(stack, &["roles", "default", "manager"]).await;

    assert_eq!(changed["previous_role"], "member", "{changed}");
    assert_eq!(changed["changed_users"], 1, "{changed}");
    assert!(
        human.contains("previously viewer; 1 user changed role"),
        "{human}"
    );
    assert_eq!(default_role(stack).await, "manager");
    assert_eq!(wait_for_user(&admin, &user_id).await["role"], "manager");
}

async fn cli_roles_default_unknown_exits_nonzero(stack: &TestStack) {
    let stderr = scimctl_rejected(stack, &["roles", "default", "owner"]).await;

    assert!(stderr.contains("\"owner\""), "{stderr}");
    assert!(stderr.contains("(UNKNOWN_ROLE)"), "{stderr}");
    assert_eq!(default_role(stack).await, "member");
}

async fn cli_mappings_list(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, _) = known_group(stack, &admin, 2).await;

    let listed = scimctl_json(stack, &["mappings", "list"]).await;
    let human = scimctl(stack, &["mappings", "list"]).await;
    let mapped_only = scimctl_json(stack, &["mappings", "list", "--mapped-only"]).await;

    let entry = listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mapping| mapping["group_id"] == group_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("group {group_id} not listed: {listed}"));
    assert_eq!(entry["member_count"], 2, "{entry}");
    assert!(entry["role"].is_null(), "{entry}");
    let group_line = human
        .lines()
        .find(|line| line.starts_with(group_id.as_str()))
        .unwrap_or_else(|| panic!("no line for {group_id} in {human:?}"));
    assert!(group_line.contains("(unmapped)"), "{group_line}");
    assert_eq!(
        mapped_only["mappings"],
        serde_json::json!([]),
        "{mapped_only}"
    );
}

async fn cli_mappings_set(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 1).await;

    let changed = scimctl_json(stack, &["mappings", "set", &group_id, "manager"]).await;
    let human = scimctl(stack, &["mappings", "set", &group_id, "admin"]).await;
    let role = scimctl_json(stack, &["users", "role", &user_ids[0]]).await;

    assert!(changed["previous_role"].is_null(), "{changed}");
    assert_eq!(changed["changed_users"], 1, "{changed}");
    assert!(
        human.contains("Mapping saved (previously manager; 1 user changed role)"),
        "{human}"
    );
    assert_eq!(role["role"], "admin", "{role}");
}

async fn cli_mappings_set_unknown_group_exits_nonzero(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, _) = known_group(stack, &admin, 1).await;
    let unknown_group = Uuid::new_v4().to_string();

    let missing_group =
        scimctl_rejected(stack, &["mappings", "set", &unknown_group, "manager"]).await;
    let unknown_role = scimctl_rejected(stack, &["mappings", "set", &group_id, "owner"]).await;
    let listed = scimctl_json(stack, &["mappings", "list", "--mapped-only"]).await;

    assert!(missing_group.contains("not found"), "{missing_group}");
    assert!(
        missing_group.contains("(GROUP_NOT_FOUND)"),
        "{missing_group}"
    );
    assert!(unknown_role.contains("(UNKNOWN_ROLE)"), "{unknown_role}");
    assert_eq!(listed["mappings"], serde_json::json!([]), "{listed}");
}

async fn cli_mappings_remove(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 1).await;
    scimctl(stack, &["mappings", "set", &group_id, "manager"]).await;

    let removed = scimctl_json(stack, &["mappings", "remove", &group_id]).await;
    let again = scimctl_rejected(stack, &["mappings", "remove", &group_id]).await;
    let role = scimctl_json(stack, &["users", "role", &user_ids[0]]).await;

    assert_eq!(removed["previous_role"], "manager", "{removed}");
    assert_eq!(removed["changed_users"], 1, "{removed}");
    assert!(again.contains("(MAPPING_NOT_FOUND)"), "{again}");
    assert_eq!(role["role"], "member", "{role}");
}

async fn cli_mappings_preview_mapping(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 2).await;

    let preview = scimctl_json(stack, &["mappings", "preview", &group_id, "manager"]).await;
    let human = scimctl(stack, &["mappings", "preview", &group_id, "manager"]).await;
    let role = scimctl_json(stack, &["users", "role", &user_ids[0]]).await;
    let applied = scimctl_json(stack, &["mappings", "set", &group_id, "manager"]).await;

    assert_eq!(preview["changed_users"], 2, "{preview}");
    assert!(
        human.contains("2 users would change role; nothing was applied."),
        "{human}"
    );
    assert!(human.contains("member -> manager  2 users"), "{human}");
    assert_eq!(role["role"], "member", "{role}");
    assert_eq!(
        applied["changed_users"], preview["changed_users"],
        "{applied}"
    );
}

async fn cli_mappings_preview_default_and_removal(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, _) = known_group(stack, &admin, 1).await;
    known_unmanaged_user(&admin).await;

    let default_preview = scimctl_json(
        stack,
        &[
            "mappings",
            "preview",
            "--default-role",
            "viewer",
            "--sample-size",
            "1",
        ],
    )
    .await;
    let unmapped_removal =
        scimctl_rejected(stack, &["mappings", "preview", "--remove", &group_id]).await;
    scimctl(stack, &["mappings", "set", &group_id, "admin"]).await;
    let removal = scimctl_json(stack, &["mappings", "preview", "--remove", &group_id]).await;

    // Both users have the default role: the SCIM user and the one created
    // outside SCIM.
    assert_eq!(default_preview["changed_users"], 2, "{default_preview}");
    assert_eq!(
        default_preview["sample"].as_array().unwrap().len(),
        1,
        "{default_preview}"
    );
    assert_eq!(default_role(stack).await, "member");
    assert!(
        unmapped_removal.contains("(MAPPING_NOT_FOUND)"),
        "{unmapped_removal}"
    );
    assert_eq!(
        removal["transitions"],
        serde_json::json!([{"from_role": "admin", "to_role": "member", "users": 1}]),
    );
}

async fn cli_users_role(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_scim_user(stack, &admin).await;

    let role = scimctl_json(stack, &["users", "role", &user_id]).await;
    let human = scimctl(stack, &["users", "role", &user_id]).await;

    assert_eq!(role["role"], "member", "{role}");
    assert_eq!(role["source"], "default", "{role}");
    assert!(human.contains("Role        member (rank 20)"), "{human}");
    assert!(
        human.contains("Source      the workspace's default role"),
        "{human}"
    );
}

async fn cli_users_set_role(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_unmanaged_user(&admin).await;

    let set = scimctl_json(stack, &["users", "set-role", &user_id, "manager"]).await;
    let human = scimctl(stack, &["users", "set-role", &user_id, "viewer"]).await;

    assert_eq!(set["role"], "manager", "{set}");
    assert_eq!(set["source"], "manual", "{set}");
    assert!(human.contains("Role        viewer (rank 10)"), "{human}");
    assert!(human.contains("Source      set by an admin"), "{human}");
}

async fn cli_users_set_role_of_scim_user_exits_nonzero(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_scim_user(stack, &admin).await;

    let stderr = scimctl_rejected(stack, &["users", "set-role", &user_id, "admin"]).await;
    let role = scimctl_json(stack, &["users", "role", &user_id]).await;

    assert!(
        stderr.contains("identity provider's group mappings"),
        "{stderr}"
    );
    assert!(stderr.contains("(ROLE_MANAGED_BY_SCIM)"), "{stderr}");
    assert_eq!(role["role"], "member", "{role}");
}

async fn cli_scim_setup_default_role(stack: &TestStack) {
    let workspace = scimctl_json(
        stack,
        &["scim", "setup", "--idp", "okta", "--default-role", "viewer"],
    )
    .await;
    let human = scimctl(
        stack,
        &[
            "scim",
            "setup",
            "--idp",
            "entra",
            "--default-role",
            "manager",
        ],
    )
    .await;

    assert_eq!(workspace["identity_provider"], "okta", "{workspace}");
    assert_eq!(workspace["default_role"]["role"], "viewer", "{workspace}");
    assert!(human.contains("IdP         entra"), "{human}");
    assert!(
        human.contains("Default role manager (previously viewer; 0 users changed role)"),
        "{human}"
    );
    assert_eq!(default_role(stack).await, "manager");
}

async fn cli_scim_setup_unknown_default_role_exits_nonzero(stack: &TestStack) {
    scimctl(stack, &["scim", "setup", "--idp", "entra"]).await;

    let stderr = scimctl_rejected(
        stack,
        &["scim", "setup", "--idp", "okta", "--default-role", "owner"],
    )
    .await;
    let workspace = scimctl_json(stack, &["workspace", "show"]).await;

    assert!(stderr.contains("Unknown role \"owner\""), "{stderr}");
    assert_eq!(workspace["identity_provider"], "entra", "{workspace}");
    assert_eq!(default_role(stack).await, "member");
}
