//! Group requests of Microsoft Entra ID's provisioning service: matching by
//! displayName without members, the ADSCIM group schema URI, capitalised
//! ops, member removal by value list, member reference checks, the
//! `aadOptscim062020` flag, and paging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimClient, TestStack,
    assertions::{assert_error, assert_list, assert_patched},
    encode_plus,
    fixtures::{
        DOMAIN, ERROR_URN, GROUP_URN, LIST_RESPONSE_URN, entra_user_body, group_body, has_schema,
        is_absent_or_empty, member_values, patch_body, sorted, unique_email, unique_group_name,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    group_lifecycle,
    member_reference_check,
    scim062020_flag_on_group_requests,
    remove_member_by_value_list,
    unknown_member_add_is_400,
    display_name_with_spaces_matches,
    display_name_filter_is_exact,
    test_connection_group_probe,
    groups_page,
);

/// Group schema URI that Entra ID lists next to the core Group schema.
const ADSCIM_GROUP_URN: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// Creates users as Entra ID does and returns their ids.
async fn create_entra_users(scim: &ScimClient, locals: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for local in locals {
        let user_name = unique_email(local, DOMAIN);
        let email = unique_email(&format!("{local}.mail"), DOMAIN);
        let body = entra_user_body(
            &user_name,
            &email,
            "Entra",
            "Member",
            &Uuid::new_v4().to_string(),
        );
        ids.push(scim.create_user(&body).await);
    }
    ids
}

/// Returns a group as Entra ID creates it: both schema URIs, an
/// `externalId`, `meta.resourceType` and no members.
fn entra_group_body(display_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [GROUP_URN, ADSCIM_GROUP_URN],
        "externalId": external_id,
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    })
}

/// Returns Entra ID's member add: `Add` on `members` with `$ref: null`.
fn entra_add_members(user_ids: &[&str]) -> Value {
    let members: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    patch_body(json!([{"op": "Add", "path": "members", "value": members}]))
}

/// Returns `Groups?excludedAttributes=members&filter=<filter>`, encoded as
/// Entra ID encodes it.
fn without_members_query(filter: &str) -> String {
    format!(
        "Groups?excludedAttributes=members&filter={}",
        encode_plus(filter)
    )
}

pub(crate) async fn group_lifecycle(stack: &TestStack) {
    let scim = stack.client();
    let users = create_entra_users(&scim, &["hugo.pellam", "ines.kaur", "jonah.creswell"]).await;
    let name = unique_group_name("Cartographers");
    let renamed = unique_group_name("Cartography Guild");
    let external_id = Uuid::new_v4().to_string();
    let by_name = format!(r#"displayName eq "{name}""#);

    // Matching before the create: no match is 200 with an empty list.
    let before = scim.get(&without_members_query(&by_name)).await;
    assert_eq!(before.status, 200, "{before}");
    assert_list(&before.body, 0, &[]);

    let created = scim
        .post("Groups", &entra_group_body(&name, &external_id))
        .await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    assert_eq!(created.body["displayName"], name.as_str());
    assert_eq!(created.body["externalId"], external_id.as_str());
    assert!(is_absent_or_empty(&created.body["members"]), "{created}");
    assert!(has_schema(&created.body, GROUP_URN), "{created}");
    let path = format!("Groups/{id}");

    let read = scim
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_eq!(read.status, 200, "{read}");
    assert_eq!(read.body["id"], id.as_str());
    assert_eq!(read.body["displayName"], name.as_str());
    assert!(read.body.get("members").is_none(), "{read}");
    let matched = scim.get(&without_members_query(&by_name)).await;
    assert_eq!(matched.status, 200, "{matched}");
    assert_list(&matched.body, 1, &[&id]);
    assert!(
        matched.body["Resources"][0].get("members").is_none(),
        "{matched}"
    );

    let rename = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "Replace", "path": "displayName", "value": renamed}])),
        )
        .await;
    assert_patched(&rename);
    let read = scim
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_eq!(read.body["displayName"], renamed.as_str(), "{read}");
    let old_name = scim.get(&without_members_query(&by_name)).await;
    assert_list(&old_name.body, 0, &[]);

    assert_patched(&scim.patch(&path, &entra_add_members(&[&users[0]])).await);
    assert_patched(
        &scim
            .patch(&path, &entra_add_members(&[&users[1], &users[2]]))
            .await,
    );
    assert_eq!(member_values(&scim.get_group(&id).await), sorted(&users));

    // Entra's default removal: `Remove` on `members` with a value list.
    let removal = patch_body(json!([{
        "op": "Remove",
        "path": "members",
        "value": [{"$ref": null, "value": users[0]}],
    }]));
    assert_patched(&scim.patch(&path, &removal).await);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        sorted(&users[1..])
    );

    let duplicate = scim
        .post(
            "Groups",
            &entra_group_body(&renamed, &Uuid::new_v4().to_string()),
        )
        .await;
    assert_error(&duplicate, 409, Some("uniqueness"));

    let deleted = scim.delete(&path).await;
    assert_eq!(deleted.status, 204, "{deleted}");
    let after_delete = scim
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_error(&after_delete, 404, None);
    assert!(has_schema(&after_delete.body, ERROR_URN), "{after_delete}");
    assert_eq!(scim.get_user(&users[1]).await["id"], users[1].as_str());
}

