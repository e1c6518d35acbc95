//! Bearer token authentication of every SCIM route (RFC 6750).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{DOMAIN, unique_email, user_body},
};
use reqwest::Method;
use uuid::Uuid;

e2e_tests::stack_tests!(
    every_route_requires_token,
    malformed_credentials_rejected,
    rejected_create_changes_nothing,
    scheme_name_ignores_case,
    errors_never_echo_secrets,
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
        (Method::GET, "ServiceProviderConfig".to_owned()),
        (Method::GET, "Schemas".to_owned()),
        (Method::GET, "ResourceTypes".to_owned()),
    ]
}

async fn every_route_requires_token(stack: &TestStack) {
    let scim = stack.client();

    for (method, path) in routes() {
        let response = scim
            .send(
                scim.unauthenticated(method.clone(), &path)
                    .header("Content-Type", "application/scim+json")
                    .body("{}"),
            )
            .await;

        assert_error(&response, 401, None);
        let challenge = response.header("www-authenticate").unwrap_or("");
        assert!(
            challenge.to_ascii_lowercase().starts_with("bearer"),
            "{method} {path}: WWW-Authenticate is {challenge:?}"
        );
    }
}

async fn malformed_credentials_rejected(stack: &TestStack) {
    let scim = stack.client();
    let credentials = [
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        "Bearer".to_owned(),
        "Bearer wrong-token-3b9f".to_owned(),
        format!("Basic {}", stack.token),
        format!("Bearer {}x", stack.token),
        format!("Bearer {}", &stack.token[..stack.token.len() - 1]),
        stack.token.clone(),
        "non-token".to_owned(),
    ];

    for credential in &credentials {
        let response = scim
            .send(
                scim.unauthenticated(Method::GET, "Users")
                    .header("Authorization", credential.as_str()),
            )
            .await;

        assert_error(&response, 401, None);
    }
    let doubled = scim
        .send(
            scim.unauthenticated(Method::GET, "Users")
                .header("Authorization", format!("Bearer {}", stack.token))
                .header("Authorization", "Bearer wrong-token-3b9f"),
        )
        .await;
    assert_error(&doubled, 401, None);
}

async fn rejected_create_changes_nothing(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("intruder", DOMAIN);
    let body = user_body(&user_name, "In", "Truder");

    let empty = scim
        .send(
            scim.unauthenticated(Method::POST, "Users")
                .header("Authorization", "Bearer ")
                .header("Content-Type", "application/scim+json")
                .body(body.to_string()),
        )
        .await;
    let missing = scim
        .send(
            scim.unauthenticated(Method::POST, "Users")
                .header("Content-Type", "application/scim+json")
                .body(body.to_string()),
        )
        .await;

    assert_error(&empty, 401, None);
    assert_error(&missing, 401, None);
    assert_list(
        &scim
            .filter_users(&format!(r#"userName eq "{user_name}""#))
            .await,
        0,
        &[],
    );
}

async fn scheme_name_ignores_case(stack: &TestStack) {
    let scim = stack.client();

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = scim
            .send(
                scim.unauthenticated(Method::GET, "Users")
                    .header("Authorization", format!("{scheme} {}", stack.token)),
            )
            .await;

        assert_eq!(response.status, 200, "scheme {scheme:?}: {response}");
    }
}

async fn errors_never_echo_secrets(stack: &TestStack) {
    let scim = stack.client();
    let probe = "scimtok_SECRETPROBE0123456789abcdef";
    let bad_json = format!(r#"{{"userName": "{probe}", "password": "{probe}""#);

    let bad_token = scim
        .send(
            scim.unauthenticated(Method::GET, "Users")
                .header("Authorization", format!("Bearer {probe}")),
        )
        .await;
    let malformed = scim
        .send(
            scim.request(Method::POST, "Users")
                .header("Content-Type", "application/scim+json")
                .body(bad_json),
        )
        .await;
    let not_found = scim.get(&format!("Users/{}", Uuid::new_v4())).await;

    assert_error(&bad_token, 401, None);
    assert!(!bad_token.text.contains(probe), "{bad_token}");
    assert_error(&malformed, 400, None);
    assert!(!malformed.text.contains(probe), "{malformed}");
    assert!(!not_found.text.contains(&stack.token), "{not_found}");
}
