//! Request sequences of Okta's SCIM client: existence check, create with a
//! password, updates by PUT or PATCH without path, its SPEC test and import
//! paging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list, assert_patched},
    encode_percent,
    fixtures::{
        DOMAIN, LIST_RESPONSE_URN, USER_URN, count_of, has_schema, okta_user_body, patch_body,
        resource_ids, typed_value, unique_email,
    },
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    user_lifecycle,
    app_wizard_put_updates,
    spec_test,
    import_paging
);

/// Okta's request headers; the body type carries a charset.
const OKTA_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";
const OKTA_USER_AGENT: &str = "Okta SCIM Client 1.0.0";

/// Sends a request with Okta's headers and, if given, a JSON body.
async fn okta_send(
    scim: &e2e_tests::ScimClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> e2e_tests::ScimResponse {
    let mut request = scim
        .request(method, path)
        .header("User-Agent", OKTA_USER_AGENT)
        .header("Accept-Charset", "utf-8");
    if let Some(body) = body {
        request = request
            .header("Content-Type", OKTA_CONTENT_TYPE)
            .body(body.to_string());
    }
    scim.send(request).await
}

/// Returns Okta's existence check: `userName eq` with `startIndex=1&count=100`.
fn existence_check(user_name: &str) -> String {
    let filter = format!(r#"userName eq "{user_name}""#);
    format!(
        "Users?filter={}&startIndex=1&count=100",
        encode_percent(&filter)
    )
}

/// Returns the full PUT body Okta's app wizard sends for a user.
fn put_body(
    id: &str,
    user_name: &str,
    given_name: &str,
    middle_name: &str,
    family_name: &str,
    active: bool,
) -> Value {
    json!({
        "schemas": [USER_URN],
        "id": id,
        "userName": user_name,
        "name": {"givenName": given_name, "middleName": middle_name, "familyName": family_name},
        "emails": [{"primary": true, "value": user_name, "type": "work", "display": user_name}],
        "displayName": format!("{given_name} {middle_name} {family_name}"),
        "locale": "en-US",
        "externalId": "00u1a2b3c4d5e6f7g8h",
        "active": active,
        "groups": [],
        "password": "Xy7-put-password",
        "meta": {"resourceType": "User"},
    })
}

pub(crate) async fn user_lifecycle(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("milo.ashgrove", DOMAIN);
    let body = okta_user_body(&user_name, "Milo", "Ashgrove", "pw-Aa1!-create");

    let before = okta_send(&scim, Method::GET, &existence_check(&user_name), None).await;
    assert_eq!(before.status, 200, "{before}");
    assert_list(&before.body, 0, &[]);
    assert_eq!(before.body["startIndex"], 1);
    assert!(
        before.body["itemsPerPage"].is_i64(),
        "itemsPerPage is not an integer: {before}"
    );

    let created = okta_send(&scim, Method::POST, "Users", Some(&body)).await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    assert_eq!(created.body["userName"], user_name);
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["name"]["givenName"], "Milo");
    assert_eq!(created.body["name"]["familyName"], "Ashgrove");
    assert_eq!(
        typed_value(&created.body, "emails", "work"),
        Some(user_name.as_str())
    );
    assert_eq!(created.body["displayName"], "Milo Ashgrove");
    assert_eq!(created.body["externalId"], body["externalId"]);
    assert!(
        created.body.get("password").is_none(),
        "password returned: {created}"
    );
    assert!(has_schema(&created.body, USER_URN));

    let read = okta_send(&scim, Method::GET, &format!("Users/{id}"), None).await;
    assert_eq!(read.status, 200, "{read}");
    assert!(
        read.body.get("password").is_none(),
        "password returned: {read}"
    );

    // Profile update by full PUT, password included.
    let mut replacement = put_body(&id, &user_name, "Milo", "Rowan", "Ashgrove", true);
    replacement["displayName"] = json!("Milo R. Ashgrove");
    let replaced = okta_send(
        &scim,
        Method::PUT,
        &format!("Users/{id}"),
        Some(&replacement),
    )
    .await;
    assert_eq!(replaced.status, 200, "{replaced}");
    assert_eq!(replaced.body["id"], id);
    assert_eq!(replaced.body["name"]["middleName"], "Rowan");
    assert_eq!(replaced.body["displayName"], "Milo R. Ashgrove");
    assert_eq!(replaced.body["active"], true);
    assert!(
        replaced.body.get("password").is_none(),
        "password returned: {replaced}"
    );
    let read = scim.get_user(&id).await;
    assert_eq!(read["name"]["middleName"], "Rowan");
    assert_eq!(read["displayName"], "Milo R. Ashgrove");

    // Deactivate: replace without path, value {active: false}.
    let deactivate = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
    let deactivated = okta_send(
        &scim,
        Method::PATCH,
        &format!("Users/{id}"),
        Some(&deactivate),
    )
    .await;
    assert_patched(&deactivated);
    let read = scim.get_user(&id).await;
    assert_eq!(read["active"], false);
    assert_eq!(read["userName"], user_name);
    let inactive = okta_send(&scim, Method::GET, &existence_check(&user_name), None).await;
    assert_list(&inactive.body, 1, &[&id]);
    assert_eq!(inactive.body["Resources"][0]["active"], false);

    let reactivate = patch_body(json!([{"op": "replace", "value": {"active": true}}]));
    assert_patched(
        &okta_send(
            &scim,
            Method::PATCH,
            &format!("Users/{id}"),
            Some(&reactivate),
        )
        .await,
    );
    assert_eq!(scim.get_user(&id).await["active"], true);

    // Password sync changes nothing visible.
    let password_sync =
        patch_body(json!([{"op": "replace", "value": {"password": "pw-Cc3!-sync"}}]));
    let synced = okta_send(
        &scim,
        Method::PATCH,
        &format!("Users/{id}"),
        Some(&password_sync),
    )
    .await;
    assert_patched(&synced);
    assert!(
        synced.body.get("password").is_none(),
        "password returned: {synced}"
    );
    let read = scim.get_user(&id).await;
    assert_eq!(read["name"]["middleName"], "Rowan");
    assert_eq!(read["active"], true);
    assert!(read.get("password").is_none(), "password returned: {read}");
}

pub(crate) async fn app_wizard_put_updates(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("nora.delacroix", DOMAIN);
    let before = okta_send(&scim, Method::GET, &existence_check(&user_name), None).await;
    assert_list(&before.body, 0, &[]);
    let created = okta_send(
        &scim,
        Method::POST,
        "Users",
        Some(&okta_user_body(
            &user_name,
            "Nora",
            "Delacroix",
            "pw-Aa1!-nora",
        )),
    )
    .await;
    assert_eq!(created.status, 201, "{created}");
    assert!(
        created.body.get("password").is_none(),
        "password returned: {created}"
    );
    let id = created.id();
    let path = format!("Users/{id}");

    let profile = okta_send(
        &scim,
        Method::PUT,
        &path,
        Some(&put_body(&id, &user_name, "Nora", "Yu", "Delacroix", true)),
    )
    .await;
    assert_eq!(profile.status, 200, "{profile}");
    assert_eq!(profile.body["name"]["middleName"], "Yu");
    assert_eq!(profile.body["active"], true);
    assert!(
        profile.body.get("password").is_none(),
        "password returned: {profile}"
    );

    let deactivated = okta_send(
        &scim,
        Method::PUT,
        &path,
        Some(&put_body(&id, &user_name, "Nora", "Yu", "Delacroix", false)),
    )
    .await;
    assert_eq!(deactivated.status, 200, "{deactivated}");
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["name"]["middleName"], "Yu");
    assert_eq!(scim.get_user(&id).await["active"], false);

    let reactivated = okta_send(
        &scim,
        Method::PUT,
        &path,
        Some(&put_body(&id, &user_name, "Nora", "Yu", "Delacroix", true)),
    )
    .await;
    assert_eq!(reactivated.status, 200, "{reactivated}");
    assert_eq!(reactivated.body["active"], true);
    let after = okta_send(&scim, Method::GET, &existence_check(&user_name), None).await;
    assert_list(&after.body, 1, &[&id]);
    assert_eq!(after.body["startIndex"], 1);
    assert!(
        after.body["itemsPerPage"].is_i64(),
        "itemsPerPage is not an integer: {after}"
    );
}

