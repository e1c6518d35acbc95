//! Group requests of Okta's SCIM client: Group Push with PATCH, the App
//! Integration Wizard's full PUT, renames that repeat the group's id,
//! member adds without `type`, and import paging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimClient, TestStack,
    assertions::{assert_error, assert_patched},
    fixtures::{
        DOMAIN, GROUP_URN, LIST_RESPONSE_URN, group_body, has_schema, member_values,
        okta_user_body, patch_body, resource_ids, sorted, unique_email, unique_group_name,
    },
};
use serde_json::{Value, json};

e2e_tests::stack_tests!(
    group_push,
    aiw_put_updates,
    rename_repeating_own_id,
    rename_to_same_name_changes_nothing,
    remove_member_by_filter_path,
    replace_members_sets_exact_list,
    add_member_without_type,
    add_member_appends,
    push_25_members,
    import_groups_page,
);

/// An Okta user: its id and its userName, which Okta sends as `display`.
struct OktaUser {
    id: String,
    user_name: String,
}

async fn create_okta_users(scim: &ScimClient, locals: &[&str]) -> Vec<OktaUser> {
    let mut users = Vec::new();
    for local in locals {
        let user_name = unique_email(local, DOMAIN);
        let body = okta_user_body(&user_name, "Okta", "Member", "Ferry-Crossing-7!");
        let id = scim.create_user(&body).await;
        users.push(OktaUser { id, user_name });
    }
    users
}

/// Returns Okta's member list: `{value, display}` without `type`.
fn okta_members(users: &[&OktaUser]) -> Value {
    Value::Array(
        users
            .iter()
            .map(|user| json!({"value": user.id, "display": user.user_name}))
            .collect(),
    )
}

fn ids(users: &[&OktaUser]) -> Vec<String> {
    sorted(
        &users
            .iter()
            .map(|user| user.id.as_str())
            .collect::<Vec<_>>(),
    )
}

pub(crate) async fn group_push(stack: &TestStack) {
    let scim = stack.client();
    let users = create_okta_users(
        &scim,
        &["otis.fairbairn", "pia.sandoval", "quinn.abernathy"],
    )
    .await;
    let (otis, pia, quinn) = (&users[0], &users[1], &users[2]);
    let name = unique_group_name("Harbor Pilots");
    let renamed = unique_group_name("Harbor Pilots West");

    let created = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_URN], "displayName": name, "members": []}),
        )
        .await;
    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["displayName"], name.as_str());
    assert!(has_schema(&created.body, GROUP_URN), "{created}");
    let id = created.id();
    let path = format!("Groups/{id}");

    let read = scim.get_group(&id).await;
    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["displayName"], name.as_str());
    let listed = scim.get("Groups?startIndex=1&count=100").await;
    assert_eq!(listed.status, 200, "{listed}");
    assert!(has_schema(&listed.body, LIST_RESPONSE_URN), "{listed}");
    assert_eq!(listed.body["startIndex"], 1);
    assert!(listed.body["itemsPerPage"].is_u64(), "{listed}");
    let pushed = listed.body["Resources"]
        .as_array()
        .and_then(|groups| groups.iter().find(|group| group["id"] == id.as_str()));
    assert_eq!(
        pushed.map(|group| &group["displayName"]),
        Some(&json!(name))
    );

    let add =
        patch_body(json!([{"op": "add", "path": "members", "value": okta_members(&[otis, pia])}]));
    assert_patched(&scim.patch(&path, &add).await);
    assert_eq!(member_values(&scim.get_group(&id).await), ids(&[otis, pia]));

    let swap = patch_body(json!([
        {"op": "remove", "path": format!(r#"members[value eq "{}"]"#, pia.id)},
        {"op": "add", "path": "members", "value": okta_members(&[quinn])},
    ]));
    assert_patched(&scim.patch(&path, &swap).await);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        ids(&[otis, quinn])
    );

    let full_push = patch_body(
        json!([{"op": "replace", "path": "members", "value": okta_members(&[otis, pia])}]),
    );
    assert_patched(&scim.patch(&path, &full_push).await);
    assert_eq!(member_values(&scim.get_group(&id).await), ids(&[otis, pia]));

    let rename =
        patch_body(json!([{"op": "replace", "value": {"id": id, "displayName": renamed}}]));
    let renamed_response = scim.patch(&path, &rename).await;
    assert_eq!(renamed_response.status, 200, "{renamed_response}");
    assert_eq!(renamed_response.body["id"], id.as_str());
    assert_eq!(renamed_response.body["displayName"], renamed.as_str());
    let read = scim.get_group(&id).await;
    assert_eq!(read["displayName"], renamed.as_str());
    assert_eq!(member_values(&read), ids(&[otis, pia]));

    let deleted = scim.delete(&path).await;
    assert_eq!(deleted.status, 204, "{deleted}");
    assert_error(&scim.get(&path).await, 404, None);
}

