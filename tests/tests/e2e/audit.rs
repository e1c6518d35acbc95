//! The audit trail end to end: Entra ID's and Okta's request sequences go
//! through the gateway, every service delivers its events to audit-svc
//! through its outbox, and the trail contains exactly one event per change,
//! none for reads, no secrets, and nothing lost while audit-svc is down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use e2e_tests::{
    ScimClient, TestStack,
    audit_check::fetch_events,
    fixtures::{
        DOMAIN, GROUP_URN, entra_user_body, okta_user_body, patch_body, unique_email,
        unique_group_name,
    },
};
use proto::audit::v1::{
    ExportAuditEventsRequest, ExportFormat, audit_service_client::AuditServiceClient,
};
use proto::identity::v1::{
    IssueScimTokenRequest, RotateScimTokenRequest, token_service_client::TokenServiceClient,
};
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    entra_sequence_one_event_per_change,
    okta_sequence_one_event_per_change,
    secrets_never_reach_the_trail,
);

/// Maximum wait for audit-svc to receive every event: twice the relays'
/// longest retry interval (30 s), so a delivery that failed under load and
/// backed off is still waited for.
const CATCH_UP: Duration = Duration::from_secs(60);

/// Returns the actions recorded for `target_id`, oldest first, once they
/// equal `expected` or the wait ends. Only user, group and token actions
/// are compared; role changes are checked elsewhere.
async fn actions_for(stack: &TestStack, target_id: &str, expected: &[&str]) -> Vec<String> {
    let mut audit = AuditServiceClient::new(stack.audit_channel().await);
    let started = Instant::now();
    loop {
        let actions: Vec<String> = fetch_events(&mut audit, &stack.workspace_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.target_id == target_id)
            .filter(|event| !event.action.starts_with("role."))
            .map(|event| event.action)
            .collect();
        if actions == expected || started.elapsed() > CATCH_UP {
            return actions;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_entra_user(scim: &ScimClient) -> String {
    let user_name = unique_email("audit", DOMAIN);
    let email = unique_email("audit.mail", DOMAIN);
    let body = entra_user_body(
        &user_name,
        &email,
        "Audit",
        "Subject",
        &Uuid::new_v4().to_string(),
    );
    scim.create_user(&body).await
}

async fn entra_sequence_one_event_per_change(stack: &TestStack) {
    let scim = stack.client();
    let user_id = create_entra_user(&scim).await;
    let member_id = create_entra_user(&scim).await;
    // Reads change nothing.
    scim.get_user(&user_id).await;
    scim.filter_users(&format!(r#"id eq "{user_id}""#)).await;
    // Two attributes in one PATCH give one event.
    scim.patch_ok(
        &user_id,
        &patch_body(json!([
            {"op": "Replace", "path": "title", "value": "Counsel"},
            {"op": "Replace", "path": "active", "value": "False"},
        ])),
    )
    .await;
    // Setting the current value again changes nothing.
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "Replace", "path": "title", "value": "Counsel"}])),
    )
    .await;
    let group_id = scim
        .create_group(&json!({
            "schemas": [GROUP_URN],
            "externalId": Uuid::new_v4().to_string(),
            "displayName": unique_group_name("Audit Group"),
        }))
        .await;
    scim.patch_group_ok(
        &group_id,
        &patch_body(json!([{"op": "Add", "path": "members", "value": [{"value": member_id}]}])),
    )
    .await;
    scim.get_group(&group_id).await;
    scim.patch_group_ok(
        &group_id,
        &patch_body(json!([{"op": "Remove", "path": "members", "value": [{"value": member_id}]}])),
    )
    .await;
    scim.patch_group_ok(
        &group_id,
        &patch_body(json!([{"op": "Replace", "path": "displayName", "value": unique_group_name("Renamed")}])),
    )
    .await;
    assert_eq!(scim.delete(&format!("Users/{member_id}")).await.status, 204);

    let user_actions = actions_for(stack, &user_id, &["user.created", "user.deactivated"]).await;
    let member_actions = actions_for(stack, &member_id, &["user.created", "user.deleted"]).await;
    let group_actions = actions_for(
        stack,
        &group_id,
        &[
            "group.created",
            "group.members_added",
            "group.members_removed",
            "group.renamed",
        ],
    )
    .await;

    assert_eq!(user_actions, ["user.created", "user.deactivated"]);
    assert_eq!(member_actions, ["user.created", "user.deleted"]);
    assert_eq!(
        group_actions,
        [
            "group.created",
            "group.members_added",
            "group.members_removed",
            "group.renamed"
        ]
    );
    let mut audit = AuditServiceClient::new(stack.audit_channel().await);
    let events = fetch_events(&mut audit, &stack.workspace_id).await.unwrap();
    let deactivated = events
        .iter()
        .find(|event| event.target_id == user_id && event.action == "user.deactivated")
        .unwrap();
    let mut changed: Vec<&str> = deactivated
        .changes
        .iter()
        .map(|change| change.attribute.as_str())
        .collect();
    changed.sort_unstable();
    assert_eq!(changed, ["active", "title"]);
    assert_eq!(deactivated.actor_type, "scim_token");
    assert!(!deactivated.request_id.is_empty());
}

