//! The workspace email-domain rule on SCIM writes, with domains managed
//! through the admin API.

use e2e_tests::{TestStack, assertions::assert_error, fixtures::user_body};
use reqwest::Method;
use serde_json::json;

use super::AdminClient;

e2e_tests::stack_tests!(
    options: crate::admin::options();
    lookalike_and_malformed_addresses_rejected,
    case_variants_accepted,
    listed_wildcard_admits_subdomain,
    removed_domain_rejects_new_users,
);

/// Returns a user whose userName and work email are `address`.
fn user_with(address: &str) -> serde_json::Value {
    let mut body = user_body(address, "Domain", "Rule");
    body["emails"] = json!([{"value": address, "type": "work", "primary": true}]);
    body
}

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

async fn lookalike_and_malformed_addresses_rejected(stack: &TestStack) {
    let scim = stack.client();
    let run = run_id();
    let rejected = [
        format!("ada.{run}@evilexample.com"),
        format!("ada.{run}@eu.example.com"),
        format!("ada.{run}@evil.com@example.com"),
        format!("\"ada.{run}@evil.com\"@example.com"),
    ];

    for address in &rejected {
        let response = scim.post("Users", &user_with(address)).await;

        assert_error(&response, 400, Some("invalidValue"));
    }
}

async fn case_variants_accepted(stack: &TestStack) {
    let scim = stack.client();
    let run = run_id();

    let upper = scim
        .post("Users", &user_with(&format!("ADA.{run}@EXAMPLE.COM")))
        .await;
    let mixed = scim
        .post("Users", &user_with(&format!("grace.{run}@Example.Com")))
        .await;

    assert_eq!(upper.status, 201, "{upper}");
    assert_eq!(mixed.status, 201, "{mixed}");
}

async fn listed_wildcard_admits_subdomain(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let scim = stack.client();
    let address = format!("ada.{}@eu.example.com", run_id());
    let before = scim.post("Users", &user_with(&address)).await;

    let domains = admin
        .ok(
            Method::POST,
            "domains",
            Some(json!({"domain": "*.Example.com"})),
        )
        .await;
    let after = scim.post("Users", &user_with(&address)).await;
    let deeper = scim
        .post(
            "Users",
            &user_with(&format!("bob.{}@a.b.example.com", run_id())),
        )
        .await;
    let lookalike = scim
        .post(
            "Users",
            &user_with(&format!("eve.{}@evilexample.com", run_id())),
        )
        .await;

    assert_error(&before, 400, Some("invalidValue"));
    assert_eq!(domains["domains"], json!(["*.example.com", "example.com"]));
    assert_eq!(after.status, 201, "{after}");
    assert_eq!(deeper.status, 201, "{deeper}");
    assert_error(&lookalike, 400, Some("invalidValue"));
}

async fn removed_domain_rejects_new_users(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let scim = stack.client();
    admin
        .ok(
            Method::POST,
            "domains",
            Some(json!({"domain": "example.org"})),
        )
        .await;
    let kept = scim
        .create_user(&user_with(&format!("ada.{}@example.org", run_id())))
        .await;

    let domains = admin.ok(Method::DELETE, "domains/example.org", None).await;
    let rejected = scim
        .post(
            "Users",
            &user_with(&format!("bob.{}@example.org", run_id())),
        )
        .await;
    let missing = admin
        .send(Method::DELETE, "domains/example.org", None)
        .await;
    let invalid = admin
        .send(
            Method::POST,
            "domains",
            Some(json!({"domain": "a@b.example"})),
        )
        .await;

    assert_eq!(domains["domains"], json!(["example.com"]));
    assert_error(&rejected, 400, Some("invalidValue"));
    assert_eq!(
        scim.get(&format!("Users/{kept}")).await.status,
        200,
        "existing users stay"
    );
    assert_eq!(missing.status, 404, "{missing}");
    assert_eq!(invalid.status, 400, "{invalid}");
    assert_eq!(invalid.body["field"], "domain");
}