pub(crate) async fn aiw_put_updates(stack: &TestStack) {
    let scim = stack.client();
    let users = create_okta_users(&scim, &["rhea.lindqvist", "sami.okafor"]).await;
    let (rhea, sami) = (&users[0], &users[1]);
    let name = unique_group_name("Night Ferry");
    let renamed = unique_group_name("Night Ferry Crew");
    let id = scim
        .create_group(&json!({"schemas": [GROUP_URN], "displayName": name, "members": []}))
        .await;
    let path = format!("Groups/{id}");

    let two_members = scim
        .put(
            &path,
            &json!({"schemas": [GROUP_URN], "id": id, "displayName": name, "members": okta_members(&[rhea, sami])}),
        )
        .await;
    assert_eq!(two_members.status, 200, "{two_members}");
    assert_eq!(two_members.body["id"], id.as_str());
    assert_eq!(two_members.body["displayName"], name.as_str());
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        ids(&[rhea, sami])
    );

    let one_member = scim
        .put(
            &path,
            &json!({"schemas": [GROUP_URN], "id": id, "displayName": renamed, "members": okta_members(&[sami])}),
        )
        .await;
    assert_eq!(one_member.status, 200, "{one_member}");
    assert_eq!(one_member.body["displayName"], renamed.as_str());
    let read = scim.get_group(&id).await;
    assert_eq!(read["displayName"], renamed.as_str());
    assert_eq!(member_values(&read), ids(&[sami]));

    let deleted = scim.delete(&path).await;
    assert_eq!(deleted.status, 204, "{deleted}");
}

pub(crate) async fn rename_repeating_own_id(stack: &TestStack) {
    let scim = stack.client();
    let id = scim
        .create_group(&group_body::<&str>(&unique_group_name("Survey Crew"), &[]))
        .await;
    let renamed = unique_group_name("Survey Crew North");

    let patched = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "replace", "value": {"id": id, "displayName": renamed}}])),
        )
        .await;

    assert_patched(&patched);
    let read = scim.get_group(&id).await;
    assert_eq!(read["displayName"], renamed.as_str());
    assert_eq!(read["id"], id.as_str());
}

pub(crate) async fn rename_to_same_name_changes_nothing(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("tide.reader", 1).await.remove(0);
    let name = unique_group_name("Tide Readers");
    let id = scim.create_group(&group_body(&name, &[&user])).await;
    let before = scim.get_group(&id).await;

    let patched = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "replace", "value": {"id": id, "displayName": name}}])),
        )
        .await;

    assert_eq!(patched.status, 200, "{patched}");
    assert_eq!(patched.body["meta"]["version"], before["meta"]["version"]);
    let after = scim.get_group(&id).await;
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
    assert_eq!(
        after["meta"]["lastModified"],
        before["meta"]["lastModified"]
    );
    assert_eq!(after, before);
}

pub(crate) async fn remove_member_by_filter_path(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("dune.ranger", 2).await;
    let id = scim
        .create_group(&group_body(&unique_group_name("Dune Rangers"), &users))
        .await;

    let removed = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(
                json!([{"op": "remove", "path": format!(r#"members[value eq "{}"]"#, users[1])}]),
            ),
        )
        .await;

    assert_patched(&removed);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        sorted(&users[..1])
    );
}

pub(crate) async fn replace_members_sets_exact_list(stack: &TestStack) {
    let scim = stack.client();
    let users = create_okta_users(
        &scim,
        &["octavian.reyes", "quillon.adebayo", "rosalind.okafor"],
    )
    .await;
    let (leaving, staying, joining) = (&users[0], &users[1], &users[2]);
    let id = scim
        .create_group(&group_body(
            &unique_group_name("Chart Room"),
            &[&leaving.id, &staying.id],
        ))
        .await;

    let replaced = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "replace", "path": "members", "value": okta_members(&[staying, joining])}])),
        )
        .await;

    assert_patched(&replaced);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        ids(&[staying, joining])
    );
}

