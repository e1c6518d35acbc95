//! User create, replace and delete: schemas, content types, uniqueness,
//! passwords, workspace domains and attributes only group mappings set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{
        DOMAIN, USER_URN, is_absent_or_empty, patch_body, typed_value, unique_email, user_body,
    },
};
use reqwest::Method;
use serde_json::json;

e2e_tests::stack_tests!(
    create_without_schemas_fills_them,
    scim_and_plain_json_bodies_accepted,
    duplicate_user_name_in_other_case_conflicts,
    repeated_create_conflicts_and_matches_first,
    concurrent_creates_of_one_name_make_one_user,
    password_accepted_and_never_returned,
    foreign_domain_rejected,
    roles_and_entitlements_ignored_on_create_and_replace,
    external_id_equal_to_a_user_id_is_a_new_user,
    put_id_mismatch_never_moves_user,
    put_without_active_keeps_user_active,
    delete_then_recreate_gets_new_id,
    location_header_and_meta_point_to_user,
);

async fn create_without_schemas_fills_them(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("nadia.ferro", DOMAIN);
    let mut body = user_body(&user_name, "Nadia", "Ferro");
    body.as_object_mut()
        .expect("user body is an object")
        .remove("schemas");

    let created = scim.post("Users", &body).await;

    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["userName"], user_name.as_str());
    assert!(
        e2e_tests::fixtures::has_schema(&created.body, USER_URN),
        "{created}"
    );
}

async fn scim_and_plain_json_bodies_accepted(stack: &TestStack) {
    let scim = stack.client();
    let scim_name = unique_email("liesel.brandt", DOMAIN);
    let plain_name = unique_email("magnus.brandt", DOMAIN);
    let send =
        |method: Method, path: String, content_type: &'static str, body: serde_json::Value| {
            let request = scim
                .request(method, &path)
                .header("Content-Type", content_type)
                .body(body.to_string());
            scim.send(request)
        };

    let scim_created = send(
        Method::POST,
        "Users".to_owned(),
        "application/scim+json; charset=utf-8",
        user_body(&scim_name, "Liesel", "Brandt"),
    )
    .await;
    let id = scim_created.id();
    let patched = send(
        Method::PATCH,
        format!("Users/{id}"),
        "application/scim+json; charset=utf-8",
        patch_body(json!([{"op": "replace", "path": "title", "value": "Pilot"}])),
    )
    .await;
    let plain_created = send(
        Method::POST,
        "Users".to_owned(),
        "application/json",
        user_body(&plain_name, "Magnus", "Brandt"),
    )
    .await;

    assert_eq!(scim_created.status, 201, "{scim_created}");
    assert_eq!(scim_created.body["userName"], scim_name.as_str());
    assert!(matches!(patched.status, 200 | 204), "{patched}");
    assert_eq!(scim.get_user(&id).await["title"], "Pilot");
    assert_eq!(plain_created.status, 201, "{plain_created}");
    assert_eq!(plain_created.body["userName"], plain_name.as_str());
}