pub(crate) async fn spec_test(stack: &TestStack) {
    let scim = stack.client();
    let seed_name = unique_email("seed.user", DOMAIN);
    let user_name = unique_email("lena.brightwater", DOMAIN);
    let seed = okta_send(
        &scim,
        Method::POST,
        "Users",
        Some(&okta_user_body(
            &seed_name,
            "Seed",
            "Keeper",
            "pw-Aa1!-seed",
        )),
    )
    .await;
    assert_eq!(seed.status, 201, "{seed}");
    assert!(
        seed.body.get("password").is_none(),
        "password returned: {seed}"
    );

    // List one user: integers are JSON numbers.
    let page = okta_send(&scim, Method::GET, "Users?count=1&startIndex=1", None).await;
    assert_eq!(page.status, 200, "{page}");
    assert!(has_schema(&page.body, LIST_RESPONSE_URN));
    assert!(page.body["itemsPerPage"].is_i64(), "itemsPerPage: {page}");
    assert!(page.body["startIndex"].is_i64(), "startIndex: {page}");
    assert!(page.body["totalResults"].is_i64(), "totalResults: {page}");
    let first = &page.body["Resources"][0];
    assert!(
        first["name"]["familyName"].is_string(),
        "familyName: {page}"
    );
    assert!(first["name"]["givenName"].is_string(), "givenName: {page}");
    assert!(first["userName"].is_string(), "userName: {page}");
    assert!(first["active"].is_boolean(), "active: {page}");
    assert!(first["emails"][0]["value"].is_string(), "emails: {page}");
    let first_id = first["id"]
        .as_str()
        .expect("listed user without id")
        .to_owned();
    let read = scim.get_user(&first_id).await;
    assert_eq!(read["id"], first_id);
    assert!(read["active"].is_boolean(), "active: {read}");

    let nobody = format!(r#"userName eq "{}""#, unique_email("nobody", DOMAIN));
    let unknown = okta_send(
        &scim,
        Method::GET,
        &format!("Users?filter={}", encode_percent(&nobody)),
        None,
    )
    .await;
    assert_eq!(unknown.status, 200, "{unknown}");
    assert_eq!(unknown.body["totalResults"], 0);
    let ghost = okta_send(
        &scim,
        Method::GET,
        &format!("Users/{}", Uuid::new_v4()),
        None,
    )
    .await;
    assert_error(&ghost, 404, None);

    // Create with Content-Type application/json.
    let lena = json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Lena", "familyName": "Brightwater"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Lena Brightwater",
        "active": true,
    });
    let json_request = |body: &Value| {
        scim.request(Method::POST, "Users")
            .header("Content-Type", "application/json")
            .header("Accept", "application/scim+json; charset=utf-8")
            .body(body.to_string())
    };
    let created = scim.send(json_request(&lena)).await;
    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["name"]["familyName"], "Brightwater");
    assert_eq!(created.body["name"]["givenName"], "Lena");
    assert_eq!(created.body["userName"], user_name);
    assert!(has_schema(&created.body, USER_URN));
    let read = scim.get_user(&created.id()).await;
    assert_eq!(read["userName"], user_name);

    let duplicate = scim.send(json_request(&lena)).await;
    assert_error(&duplicate, 409, Some("uniqueness"));

    let upper = format!(r#"userName eq "{}""#, user_name.to_uppercase());
    let upper_path = format!("Users?filter={}", encode_percent(&upper));
    let by_upper = okta_send(&scim, Method::GET, &upper_path, None).await;
    assert_eq!(by_upper.status, 200, "{by_upper}");
    assert!(has_schema(&by_upper.body, LIST_RESPONSE_URN));

    let bad_credential = scim
        .send(
            scim.unauthenticated(Method::GET, &upper_path)
                .header("Authorization", "non-token"),
        )
        .await;
    assert_error(&bad_credential, 401, None);

    let numeric = okta_send(&scim, Method::GET, "Users/9876543210123", None).await;
    assert_error(&numeric, 404, None);
}

