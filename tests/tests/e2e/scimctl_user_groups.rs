//! `scimctl sync` and `scimctl user-groups` against running stacks: human
//! output, `--json` (a JSON array for the two lists), and a non-zero exit
//! for a rejected change, which leaves the User Group unchanged.

use std::process::Output;

use e2e_tests::{
    TestStack,
    fixtures::{DOMAIN, GROUP_URN, sorted, unique_email, unique_group_name, user_body},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    admin::{AdminClient, admin_token},
    admin_roles::wait_for_group,
};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    cli_sync_list_on_off,
    cli_sync_unknown_group_exits_nonzero,
    cli_user_groups_list_json_array,
    cli_user_groups_manual_lifecycle,
    cli_user_groups_members_json_array,
    cli_user_groups_add_to_synced_exits_nonzero,
    cli_user_groups_add_unknown_user_exits_nonzero,
    cli_user_groups_create_blank_exits_nonzero,
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

/// Creates SCIM users and an IdP group of them. Returns the group id and
/// the user ids.
async fn idp_group(stack: &TestStack, count: usize) -> (String, Vec<String>) {
    let scim = stack.client();
    let mut user_ids = Vec::new();
    for n in 0..count {
        let user_name = unique_email(&format!("cli.sync{n}"), DOMAIN);
        user_ids.push(
            scim.create_user(&user_body(&user_name, "Cli", "Sync"))
                .await,
        );
    }
    let members: Vec<Value> = user_ids.iter().map(|id| json!({"value": id})).collect();
    let group_id = scim
        .create_group(&json!({
            "schemas": [GROUP_URN],
            "displayName": unique_group_name("Cli Sync"),
            "members": members,
        }))
        .await;
    (group_id, user_ids)
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {items}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn cli_sync_list_on_off(stack: &TestStack) {
    let (group_id, _) = idp_group(stack, 2).await;
    let admin = AdminClient::for_demo(stack);
    wait_for_group(&admin, &group_id, 2).await;
    scimctl(stack, &["mappings", "set", &group_id, "viewer"]).await;

    let before = scimctl(stack, &["sync", "list"]).await;
    let on = scimctl(stack, &["sync", "on", &group_id]).await;
    let listed = scimctl_json(stack, &["sync", "list"]).await;
    let off = scimctl(stack, &["sync", "off", &group_id]).await;
    let off_again = scimctl_json(stack, &["sync", "off", &group_id]).await;

    let before_line = before
        .lines()
        .find(|line| line.starts_with(group_id.as_str()))
        .unwrap_or_else(|| panic!("no line for {group_id} in {before:?}"));
    assert!(before_line.contains("sync off"), "{before_line}");
    assert!(before_line.contains("2 members"), "{before_line}");
    assert!(before_line.contains("viewer"), "{before_line}");
    assert!(
        on.contains(&format!(
            "Sync on for IdP group {group_id}. Created User Group"
        )),
        "{on}"
    );
    assert!(on.contains("2 members"), "{on}");
    let entry = &listed["groups"][0];
    assert_eq!(entry["group_id"], group_id.as_str(), "{listed}");
    assert_eq!(entry["sync_enabled"], true, "{listed}");
    assert_eq!(entry["role"], "viewer", "{listed}");
    assert!(entry["user_group_id"].is_string(), "{listed}");
    assert!(off.contains("Its User Group was deleted"), "{off}");
    assert_eq!(off_again["changed"], false, "{off_again}");
}

async fn cli_sync_unknown_group_exits_nonzero(stack: &TestStack) {
    let unknown = Uuid::new_v4().to_string();

    let on = scimctl_rejected(stack, &["sync", "on", &unknown]).await;
    let off = scimctl_rejected(stack, &["sync", "off", &unknown]).await;

    assert!(on.contains("(GROUP_NOT_FOUND)"), "{on}");
    assert!(off.contains("(GROUP_NOT_FOUND)"), "{off}");
}

async fn cli_user_groups_list_json_array(stack: &TestStack) {
    let (group_id, _) = idp_group(stack, 1).await;
    let created = scimctl_json(stack, &["user-groups", "create", "Appellate"]).await;
    let synced = scimctl_json(stack, &["sync", "on", &group_id]).await;
    let manual_id = created["id"].as_str().unwrap().to_owned();
    let synced_id = synced["user_group"]["id"].as_str().unwrap().to_owned();

    let all = scimctl_json(stack, &["user-groups", "list"]).await;
    let idp_only = scimctl_json(stack, &["user-groups", "list", "--source", "idp"]).await;
    let human = scimctl(stack, &["user-groups", "list"]).await;
    let paged = run_scimctl(
        stack,
        &["--json", "user-groups", "list", "--page-size", "1"],
    )
    .await;

    assert_eq!(ids(&all), sorted(&[manual_id.as_str(), synced_id.as_str()]));
    for user_group in all.as_array().unwrap() {
        let expected_source = if user_group["id"] == manual_id.as_str() {
            "manual"
        } else {
            "idp"
        };
        assert_eq!(user_group["source"], expected_source, "{user_group}");
        assert!(user_group["name"].is_string(), "{user_group}");
        assert!(user_group["member_count"].is_i64(), "{user_group}");
    }
    assert_eq!(ids(&idp_only), [synced_id.as_str()]);
    assert_eq!(idp_only[0]["member_count"], 1, "{idp_only}");
    let manual_line = human
        .lines()
        .find(|line| line.contains(&manual_id))
        .unwrap_or_else(|| panic!("no line for {manual_id} in {human:?}"));
    assert!(manual_line.starts_with("manual"), "{manual_line}");
    assert!(manual_line.contains("Appellate"), "{manual_line}");
    let synced_line = human
        .lines()
        .find(|line| line.contains(&synced_id))
        .unwrap_or_else(|| panic!("no line for {synced_id} in {human:?}"));
    assert!(
        synced_line.contains(&format!("synced from IdP group {group_id}")),
        "{synced_line}"
    );
    let paged_stdout: Value = serde_json::from_slice(&paged.stdout).unwrap();
    assert_eq!(paged_stdout.as_array().unwrap().len(), 1, "{paged_stdout}");
    assert!(
        String::from_utf8_lossy(&paged.stderr).contains("--page-token"),
        "the next page token goes to standard error"
    );
}

async fn cli_user_groups_manual_lifecycle(stack: &TestStack) {
    let scim = stack.client();
    let user_id = scim
        .create_user(&user_body(
            &unique_email("cli.member", DOMAIN),
            "Cli",
            "Member",
        ))
        .await;

    let created = created_id(scimctl(stack, &["user-groups", "create", "Due Diligence"]).await);
    let added = scimctl(stack, &["user-groups", "add", &created, &user_id]).await;
    let added_again = scimctl(stack, &["user-groups", "add", &created, &user_id]).await;
    let members = scimctl(stack, &["user-groups", "members", &created]).await;
    let removed = scimctl_json(stack, &["user-groups", "remove", &created, &user_id]).await;
    let empty = scimctl(stack, &["user-groups", "members", &created]).await;
    let deleted = scimctl(stack, &["user-groups", "delete", &created]).await;
    let gone = scimctl_rejected(stack, &["user-groups", "members", &created]).await;

    assert!(
        added.contains("Added the user to User Group") && added.contains("1 members"),
        "{added}"
    );
    assert!(added_again.contains("already is a member"), "{added_again}");
    assert_eq!(members.trim(), user_id);
    assert_eq!(removed["changed"], true, "{removed}");
    assert_eq!(removed["user_group"]["member_count"], 0, "{removed}");
    assert_eq!(empty.trim(), "No members.");
    assert!(
        deleted.contains(&format!("Deleted User Group {created}.")),
        "{deleted}"
    );
    assert!(gone.contains("(USER_GROUP_NOT_FOUND)"), "{gone}");
}

/// Returns the User Group id from the output of `user-groups create`:
/// `Created User Group <id>  0 members  <name>.`
fn created_id(output: String) -> String {
    output
        .trim()
        .strip_prefix("Created User Group ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected create output {output:?}"))
        .to_owned()
}

