//! SCIM tokens through the admin API: several active tokens, rotation with
//! an overlap window, and revocation effective on the very next request.
//! The split stack runs the gateway with Redis configured.

use e2e_tests::{TestStack, assertions::assert_error, client::http_client};
use reqwest::Method;
use serde_json::json;

use super::{AdminClient, scim_client, wait_for_status};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    several_tokens_work_at_once,
    rotation_overlap_then_only_new,
    revoked_token_rejected_next_request,
    token_list_hides_secrets,
    unknown_token_not_found,
);

async fn several_tokens_work_at_once(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (_, first) = admin.issue_token("entra").await;
    let (_, second) = admin.issue_token("backup").await;

    let first_status = scim_client(stack, &stack.workspace_id, &first)
        .get("Users")
        .await
        .status;
    let second_status = scim_client(stack, &stack.workspace_id, &second)
        .get("Users")
        .await
        .status;
    let demo_status = stack.client().get("Users").await.status;

    assert_eq!(first_status, 200);
    assert_eq!(second_status, 200);
    assert_eq!(demo_status, 200);
}

async fn rotation_overlap_then_only_new(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (old_id, old_secret) = admin.issue_token("okta").await;
    let old = scim_client(stack, &stack.workspace_id, &old_secret);

    let rotated = admin
        .ok(
            Method::POST,
            &format!("scim/tokens/{old_id}/rotate"),
            Some(json!({"overlap_seconds": 2})),
        )
        .await;
    let new = scim_client(
        stack,
        &stack.workspace_id,
        rotated["token"].as_str().unwrap(),
    );
    let old_during_overlap = old.get("Users").await.status;
    let new_during_overlap = new.get("Users").await.status;
    wait_for_status(&old, 401).await;

    assert_eq!(rotated["name"], "okta");
    assert_eq!(rotated["previous"]["id"], old_id.as_str());
    assert!(rotated["previous"]["expires"].is_string(), "{rotated}");
    assert_eq!(old_during_overlap, 200);
    assert_eq!(new_during_overlap, 200);
    assert_error(&old.get("Users").await, 401, None);
    assert_eq!(new.get("Users").await.status, 200);
}

async fn revoked_token_rejected_next_request(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (token_id, secret) = admin.issue_token("to revoke").await;
    let scim = scim_client(stack, &stack.workspace_id, &secret);
    assert_eq!(scim.get("Users").await.status, 200);

    let revoked = admin
        .ok(Method::DELETE, &format!("scim/tokens/{token_id}"), None)
        .await;
    let next = scim.get("Users").await;

    assert!(revoked["revoked"].is_string(), "{revoked}");
    assert_error(&next, 401, None);
    assert_eq!(
        stack.client().get("Users").await.status,
        200,
        "other tokens keep working"
    );
}

async fn token_list_hides_secrets(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (token_id, secret) = admin.issue_token("listed").await;

    let listed = admin.ok(Method::GET, "scim/tokens", None).await;
    let shown = admin.ok(Method::GET, "", None).await;

    let tokens = listed["tokens"].as_array().unwrap();
    let entry = tokens
        .iter()
        .find(|token| token["id"] == token_id.as_str())
        .unwrap();
    assert_eq!(entry["name"], "listed");
    assert_eq!(entry["prefix"], &secret[..12]);
    assert!(entry.get("token").is_none(), "{entry}");
    assert!(
        !listed.to_string().contains(&secret[12..]),
        "a list shows a secret"
    );
    assert!(
        !shown.to_string().contains(&secret[12..]),
        "the workspace view shows a secret"
    );
}

async fn unknown_token_not_found(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let rotate = admin
        .send(Method::POST, "scim/tokens/no-such-token/rotate", None)
        .await;
    let revoke = admin
        .send(Method::DELETE, "scim/tokens/no-such-token", None)
        .await;

    assert_eq!(rotate.status, 404, "{rotate}");
    assert_eq!(revoke.status, 404, "{revoke}");
}

/// The split gateway serves repeated requests of one token from the token
/// cache that identity-svc fills in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_gateway_reads_token_cache() {
    let Some(stack) =
        TestStack::split_with(env!("CARGO_BIN_EXE_scim-stack"), crate::admin::options()).await
    else {
        return;
    };
    let admin = AdminClient::for_demo(&stack);
    let (_, secret) = admin.issue_token("cached").await;
    let scim = scim_client(&stack, &stack.workspace_id, &secret);

    let statuses = [
        scim.get("Users").await.status,
        scim.get("Users").await.status,
        scim.get("Users").await.status,
    ];
    let metrics = http_client()
        .get(format!("http://{}/metrics", stack.http_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix(r#"scim_token_cache_requests_total{result="hit"} "#))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0);

    assert_eq!(statuses, [200, 200, 200]);
    assert!(hits >= 1.0, "no token cache hit in the gateway's metrics");
}