async fn okta_sequence_one_event_per_change(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("okta.audit", DOMAIN);
    let body = okta_user_body(&user_name, "Okta", "Audit", "Sup3r-Secret!");
    let user_id = scim.create_user(&body).await;
    // Okta's full PUT with one changed attribute and the password again.
    let mut put = body.clone();
    put["id"] = json!(user_id);
    put["name"]["givenName"] = json!("Changed");
    assert_eq!(
        scim.put(&format!("Users/{user_id}"), &put).await.status,
        200
    );
    // The same PUT again changes nothing.
    assert_eq!(
        scim.put(&format!("Users/{user_id}"), &put).await.status,
        200
    );
    // Okta deactivates with a path-less PATCH.
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await;

    let actions = actions_for(
        stack,
        &user_id,
        &["user.created", "user.updated", "user.deactivated"],
    )
    .await;

    assert_eq!(
        actions,
        ["user.created", "user.updated", "user.deactivated"]
    );
}

/// Exports the workspace's whole trail as NDJSON text.
async fn export_text(stack: &TestStack, format: ExportFormat) -> String {
    let mut audit = AuditServiceClient::new(stack.audit_channel().await);
    let mut stream = audit
        .export_audit_events(ExportAuditEventsRequest {
            workspace_id: stack.workspace_id.clone(),
            filter: None,
            format: format.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut text = String::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        text.push_str(&chunk.text);
    }
    text
}

async fn secrets_never_reach_the_trail(stack: &TestStack) {
    let scim = stack.client();
    let password = format!("Pa55-{}", Uuid::new_v4().simple());
    let user_name = unique_email("secret", DOMAIN);
    let user_id = scim
        .create_user(&okta_user_body(&user_name, "Secret", "Holder", &password))
        .await;
    scim.patch_ok(
        &user_id,
        &patch_body(
            json!([{"op": "replace", "value": {"password": password, "title": "Partner"}}]),
        ),
    )
    .await;
    let mut tokens = TokenServiceClient::new(stack.identity_channel().await);
    let issued = tokens
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: stack.workspace_id.clone(),
            name: "audit-secret".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let rotated = tokens
        .rotate_scim_token(RotateScimTokenRequest {
            workspace_id: stack.workspace_id.clone(),
            token_id: issued.token.clone().unwrap().id,
            overlap_seconds: 0,
            ttl_seconds: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let token_id = rotated.token.clone().unwrap().id;
    let token_actions = actions_for(stack, &token_id, &["token.rotated"]).await;
    assert_eq!(token_actions, ["token.rotated"]);
    let user_actions = actions_for(stack, &user_id, &["user.created", "user.updated"]).await;
    assert_eq!(user_actions, ["user.created", "user.updated"]);

    let ndjson = export_text(stack, ExportFormat::Ndjson).await;
    let csv = export_text(stack, ExportFormat::Csv).await;

    for secret in [&password, &issued.secret, &rotated.secret, &stack.token] {
        assert!(
            !ndjson.contains(secret.as_str()),
            "a secret is in the NDJSON export"
        );
        assert!(
            !csv.contains(secret.as_str()),
            "a secret is in the CSV export"
        );
    }
    let rows: Vec<Value> = ndjson
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        rows.iter().any(|row| row["action"] == "token.rotated"),
        "the NDJSON export has no token.rotated event: {ndjson}"
    );
}

/// With audit-svc stopped in the middle of a sequence, every event arrives
/// after it restarts, each once, in order per resource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_while_audit_is_down() {
    let Some(mut stack) = TestStack::split(env!("CARGO_BIN_EXE_scim-stack")).await else {
        return;
    };
    let scim = stack.client();
    let user_id = create_entra_user(&scim).await;
    actions_for(&stack, &user_id, &["user.created"]).await;

    stack.stop_audit();
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "Replace", "path": "title", "value": "Associate"}])),
    )
    .await;
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;
    scim.patch_ok(
        &user_id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    )
    .await;
    let group_id = scim
        .create_group(&json!({"schemas": [GROUP_URN], "displayName": unique_group_name("Down")}))
        .await;
    stack.start_audit().await;

    let user_actions = actions_for(
        &stack,
        &user_id,
        &[
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
        ],
    )
    .await;
    let group_actions = actions_for(&stack, &group_id, &["group.created"]).await;

    assert_eq!(
        user_actions,
        [
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated"
        ]
    );
    assert_eq!(group_actions, ["group.created"]);
}
