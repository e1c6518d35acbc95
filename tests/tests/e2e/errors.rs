//! Client mistakes: each gets a 4xx SCIM Error body (RFC 7644 section 3.12)
//! in `application/scim+json`, never a 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::assert_error,
    fixtures::{DOMAIN, unique_email, user_body},
};
use reqwest::Method;
use serde_json::json;

e2e_tests::stack_tests!(
    malformed_json_is_invalid_syntax,
    duplicate_json_keys_are_invalid_syntax,
    unsupported_content_type_is_415,
    invalid_user_bodies_are_invalid_value,
    not_found_error_is_top_level,
    unknown_route_is_scim_404,
    unsupported_method_is_scim_405,
);

async fn malformed_json_is_invalid_syntax(stack: &TestStack) {
    let scim = stack.client();
    let id = scim
        .create_user(&user_body(
            &unique_email("jonas.berg", DOMAIN),
            "Jonas",
            "Berg",
        ))
        .await;
    let bodies = [
        ("POST", "Users".to_owned(), r#"{"userName": "#),
        ("POST", "Users".to_owned(), "not json at all"),
        (
            "PUT",
            format!("Users/{id}"),
            r#"{"userName": "a@example.com",}"#,
        ),
        ("PATCH", format!("Users/{id}"), r#"{"Operations": [}"#),
        ("POST", "Users/.search".to_owned(), "{"),
    ];

    for (method, path, body) in bodies {
        let method = Method::from_bytes(method.as_bytes()).expect("valid method");
        let response = scim
            .send(
                scim.request(method, &path)
                    .header("Content-Type", "application/scim+json")
                    .body(body),
            )
            .await;

        assert_error(&response, 400, Some("invalidSyntax"));
    }
}

async fn duplicate_json_keys_are_invalid_syntax(stack: &TestStack) {
    let scim = stack.client();
    let first = unique_email("dup.first", DOMAIN);
    let second = unique_email("dup.second", DOMAIN);
    let body = format!(
        r#"{{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{first}", "userName": "{second}"}}"#
    );

    let response = scim
        .send(
            scim.request(Method::POST, "Users")
                .header("Content-Type", "application/scim+json")
                .body(body),
        )
        .await;

    assert_error(&response, 400, Some("invalidSyntax"));
    assert_eq!(
        scim.filter_users(&format!(r#"userName eq "{first}""#))
            .await["totalResults"],
        0
    );
    assert_eq!(
        scim.filter_users(&format!(r#"userName eq "{second}""#))
            .await["totalResults"],
        0
    );
}

async fn unsupported_content_type_is_415(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("plain.text", DOMAIN);
    let body = user_body(&user_name, "Plain", "Text").to_string();

    let response = scim
        .send(
            scim.request(Method::POST, "Users")
                .header("Content-Type", "text/plain")
                .body(body),
        )
        .await;

    assert_error(&response, 415, None);
    assert_eq!(
        scim.filter_users(&format!(r#"userName eq "{user_name}""#))
            .await["totalResults"],
        0
    );
}

async fn invalid_user_bodies_are_invalid_value(stack: &TestStack) {
    let scim = stack.client();
    let cases = [
        (
            "missing userName",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        ),
        ("empty userName", json!({"userName": ""})),
        ("numeric userName", json!({"userName": 123})),
        (
            "active not a boolean",
            json!({"userName": unique_email("odd.active", DOMAIN), "active": "maybe"}),
        ),
        (
            "emails not a list",
            json!({"userName": unique_email("odd.emails", DOMAIN), "emails": "x@example.com"}),
        ),
    ];

    for (case, body) in cases {
        let response = scim.post("Users", &body).await;

        assert_eq!(response.status, 400, "{case}: {response}");
        assert_eq!(
            response.body["scimType"], "invalidValue",
            "{case}: {response}"
        );
    }
    let array = scim
        .send(
            scim.request(Method::POST, "Users")
                .header("Content-Type", "application/scim+json")
                .body("[]"),
        )
        .await;
    assert_eq!(array.status, 400, "{array}");
}

async fn not_found_error_is_top_level(stack: &TestStack) {
    let scim = stack.client();

    let response = scim.get("Users/5b0e9d1a-0000-4000-8000-00000000beef").await;

    assert_error(&response, 404, None);
    assert_eq!(response.body["status"], "404");
    assert!(response.body.get("response").is_none(), "{response}");
    assert!(response.body.get("error").is_none(), "{response}");
}

async fn unknown_route_is_scim_404(stack: &TestStack) {
    let scim = stack.client();
    let root = e2e_tests::ScimClient::new(
        e2e_tests::client::http_client(),
        &format!("http://{}", stack.http_addr),
        &stack.token,
    );

    let unknown_resource = scim.get("Widgets").await;
    let old_version = root
        .get(&format!("scim/v1/{}/Users", stack.workspace_id))
        .await;
    let outside = root.get("admin").await;

    assert_error(&unknown_resource, 404, None);
    assert_error(&old_version, 404, None);
    assert_error(&outside, 404, None);
}

async fn unsupported_method_is_scim_405(stack: &TestStack) {
    let scim = stack.client();

    let response = scim
        .send(
            scim.request(Method::DELETE, "ServiceProviderConfig")
                .header("Content-Type", "application/scim+json"),
        )
        .await;

    assert_error(&response, 405, None);
}
