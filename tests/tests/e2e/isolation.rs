//! Tenant isolation: a workspace's token never reaches another workspace's
//! users, by id, by filter or by URL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimClient, Tenant, TestStack,
    assertions::{assert_error, assert_list},
    encode_plus,
    fixtures::{DOMAIN, SEARCH_REQUEST_URN, SECOND_DOMAIN, patch_body, unique_email, user_body},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    other_tenant_id_reads_as_unknown,
    other_tenant_user_cannot_be_changed,
    filters_never_match_other_tenant,
    same_external_id_in_both_tenants,
    responses_name_only_own_tenant,
    token_only_opens_own_workspace_url,
);

/// A user of the second workspace, with the ids a first-workspace client
/// could try.
struct ForeignUser {
    tenant: Tenant,
    client: ScimClient,
    id: String,
    user_name: String,
    external_id: String,
}

async fn foreign_user(stack: &TestStack) -> ForeignUser {
    let tenant = stack.second_workspace().await;
    let client = tenant.client();
    let user_name = unique_email("bianca.holt", SECOND_DOMAIN);
    let external_id = format!("ext-{}", Uuid::new_v4());
    let mut body = user_body(&user_name, "Bianca", "Holt");
    body["externalId"] = json!(external_id);
    let id = client.create_user(&body).await;
    ForeignUser {
        tenant,
        client,
        id,
        user_name,
        external_id,
    }
}

/// Returns the error body with the requested id replaced, so two 404s for
/// different ids compare equal when they differ only in the echoed id.
fn without_id(body: &Value, id: &str) -> String {
    body.to_string().replace(id, "{id}")
}

async fn other_tenant_id_reads_as_unknown(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_user(stack).await;
    let random = Uuid::new_v4().to_string();

    let cross = scim.get(&format!("Users/{}", foreign.id)).await;
    let unknown = scim.get(&format!("Users/{random}")).await;

    assert_error(&cross, 404, None);
    assert_eq!(
        without_id(&cross.body, &foreign.id),
        without_id(&unknown.body, &random)
    );
    assert!(!cross.text.contains(&foreign.user_name), "{cross}");
}

async fn other_tenant_user_cannot_be_changed(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_user(stack).await;
    let path = format!("Users/{}", foreign.id);
    let before = foreign.client.get_user(&foreign.id).await;

    let patched = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "path": "title", "value": "Owned"}])),
        )
        .await;
    let replaced = scim
        .put(
            &path,
            &user_body(&unique_email("bianca.holt", DOMAIN), "Bianca", "Owned"),
        )
        .await;
    let deleted = scim.delete(&path).await;

    assert_error(&patched, 404, None);
    assert_error(&replaced, 404, None);
    assert_error(&deleted, 404, None);
    let after = foreign.client.get_user(&foreign.id).await;
    assert_eq!(after, before, "the second workspace's user changed");
}

async fn filters_never_match_other_tenant(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_user(stack).await;
    let filters = [
        format!(r#"id eq "{}""#, foreign.id),
        format!(r#"userName eq "{}""#, foreign.user_name),
        format!(r#"externalId eq "{}""#, foreign.external_id),
        format!(r#"emails.value eq "{}""#, foreign.user_name),
    ];

    for filter in &filters {
        let listed = scim.filter_users(filter).await;
        let searched = scim
            .post(
                "Users/.search",
                &json!({"schemas": [SEARCH_REQUEST_URN], "filter": filter}),
            )
            .await;

        assert_list(&listed, 0, &[]);
        assert_eq!(searched.status, 200, "{searched}");
        assert_list(&searched.body, 0, &[]);
    }
    let everything = scim.get("Users").await;
    assert!(!everything.text.contains(&foreign.id), "{everything}");
}

async fn same_external_id_in_both_tenants(stack: &TestStack) {
    let first = stack.client();
    let second = stack.second_workspace().await.client();
    let mut first_body = user_body(&unique_email("forty.two", DOMAIN), "Forty", "Two");
    first_body["externalId"] = json!("42");
    let mut second_body = user_body(&unique_email("forty.two", SECOND_DOMAIN), "Forty", "Two");
    second_body["externalId"] = json!("42");

    let first_id = first.create_user(&first_body).await;
    let second_id = second.create_user(&second_body).await;

    assert_list(
        &first.filter_users(r#"externalId eq "42""#).await,
        1,
        &[&first_id],
    );
    assert_list(
        &second.filter_users(r#"externalId eq "42""#).await,
        1,
        &[&second_id],
    );
}

async fn responses_name_only_own_tenant(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_user(stack).await;
    let second = &foreign.tenant;
    let id = scim
        .create_user(&user_body(
            &unique_email("aurora.lind", DOMAIN),
            "Aurora",
            "Lind",
        ))
        .await;

    let responses = [
        scim.get(&format!("Users/{id}")).await,
        scim.get("Users").await,
        scim.get(&format!(
            "Users?filter={}",
            encode_plus(r#"userName sw "a""#)
        ))
        .await,
        scim.get("ResourceTypes").await,
        scim.get("ServiceProviderConfig").await,
    ];

    for response in &responses {
        assert!(!response.text.contains(&second.workspace_id), "{response}");
        assert!(!response.text.contains(&foreign.id), "{response}");
        assert!(!response.text.contains(&second.token), "{response}");
    }
    let listed = &responses[1].body;
    for resource in listed["Resources"].as_array().expect("no Resources") {
        let location = resource["meta"]["location"]
            .as_str()
            .expect("no meta.location");
        assert!(location.starts_with(&stack.base_url), "{location}");
    }
}

async fn token_only_opens_own_workspace_url(stack: &TestStack) {
    let foreign = foreign_user(stack).await;
    let second = &foreign.tenant;
    let crossing = ScimClient::new(
        e2e_tests::client::http_client(),
        &second.base_url,
        &stack.token,
    );

    let listed = crossing.send(crossing.request(Method::GET, "Users")).await;
    let created = crossing
        .post(
            "Users",
            &user_body(&unique_email("sneaky", SECOND_DOMAIN), "Sneaky", "Pete"),
        )
        .await;

    assert!(matches!(listed.status, 401 | 403 | 404), "{listed}");
    assert!(matches!(created.status, 401 | 403 | 404), "{created}");
    let second_users = second.client().get("Users").await;
    assert_eq!(second_users.body["totalResults"], 1, "{second_users}");
}