async fn duplicate_user_name_in_other_case_conflicts(stack: &TestStack) {
    let scim = stack.client();
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let user_name = format!("Tamsin.Vale.{run}@Example.com");
    let id = scim
        .create_user(&user_body(&user_name, "Tamsin", "Vale"))
        .await;

    let duplicate = scim
        .post(
            "Users",
            &user_body(&user_name.to_lowercase(), "Tamsin", "Vale"),
        )
        .await;

    assert_error(&duplicate, 409, Some("uniqueness"));
    let matched = scim
        .filter_users(&format!(r#"userName eq "{}""#, user_name.to_uppercase()))
        .await;
    assert_list(&matched, 1, &[&id]);
}

async fn repeated_create_conflicts_and_matches_first(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("retry.rowe", DOMAIN);
    let body = user_body(&user_name, "Retry", "Rowe");
    let id = scim.create_user(&body).await;

    for attempt in 2..=5 {
        let retried = scim.post("Users", &body).await;

        assert_eq!(retried.status, 409, "attempt {attempt}: {retried}");
        assert_eq!(
            retried.body["scimType"], "uniqueness",
            "attempt {attempt}: {retried}"
        );
    }
    let matched = scim
        .filter_users(&format!(r#"userName eq "{user_name}""#))
        .await;
    assert_list(&matched, 1, &[&id]);
}

async fn concurrent_creates_of_one_name_make_one_user(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("twin.sorensen", DOMAIN);
    let variants = [
        user_name.clone(),
        user_name.to_uppercase(),
        user_name.clone(),
        user_name.to_uppercase(),
    ];

    let responses = futures::future::join_all(variants.iter().map(|name| {
        let scim = scim.clone();
        let body = user_body(name, "Twin", "Sorensen");
        async move { scim.post("Users", &body).await }
    }))
    .await;

    let created = responses
        .iter()
        .filter(|response| response.status == 201)
        .count();
    assert_eq!(created, 1, "{responses:#?}");
    for response in responses.iter().filter(|response| response.status != 201) {
        assert_error(response, 409, Some("uniqueness"));
    }
    let matched = scim
        .filter_users(&format!(r#"userName eq "{user_name}""#))
        .await;
    assert_eq!(matched["totalResults"], 1);
}

async fn password_accepted_and_never_returned(stack: &TestStack) {
    let scim = stack.client();
    let mut body = user_body(&unique_email("ada.pemberton", DOMAIN), "Ada", "Pemberton");
    body["password"] = json!("tq7mLwx9dk");

    let created = scim.post("Users", &body).await;
    let id = created.id();
    let read = scim.get(&format!("Users/{id}")).await;
    let requested = scim.get(&format!("Users/{id}?attributes=password")).await;
    let listed = scim.get("Users?attributes=password,userName").await;

    assert_eq!(created.status, 201, "{created}");
    assert!(created.body.get("password").is_none(), "{created}");
    assert!(read.body.get("password").is_none(), "{read}");
    assert!(!requested.text.contains("tq7mLwx9dk"), "{requested}");
    assert!(requested.body.get("password").is_none(), "{requested}");
    assert!(!listed.text.contains("tq7mLwx9dk"), "{listed}");
    assert!(
        listed.body["Resources"][0].get("password").is_none(),
        "{listed}"
    );
}

async fn foreign_domain_rejected(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("mallory", DOMAIN);
    let mut foreign_email = user_body(&user_name, "Mallory", "Vance");
    foreign_email["emails"] = json!([{"value": "x@evil.example", "type": "work", "primary": true}]);
    let foreign_name = unique_email("mallory", "evil.example");
    let subdomain_name = unique_email("mallory", "sub.example.com");

    let by_email = scim.post("Users", &foreign_email).await;
    let by_user_name = scim
        .post("Users", &user_body(&foreign_name, "Mallory", "Vance"))
        .await;
    let by_subdomain = scim
        .post("Users", &user_body(&subdomain_name, "Mallory", "Vance"))
        .await;

    assert_error(&by_email, 400, Some("invalidValue"));
    assert_error(&by_user_name, 400, Some("invalidValue"));
    assert_error(&by_subdomain, 400, Some("invalidValue"));
    assert_list(
        &scim
            .filter_users(&format!(r#"userName eq "{user_name}""#))
            .await,
        0,
        &[],
    );
    assert_list(
        &scim
            .filter_users(&format!(r#"userName eq "{foreign_name}""#))
            .await,
        0,
        &[],
    );

    // Changing an existing user to a foreign domain is rejected the same way.
    let allowed_name = unique_email("mallory.allowed", DOMAIN);
    let id = scim
        .create_user(&user_body(&allowed_name, "Mallory", "Vance"))
        .await;
    let before = scim.get_user(&id).await;
    let rename = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([{"op": "replace", "path": "userName", "value": foreign_name}])),
        )
        .await;
    let email_change = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@evil.example"},
            ])),
        )
        .await;
    let mut replacement = user_body(&allowed_name, "Mallory", "Vance");
    replacement["emails"] = json!([{"value": "x@evil.example", "type": "work", "primary": true}]);
    let replaced = scim.put(&format!("Users/{id}"), &replacement).await;
    assert_error(&rename, 400, Some("invalidValue"));
    assert_error(&email_change, 400, Some("invalidValue"));
    assert_error(&replaced, 400, Some("invalidValue"));
    let after = scim.get_user(&id).await;
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);

    let moved_name = unique_email("mallory.moved", DOMAIN);
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "replace", "path": "userName", "value": moved_name}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["userName"], moved_name.as_str());
}

async fn roles_and_entitlements_ignored_on_create_and_replace(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("quinn.adler", DOMAIN);
    let mut body = user_body(&user_name, "Quinn", "Adler");
    body["roles"] = json!([{"value": "admin", "primary": true}]);
    body["entitlements"] = json!([{"value": "billing"}]);

    let created = scim.post("Users", &body).await;
    let id = created.id();
    let replaced = scim.put(&format!("Users/{id}"), &body).await;
    let read = scim.get_user(&id).await;

    assert_eq!(created.status, 201, "{created}");
    assert!(is_absent_or_empty(&created.body["roles"]), "{created}");
    assert!(
        is_absent_or_empty(&created.body["entitlements"]),
        "{created}"
    );
    assert_eq!(replaced.status, 200, "{replaced}");
    assert!(is_absent_or_empty(&replaced.body["roles"]), "{replaced}");
    assert!(is_absent_or_empty(&read["roles"]), "{read}");
    assert!(is_absent_or_empty(&read["entitlements"]), "{read}");
}

async fn external_id_equal_to_a_user_id_is_a_new_user(stack: &TestStack) {
    let scim = stack.client();
    let first = scim
        .create_user(&user_body(
            &unique_email("first.owner", DOMAIN),
            "First",
            "Owner",
        ))
        .await;
    let mut body = user_body(&unique_email("second.owner", DOMAIN), "Second", "Owner");
    body["externalId"] = json!(first);

    let created = scim.post("Users", &body).await;

    assert_eq!(created.status, 201, "{created}");
    assert_ne!(created.id(), first);
    assert_eq!(created.body["externalId"], first.as_str());
    assert_eq!(scim.get_user(&first).await["name"]["givenName"], "First");
}

async fn put_id_mismatch_never_moves_user(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("ines.marlow", DOMAIN);
    let id = scim
        .create_user(&user_body(&user_name, "Ines", "Marlow"))
        .await;
    let other = scim
        .create_user(&user_body(
            &unique_email("other.marlow", DOMAIN),
            "Other",
            "Marlow",
        ))
        .await;
    let mut body = user_body(&user_name, "Ines", "Marlow-Ray");
    body["id"] = json!(other);

    let replaced = scim.put(&format!("Users/{id}"), &body).await;

    // The body id is ignored or the request is rejected; it never names
    // the user to change.
    match replaced.status {
        200 => assert_eq!(replaced.body["id"], id.as_str(), "{replaced}"),
        _ => assert_error(&replaced, 400, None),
    }
    assert_eq!(scim.get_user(&other).await["name"]["familyName"], "Marlow");
}

async fn put_without_active_keeps_user_active(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("oren.vidal", DOMAIN);
    let id = scim
        .create_user(&user_body(&user_name, "Oren", "Vidal"))
        .await;
    let mut body = user_body(&user_name, "Oren", "Vidal");
    body.as_object_mut()
        .expect("user body is an object")
        .remove("active");
    body["title"] = json!("Navigator");

    let replaced = scim.put(&format!("Users/{id}"), &body).await;

    assert_eq!(replaced.status, 200, "{replaced}");
    let read = scim.get_user(&id).await;
    assert_eq!(read["title"], "Navigator");
    assert_eq!(read["active"], true);
}

async fn delete_then_recreate_gets_new_id(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("fenna.rask", DOMAIN);
    let mut body = user_body(&user_name, "Fenna", "Rask");
    body["title"] = json!("Pilot");
    let id = scim.create_user(&body).await;

    let deleted = scim.delete(&format!("Users/{id}")).await;
    let again = scim.delete(&format!("Users/{id}")).await;
    let recreated = scim
        .post("Users", &user_body(&user_name, "Fenna", "Rask"))
        .await;

    assert_eq!(deleted.status, 204, "{deleted}");
    assert!(deleted.text.is_empty(), "204 with a body: {deleted}");
    assert_error(&again, 404, None);
    assert_error(&scim.get(&format!("Users/{id}")).await, 404, None);
    assert_eq!(recreated.status, 201, "{recreated}");
    assert_ne!(recreated.id(), id);
    assert!(
        recreated.body.get("title").is_none(),
        "the new user inherited title: {recreated}"
    );
}

async fn location_header_and_meta_point_to_user(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("lior.baptiste", DOMAIN);

    let created = scim
        .post("Users", &user_body(&user_name, "Lior", "Baptiste"))
        .await;

    let id = created.id();
    let expected = format!("{}/Users/{id}", stack.base_url);
    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.header("location"), Some(expected.as_str()));
    assert_eq!(created.body["meta"]["location"], expected.as_str());
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.body["meta"]["created"].is_string(), "{created}");
    assert!(
        created.body["meta"]["lastModified"].is_string(),
        "{created}"
    );
    assert_eq!(
        typed_value(&created.body, "emails", "work"),
        Some(user_name.as_str())
    );
}