pub(crate) async fn member_reference_check(stack: &TestStack) {
    let scim = stack.client();
    let users = create_entra_users(&scim, &["mara.okonkwo", "nils.arbogast"]).await;
    let id = scim
        .create_group(&entra_group_body(
            &unique_group_name("Lamplighters"),
            &Uuid::new_v4().to_string(),
        ))
        .await;
    assert_patched(
        &scim
            .patch(&format!("Groups/{id}"), &entra_add_members(&[&users[0]]))
            .await,
    );

    let member = scim
        .get(&without_members_query(&format!(
            r#"id eq "{id}" and members eq "{}""#,
            users[0]
        )))
        .await;
    let non_member = scim
        .get(&without_members_query(&format!(
            r#"id eq "{id}" and members eq "{}""#,
            users[1]
        )))
        .await;

    assert_eq!(member.status, 200, "{member}");
    assert_list(&member.body, 1, &[&id]);
    assert!(
        member.body["Resources"][0].get("members").is_none(),
        "{member}"
    );
    assert_eq!(non_member.status, 200, "{non_member}");
    assert_list(&non_member.body, 0, &[]);
}

pub(crate) async fn scim062020_flag_on_group_requests(stack: &TestStack) {
    let scim = stack.client().with_base_query("aadOptscim062020");
    let users = create_entra_users(&scim, &["kaia.ferreira", "lior.bensalem"]).await;
    let created = scim
        .post(
            "Groups",
            &entra_group_body(
                &unique_group_name("Tide Watchers"),
                &Uuid::new_v4().to_string(),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    let path = format!("Groups/{id}");

    assert_patched(
        &scim
            .patch(&path, &entra_add_members(&[&users[0], &users[1]]))
            .await,
    );
    assert_eq!(member_values(&scim.get_group(&id).await), sorted(&users));

    // With the flag, removal names the member in the path and has no value.
    let removal = patch_body(
        json!([{"op": "remove", "path": format!(r#"members[value eq "{}"]"#, users[0])}]),
    );
    assert_patched(&scim.patch(&path, &removal).await);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        sorted(&users[1..])
    );

    let renamed = unique_group_name("Tide Keepers");
    let rename = patch_body(json!([{"op": "replace", "path": "displayName", "value": renamed}]));
    assert_patched(&scim.patch(&path, &rename).await);
    let read = scim
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_eq!(read.status, 200, "{read}");
    assert_eq!(read.body["displayName"], renamed.as_str());
    assert!(read.body.get("members").is_none(), "{read}");

    let deleted = scim.delete(&path).await;
    assert_eq!(deleted.status, 204, "{deleted}");
}

pub(crate) async fn remove_member_by_value_list(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("lighthouse.keeper", 2).await;
    let id = scim
        .create_group(&group_body(
            &unique_group_name("Lighthouse Keepers"),
            &users,
        ))
        .await;

    let removed = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(
                json!([{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}]),
            ),
        )
        .await;

    assert_patched(&removed);
    assert_eq!(
        member_values(&scim.get_group(&id).await),
        sorted(&users[..1])
    );
}

pub(crate) async fn unknown_member_add_is_400(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("harbour.clerk", 1).await.remove(0);
    let id = scim
        .create_group(&group_body(&unique_group_name("Harbour Office"), &[&user]))
        .await;

    let added = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "Add", "path": "members", "value": [{"value": "no-such-user-7c1e"}]}])),
        )
        .await;

    assert_error(&added, 400, Some("invalidValue"));
    let detail = added.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no-such-user-7c1e"), "{added}");
    assert_eq!(member_values(&scim.get_group(&id).await), sorted(&[&user]));
}

pub(crate) async fn display_name_with_spaces_matches(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("hollis.wren", 1).await.remove(0);
    let name = unique_group_name("Field Ops North Shore");
    let id = scim.create_group(&group_body(&name, &[&user])).await;

    let matched = scim
        .get(&without_members_query(&format!(
            r#"displayName eq "{name}""#
        )))
        .await;

    assert_eq!(matched.status, 200, "{matched}");
    assert_list(&matched.body, 1, &[&id]);
    assert!(
        matched.body["Resources"][0].get("members").is_none(),
        "{matched}"
    );
}

pub(crate) async fn display_name_filter_is_exact(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Harbor Pilots");
    let id = scim.create_group(&group_body::<&str>(&name, &[])).await;
    scim.create_group(&group_body::<&str>(&format!("{name} Reserve"), &[]))
        .await;

    let matched = scim
        .filter_groups(&format!(r#"displayName eq "{name}""#))
        .await;

    assert_list(&matched, 1, &[&id]);
}

pub(crate) async fn test_connection_group_probe(stack: &TestStack) {
    let scim = stack.client();

    let probed = scim
        .get(&without_members_query(&format!(
            r#"displayName eq "{}""#,
            Uuid::new_v4()
        )))
        .await;

    assert_eq!(probed.status, 200, "{probed}");
    assert_list(&probed.body, 0, &[]);
}

pub(crate) async fn groups_page(stack: &TestStack) {
    let scim = stack.client();
    let mut ids = Vec::new();
    for i in 1..=6 {
        let name = unique_group_name(&format!("Page Group {i}"));
        ids.push(scim.create_group(&group_body::<&str>(&name, &[])).await);
    }

    let first = scim.get("Groups?startIndex=1&count=5").await;
    let second = scim.get("Groups?startIndex=6&count=5").await;

    assert_eq!(first.status, 200, "{first}");
    assert!(has_schema(&first.body, LIST_RESPONSE_URN), "{first}");
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(first.body["itemsPerPage"], 5);
    assert_eq!(first.body["totalResults"], 6);
    assert_eq!(second.status, 200, "{second}");
    assert_eq!(second.body["startIndex"], 6);
    assert_eq!(second.body["totalResults"], 6);
    let mut paged = e2e_tests::fixtures::resource_ids(&first.body);
    paged.extend(e2e_tests::fixtures::resource_ids(&second.body));
    assert_eq!(sorted(&paged), sorted(&ids));
}
