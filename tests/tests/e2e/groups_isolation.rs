//! Tenant isolation of groups: another workspace's groups are unknown by id,
//! filter and search, and its users cannot be members.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimClient, TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{
        GROUP_URN, SEARCH_REQUEST_URN, SECOND_DOMAIN, group_body, member_list, member_values,
        patch_body, sorted, unique_email, unique_group_name, user_body,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    other_workspace_group_reads_as_unknown,
    other_workspace_user_is_unknown_member,
    display_name_unique_per_workspace,
    filters_never_match_other_workspace,
);

/// A group of the second workspace with one member, and that workspace's
/// client.
struct ForeignGroup {
    client: ScimClient,
    id: String,
    name: String,
    member: String,
}

async fn foreign_group(stack: &TestStack) -> ForeignGroup {
    let client = stack.second_workspace().await.client();
    let user_name = unique_email("bianca.holt", SECOND_DOMAIN);
    let member = client
        .create_user(&user_body(&user_name, "Bianca", "Holt"))
        .await;
    let name = unique_group_name("Foreign Crew");
    let id = client.create_group(&group_body(&name, &[&member])).await;
    ForeignGroup {
        client,
        id,
        name,
        member,
    }
}

/// Returns the error body with the requested id replaced, so two 404s for
/// different ids compare equal when they differ only in the echoed id.
fn without_id(body: &Value, id: &str) -> String {
    body.to_string().replace(id, "{id}")
}

async fn other_workspace_group_reads_as_unknown(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_group(stack).await;
    let before = foreign.client.get_group(&foreign.id).await;
    let random = Uuid::new_v4().to_string();
    let rename =
        patch_body(json!([{"op": "replace", "path": "displayName", "value": "Taken Over"}]));
    let replacement = group_body::<&str>("Taken Over", &[]);

    for id in [&foreign.id, &random] {
        let path = format!("Groups/{id}");

        let read = scim.get(&path).await;
        let patched = scim.patch(&path, &rename).await;
        let replaced = scim.put(&path, &replacement).await;
        let deleted = scim.delete(&path).await;

        assert_error(&read, 404, None);
        assert_error(&patched, 404, None);
        assert_error(&replaced, 404, None);
        assert_error(&deleted, 404, None);
    }
    let foreign_read = scim.get(&format!("Groups/{}", foreign.id)).await;
    let random_read = scim.get(&format!("Groups/{random}")).await;
    assert_eq!(
        without_id(&foreign_read.body, &foreign.id),
        without_id(&random_read.body, &random)
    );
    assert_eq!(foreign.client.get_group(&foreign.id).await, before);
}

async fn other_workspace_user_is_unknown_member(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_group(stack).await;
    let name = unique_group_name("Home Crew");
    let id = scim.create_group(&group_body::<&str>(&name, &[])).await;
    let before = scim.get_group(&id).await;
    let path = format!("Groups/{id}");
    let foreign_members = member_list(&[&foreign.member]);

    let patched = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "add", "path": "members", "value": foreign_members}])),
        )
        .await;
    let replaced = scim
        .put(
            &path,
            &json!({"schemas": [GROUP_URN], "displayName": name, "members": foreign_members}),
        )
        .await;
    let created = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_URN], "displayName": unique_group_name("Mixed Crew"), "members": foreign_members}),
        )
        .await;

    for response in [&patched, &replaced, &created] {
        assert_error(response, 400, Some("invalidValue"));
        let detail = response.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(&foreign.member), "{response}");
    }
    assert_eq!(scim.get_group(&id).await, before);
    let foreign_after = foreign.client.get_group(&foreign.id).await;
    assert_eq!(member_values(&foreign_after), sorted(&[&foreign.member]));
}

async fn display_name_unique_per_workspace(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_group(stack).await;

    let created = scim
        .post("Groups", &group_body::<&str>(&foreign.name, &[]))
        .await;

    assert_eq!(created.status, 201, "{created}");
    assert_ne!(created.id(), foreign.id);
    assert_eq!(created.body["displayName"], foreign.name.as_str());
}

async fn filters_never_match_other_workspace(stack: &TestStack) {
    let scim = stack.client();
    let foreign = foreign_group(stack).await;
    let filters = [
        format!(r#"id eq "{}""#, foreign.id),
        format!(r#"displayName eq "{}""#, foreign.name),
        format!(r#"members eq "{}""#, foreign.member),
    ];

    for filter in &filters {
        let listed = scim.filter_groups(filter).await;
        let searched = scim
            .post(
                "Groups/.search",
                &json!({"schemas": [SEARCH_REQUEST_URN], "filter": filter}),
            )
            .await;

        assert_list(&listed, 0, &[]);
        assert_eq!(searched.status, 200, "{searched}");
        assert_list(&searched.body, 0, &[]);
    }
    let everything = scim.get("Groups").await;
    assert!(!everything.text.contains(&foreign.id), "{everything}");
    let root = scim
        .post(".search", &json!({"schemas": [SEARCH_REQUEST_URN]}))
        .await;
    assert_eq!(root.status, 200, "{root}");
    assert!(!root.text.contains(&foreign.id), "{root}");
    assert!(!root.text.contains(&foreign.member), "{root}");
}