pub(crate) async fn add_member_without_type(stack: &TestStack) {
    let scim = stack.client();
    let users = create_okta_users(&scim, &["silas.vantongeren"]).await;
    let id = scim
        .create_group(&group_body::<&str>(&unique_group_name("Buoy Tenders"), &[]))
        .await;

    let added = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(
                json!([{"op": "add", "path": "members", "value": okta_members(&[&users[0]])}]),
            ),
        )
        .await;

    assert_patched(&added);
    let read = scim.get_group(&id).await;
    assert_eq!(member_values(&read), ids(&[&users[0]]));
    assert_eq!(read["members"][0]["type"], "User", "{read}");
}

pub(crate) async fn add_member_appends(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("pilot.boat", 3).await;
    let id = scim
        .create_group(&group_body(&unique_group_name("Pilot Boat"), &users[..2]))
        .await;
    let path = format!("Groups/{id}");

    let appended = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}])),
        )
        .await;
    let repeated = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}])),
        )
        .await;

    assert_patched(&appended);
    assert_patched(&repeated);
    assert_eq!(member_values(&scim.get_group(&id).await), sorted(&users));
}

pub(crate) async fn push_25_members(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("harbor.deckhand", 25).await;
    let created = scim
        .create_group(&group_body(&unique_group_name("Harbor Deckhands"), &users))
        .await;
    let patched = scim
        .create_group(&group_body::<&str>(
            &unique_group_name("Harbor Deckhands Relief"),
            &[],
        ))
        .await;

    let added = scim
        .patch(
            &format!("Groups/{patched}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": e2e_tests::fixtures::member_list(&users)}])),
        )
        .await;

    assert_patched(&added);
    assert_eq!(
        member_values(&scim.get_group(&created).await),
        sorted(&users)
    );
    assert_eq!(
        member_values(&scim.get_group(&patched).await),
        sorted(&users)
    );
}

pub(crate) async fn import_groups_page(stack: &TestStack) {
    let scim = stack.client();
    let mut created = Vec::new();
    for i in 1..=3 {
        let name = unique_group_name(&format!("Import Row {i}"));
        created.push(scim.create_group(&group_body::<&str>(&name, &[])).await);
    }

    let all = scim.get("Groups").await;
    let first = scim.get("Groups?startIndex=1&count=100").await;
    let next = scim.get("Groups?startIndex=101&count=100").await;
    let small = scim.get("Groups?startIndex=1&count=2").await;
    let small_again = scim.get("Groups?startIndex=1&count=2").await;
    let rest = scim.get("Groups?startIndex=3&count=2").await;

    assert_eq!(all.status, 200, "{all}");
    assert!(has_schema(&all.body, LIST_RESPONSE_URN), "{all}");
    assert_eq!(all.body["totalResults"], 3);
    assert_eq!(first.status, 200, "{first}");
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(first.body["itemsPerPage"], 3);
    assert_eq!(first.body["totalResults"], 3);
    assert_eq!(sorted(&resource_ids(&first.body)), sorted(&created));
    assert_eq!(next.status, 200, "{next}");
    assert_eq!(next.body["totalResults"], 3);
    assert!(resource_ids(&next.body).is_empty(), "{next}");
    assert_eq!(small.body["startIndex"], 1);
    assert_eq!(small.body["itemsPerPage"], 2);
    assert_eq!(resource_ids(&small.body), resource_ids(&small_again.body));
    assert_eq!(rest.body["startIndex"], 3);
    let mut paged = resource_ids(&small.body);
    paged.extend(resource_ids(&rest.body));
    assert_eq!(sorted(&paged), sorted(&created));
}
