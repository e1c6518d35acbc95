//! `scimctl audit` against running stacks: `audit list` as a table and as
//! one JSON object per line, paging, and `audit export` to standard output
//! and to a file, with a non-zero exit for invalid filters.

use std::process::Output;

use e2e_tests::{
    TestStack,
    fixtures::{DOMAIN, patch_body, unique_email, user_body},
    process::TempDir,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    admin::{AdminClient, admin_token},
    admin_audit::wait_for_events,
};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    cli_audit_list_json_lines,
    cli_audit_list_table,
    cli_audit_list_pages,
    cli_audit_list_invalid_time_exits_nonzero,
    cli_audit_export_ndjson_to_stdout,
    cli_audit_export_csv_to_file,
    cli_audit_export_invalid_filter_writes_no_file,
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

/// Runs `scimctl`, asserts exit status 1 and returns its standard error.
async fn scimctl_rejected(stack: &TestStack, args: &[&str]) -> String {
    let output = run_scimctl(stack, args).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "scimctl {args:?}: {stderr}");
    stderr
}

/// Parses output of one JSON object per line, leaving out role changes,
/// which rbac-svc records for a new user a moment after its creation.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("line is not JSON ({error}): {line:?}"))
        })
        .filter(|event: &Value| !event["action"].as_str().unwrap().starts_with("role."))
        .collect()
}

/// Creates a SCIM user and changes its title, and waits until both events
/// are in the trail. Returns the user id.
async fn user_with_two_events(stack: &TestStack) -> String {
    let scim = stack.client();
    let user_name = unique_email("audit.cli", DOMAIN);
    let user_id = scim
        .create_user(&user_body(&user_name, "Audit", "Cli"))
        .await;
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "replace", "path": "title", "value": "Partner"}])),
    )
    .await;
    wait_for_events(
        &AdminClient::for_demo(stack),
        &format!("target={user_id}"),
        2,
    )
    .await;
    user_id
}

async fn cli_audit_list_json_lines(stack: &TestStack) {
    let user_id = user_with_two_events(stack).await;

    let stdout = scimctl(stack, &["--json", "audit", "list", "--target", &user_id]).await;

    let events = json_lines(&stdout);
    let actions: Vec<&str> = events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.updated", "user.created"], "{stdout}");
    for event in &events {
        assert!(event["id"].is_string(), "{event}");
        assert_eq!(event["target_id"], user_id.as_str(), "{event}");
        assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
    }
}

async fn cli_audit_list_table(stack: &TestStack) {
    let user_id = user_with_two_events(stack).await;

    let table = scimctl(
        stack,
        &[
            "audit",
            "list",
            "--target",
            &user_id,
            "--action",
            "user.created",
        ],
    )
    .await;
    let nothing = scimctl(stack, &["audit", "list", "--action", "no.such.action"]).await;

    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1, "{table}");
    assert!(lines[0].contains("user.created"), "{table}");
    assert!(lines[0].contains(&format!("user {user_id}")), "{table}");
    assert!(lines[0].contains("scim_token "), "{table}");
    assert_eq!(nothing.trim(), "No events.");
}

async fn cli_audit_list_pages(stack: &TestStack) {
    let subject = format!("cli-pager-{}", Uuid::new_v4());
    let token = gateway::admin::jwt::sign_hs256(
        crate::admin::ADMIN_KEY.as_bytes(),
        &subject,
        &stack.workspace_id,
        "admin",
        600,
    )
    .unwrap();
    let admin = AdminClient::new(stack, &stack.workspace_id, &token);
    admin.issue_token("first").await;
    admin.issue_token("second").await;
    wait_for_events(&admin, &format!("actor={subject}"), 2).await;

    let first = run_scimctl(
        stack,
        &[
            "--json",
            "audit",
            "list",
            "--actor",
            &subject,
            "--page-size",
            "1",
        ],
    )
    .await;
    let first_stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    let first_stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    let page_token = first_stderr
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let second = scimctl(
        stack,
        &[
            "--json",
            "audit",
            "list",
            "--actor",
            &subject,
            "--page-size",
            "1",
            "--page-token",
            &page_token,
        ],
    )
    .await;
    let human = scimctl(
        stack,
        &["audit", "list", "--actor", &subject, "--page-size", "1"],
    )
    .await;

    assert!(first.status.success(), "{first_stderr}");
    assert_eq!(json_lines(&first_stdout).len(), 1, "{first_stdout}");
    assert!(first_stderr.contains("--page-token"), "{first_stderr}");
    let events = json_lines(&second);
    assert_eq!(events.len(), 1, "{second}");
    assert_eq!(events[0]["action"], "token.issued", "{second}");
    assert_ne!(
        json_lines(&first_stdout)[0]["id"],
        events[0]["id"],
        "the second page starts after the first"
    );
    assert!(
        human.contains("More events: run `scimctl audit list --page-token"),
        "{human}"
    );
}

async fn cli_audit_list_invalid_time_exits_nonzero(stack: &TestStack) {
    let since = scimctl_rejected(stack, &["audit", "list", "--since", "yesterday"]).await;
    let page_size = scimctl_rejected(stack, &["audit", "list", "--page-size", "5000"]).await;

    assert!(since.contains("since"), "{since}");
    assert!(since.contains("RFC 3339"), "{since}");
    assert!(page_size.contains("page_size"), "{page_size}");
}

async fn cli_audit_export_ndjson_to_stdout(stack: &TestStack) {
    let user_id = user_with_two_events(stack).await;

    let stdout = scimctl(
        stack,
        &[
            "audit", "export", "--format", "ndjson", "--target", &user_id,
        ],
    )
    .await;

    let actions: Vec<String> = json_lines(&stdout)
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["user.created", "user.updated"], "oldest first");
}

async fn cli_audit_export_csv_to_file(stack: &TestStack) {
    let user_id = user_with_two_events(stack).await;
    let directory = TempDir::new("scimctl-export");
    let file = directory.path().join("audit.csv");
    let file_name = file.display().to_string();

    let stdout = scimctl(
        stack,
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--action",
            "user.updated",
            "--target",
            &user_id,
            "--output",
            &file_name,
        ],
    )
    .await;

    let written = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(lines.len(), 2, "{written}");
    assert!(lines[0].starts_with("id,workspace_id,time,"), "{written}");
    assert!(lines[1].contains(",user.updated,user,"), "{written}");
    assert!(lines[1].contains(&user_id), "{written}");
}

async fn cli_audit_export_invalid_filter_writes_no_file(stack: &TestStack) {
    let directory = TempDir::new("scimctl-export");
    let file = directory.path().join("audit.ndjson");
    let file_name = file.display().to_string();

    let stderr = scimctl_rejected(
        stack,
        &[
            "audit", "export", "--format", "ndjson", "--until", "soon", "--output", &file_name,
        ],
    )
    .await;
    let missing_format = run_scimctl(stack, &["audit", "export"]).await;

    assert!(stderr.contains("until"), "{stderr}");
    assert!(!file.exists(), "an export that failed left {file_name}");
    assert!(!missing_format.status.success());
}