async fn cli_user_groups_members_json_array(stack: &TestStack) {
    let (group_id, user_ids) = idp_group(stack, 3).await;
    let synced = scimctl_json(stack, &["sync", "on", &group_id]).await;
    let synced_id = synced["user_group"]["id"].as_str().unwrap().to_owned();

    let members = scimctl_json(stack, &["user-groups", "members", &synced_id]).await;
    let first_page = scimctl_json(
        stack,
        &["user-groups", "members", &synced_id, "--page-size", "2"],
    )
    .await;

    assert_eq!(ids(&members), sorted(&user_ids));
    for member in members.as_array().unwrap() {
        assert_eq!(
            member.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id"],
            "{member}"
        );
    }
    assert_eq!(ids(&first_page), sorted(&user_ids)[..2]);
}

async fn cli_user_groups_add_to_synced_exits_nonzero(stack: &TestStack) {
    let (group_id, user_ids) = idp_group(stack, 1).await;
    let outsider = stack
        .client()
        .create_user(&user_body(
            &unique_email("cli.outsider", DOMAIN),
            "Cli",
            "Outsider",
        ))
        .await;
    let synced = scimctl_json(stack, &["sync", "on", &group_id]).await;
    let synced_id = synced["user_group"]["id"].as_str().unwrap().to_owned();

    let add = scimctl_rejected(stack, &["user-groups", "add", &synced_id, &outsider]).await;
    let remove =
        scimctl_rejected(stack, &["user-groups", "remove", &synced_id, &user_ids[0]]).await;
    let delete = scimctl_rejected(stack, &["user-groups", "delete", &synced_id]).await;
    let members = scimctl_json(stack, &["user-groups", "members", &synced_id]).await;

    for stderr in [&add, &remove, &delete] {
        assert!(
            stderr.contains("identity provider manages this group"),
            "{stderr}"
        );
        assert!(stderr.contains("(IDP_MANAGED)"), "{stderr}");
    }
    assert_eq!(ids(&members), user_ids);
}

async fn cli_user_groups_add_unknown_user_exits_nonzero(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let created = admin
        .ok(
            Method::POST,
            "user-groups",
            Some(json!({"name": "Real Estate"})),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let unknown = Uuid::new_v4().to_string();

    let stderr = scimctl_rejected(stack, &["user-groups", "add", id, &unknown]).await;
    let members = scimctl_json(stack, &["user-groups", "members", id]).await;

    assert!(stderr.contains("not found in this workspace"), "{stderr}");
    assert!(stderr.contains("(USER_NOT_FOUND)"), "{stderr}");
    assert_eq!(members, json!([]));
}

async fn cli_user_groups_create_blank_exits_nonzero(stack: &TestStack) {
    let stderr = scimctl_rejected(stack, &["user-groups", "create", " "]).await;
    let listed = scimctl_json(stack, &["user-groups", "list"]).await;

    assert!(stderr.contains("name"), "{stderr}");
    assert_eq!(listed, json!([]));
}