pub(crate) async fn import_paging(stack: &TestStack) {
    let scim = stack.client();
    for i in 1..=3 {
        let user_name = unique_email(&format!("import.{i}"), DOMAIN);
        let mut body = okta_user_body(&user_name, "Import", &format!("Row{i}"), "pw-Aa1!-import");
        body.as_object_mut()
            .expect("user body is an object")
            .remove("password");
        let created = okta_send(&scim, Method::POST, "Users", Some(&body)).await;
        assert_eq!(created.status, 201, "{created}");
    }

    let full = okta_send(&scim, Method::GET, "Users?startIndex=1&count=100", None).await;
    let next = okta_send(&scim, Method::GET, "Users?startIndex=101&count=100", None).await;
    let small_first = okta_send(&scim, Method::GET, "Users?startIndex=1&count=2", None).await;
    let small_second = okta_send(&scim, Method::GET, "Users?startIndex=3&count=2", None).await;
    let small_again = okta_send(&scim, Method::GET, "Users?startIndex=1&count=2", None).await;

    assert_eq!(full.status, 200, "{full}");
    assert_eq!(full.body["totalResults"], 3);
    assert_eq!(full.body["startIndex"], 1);
    assert_eq!(full.body["itemsPerPage"], 3);
    assert_eq!(count_of(&full.body, "Resources"), 3);
    assert_eq!(next.status, 200, "{next}");
    assert_eq!(next.body["totalResults"], 3);
    assert!(next.body["startIndex"].is_i64(), "startIndex: {next}");
    assert_eq!(count_of(&next.body, "Resources"), 0);
    assert_eq!(small_first.body["startIndex"], 1);
    assert_eq!(small_first.body["totalResults"], 3);
    assert_eq!(resource_ids(&small_first.body).len(), 2);
    assert_eq!(small_second.body["startIndex"], 3);
    assert_eq!(small_second.body["totalResults"], 3);
    assert_eq!(resource_ids(&small_second.body).len(), 1);
    assert!(!resource_ids(&small_first.body).contains(&resource_ids(&small_second.body)[0]));
    assert_eq!(
        resource_ids(&small_again.body),
        resource_ids(&small_first.body)
    );
}
