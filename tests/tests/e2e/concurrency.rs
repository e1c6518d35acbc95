//! Concurrent writers and conditional requests (`ETag`, `If-Match`,
//! RFC 7644 section 3.14).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimResponse, TestStack,
    assertions::{assert_error, assert_patched},
    fixtures::{DOMAIN, count_of, patch_body, unique_email, user_body},
};
use reqwest::Method;
use serde_json::{Value, json};

e2e_tests::stack_tests!(
    parallel_phone_adds_all_land,
    parallel_attribute_replaces_all_land,
    stale_if_match_is_412,
    current_if_match_succeeds,
);

const PARALLEL_WRITERS: usize = 8;

/// Sends the PATCH bodies to one user at the same moment.
async fn patch_all_at_once(stack: &TestStack, id: &str, bodies: Vec<Value>) -> Vec<ScimResponse> {
    let scim = stack.client();
    let path = format!("Users/{id}");
    futures::future::join_all(bodies.into_iter().map(|body| {
        let scim = scim.clone();
        let path = path.clone();
        tokio::spawn(async move { scim.patch(&path, &body).await })
    }))
    .await
    .into_iter()
    .map(|joined| joined.expect("PATCH task panicked"))
    .collect()
}

async fn parallel_phone_adds_all_land(stack: &TestStack) {
    let scim = stack.client();
    let id = scim
        .create_user(&user_body(
            &unique_email("paz.lindqvist", DOMAIN),
            "Paz",
            "Lindqvist",
        ))
        .await;
    let numbers: Vec<String> = (0..PARALLEL_WRITERS)
        .map(|i| format!("+1 555 010{i}"))
        .collect();
    let bodies = numbers
        .iter()
        .map(|number| {
            patch_body(json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": number, "type": "other"}]}]))
        })
        .collect();

    let responses = patch_all_at_once(stack, &id, bodies).await;

    for response in &responses {
        assert_patched(response);
    }
    let read = scim.get_user(&id).await;
    assert_eq!(count_of(&read, "phoneNumbers"), PARALLEL_WRITERS, "{read}");
    for number in &numbers {
        let stored = read["phoneNumbers"]
            .as_array()
            .is_some_and(|phones| phones.iter().any(|phone| phone["value"] == number.as_str()));
        assert!(stored, "{number} is missing: {read}");
    }
}

async fn parallel_attribute_replaces_all_land(stack: &TestStack) {
    let scim = stack.client();
    let id = scim
        .create_user(&user_body(
            &unique_email("noor.haddad", DOMAIN),
            "Noor",
            "Haddad",
        ))
        .await;
    let changes = [
        ("title", "Harbour Master"),
        ("nickName", "Nuri"),
        ("displayName", "Noor H."),
        ("locale", "en-GB"),
        ("timezone", "Europe/Oslo"),
        ("preferredLanguage", "nb"),
        ("userType", "Employee"),
        ("profileUrl", "https://profiles.example.com/noor"),
    ];
    let bodies = changes
        .iter()
        .map(|(path, value)| patch_body(json!([{"op": "replace", "path": path, "value": value}])))
        .collect();

    let responses = patch_all_at_once(stack, &id, bodies).await;

    for response in &responses {
        assert_patched(response);
    }
    let read = scim.get_user(&id).await;
    for (attribute, value) in changes {
        assert_eq!(read[attribute], value, "{attribute} was lost: {read}");
    }
}

async fn stale_if_match_is_412(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("cora.winslow", DOMAIN);
    let id = scim
        .create_user(&user_body(&user_name, "Cora", "Winslow"))
        .await;
    let path = format!("Users/{id}");
    let read = scim.get(&path).await;
    assert!(
        read.body["meta"]["version"].is_string(),
        "no meta.version: {read}"
    );
    let stale = read
        .header("etag")
        .expect("GET returned no ETag")
        .to_owned();
    let first = scim
        .send(
            scim.request(Method::PATCH, &path)
                .header("If-Match", &stale)
                .header("Content-Type", "application/scim+json")
                .body(
                    patch_body(json!([{"op": "replace", "path": "title", "value": "Bosun"}]))
                        .to_string(),
                ),
        )
        .await;
    assert_patched(&first);

    let patched = scim
        .send(
            scim.request(Method::PATCH, &path)
                .header("If-Match", &stale)
                .header("Content-Type", "application/scim+json")
                .body(
                    patch_body(json!([{"op": "replace", "path": "title", "value": "Mate"}]))
                        .to_string(),
                ),
        )
        .await;
    let mut replacement = user_body(&user_name, "Cora", "Winslow");
    replacement["title"] = json!("Captain");
    let replaced = scim
        .send(
            scim.request(Method::PUT, &path)
                .header("If-Match", &stale)
                .header("Content-Type", "application/scim+json")
                .body(replacement.to_string()),
        )
        .await;
    let deleted = scim
        .send(
            scim.request(Method::DELETE, &path)
                .header("If-Match", &stale),
        )
        .await;

    assert_error(&patched, 412, None);
    assert_error(&replaced, 412, None);
    assert_error(&deleted, 412, None);
    assert_eq!(scim.get_user(&id).await["title"], "Bosun");
}

async fn current_if_match_succeeds(stack: &TestStack) {
    let scim = stack.client();
    let id = scim
        .create_user(&user_body(
            &unique_email("mads.holm", DOMAIN),
            "Mads",
            "Holm",
        ))
        .await;
    let path = format!("Users/{id}");
    let read = scim.get(&path).await;
    let current = read
        .header("etag")
        .expect("GET returned no ETag")
        .to_owned();

    let patched = scim
        .send(
            scim.request(Method::PATCH, &path)
                .header("If-Match", &current)
                .header("Content-Type", "application/scim+json")
                .body(
                    patch_body(json!([{"op": "replace", "path": "title", "value": "Cook"}]))
                        .to_string(),
                ),
        )
        .await;
    let unconditional = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "path": "nickName", "value": "Mo"}])),
        )
        .await;
    let latest = scim.get(&path).await;
    let latest_tag = latest
        .header("etag")
        .expect("GET returned no ETag")
        .to_owned();
    let deleted = scim
        .send(
            scim.request(Method::DELETE, &path)
                .header("If-Match", &latest_tag),
        )
        .await;

    assert_patched(&patched);
    assert_patched(&unconditional);
    assert_ne!(latest_tag, current, "the ETag did not change with the user");
    assert_eq!(latest.body["meta"]["version"], latest_tag.as_str());
    assert_eq!(deleted.status, 204, "{deleted}");
}
