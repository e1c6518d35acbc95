//! Group create, read, replace and delete, membership rules, PATCH response
//! sizes, request limits, the read-only `groups` of a user, and root search.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{
        DOMAIN, GROUP_URN, LIST_RESPONSE_URN, SEARCH_REQUEST_URN, USER_URN, empty_group,
        group_body, has_schema, is_absent_or_empty, member_list, member_values, patch_body,
        resource_ids, sorted, unique_email, unique_group_name, user_body,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    create_returns_members_and_location,
    create_without_schemas_fills_them,
    display_name_unique_ignoring_case,
    display_name_unique_after_unicode_folding,
    display_name_case_change_allowed,
    display_name_filter_ignores_case,
    unknown_member_fails_whole_patch,
    unknown_member_fails_create,
    unknown_member_fails_put,
    group_type_member_rejected,
    patch_returns_group_with_members,
    repeated_member_in_one_request_collapses,
    patch_projection_follows_query,
    excluded_members_omitted,
    delete_user_leaves_every_group,
    user_lists_its_groups,
    user_groups_patch_is_mutability_error,
    delete_group_keeps_users,
    root_search_returns_users_and_groups,
    discovery_lists_group_schema,
);

/// Maximum members a PATCH response lists. A larger group gets 204 No
/// Content.
const MAX_MEMBERS_IN_PATCH_RESPONSE: usize = 1_000;

/// Maximum member values in one request. More are rejected with 413.
const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

mod many_members {
    use super::*;

    e2e_tests::stack_tests!(patch_over_1000_members_is_204, over_10000_members_is_413,);
}

/// Returns a one-operation PatchOp that adds these users as members.
fn add_members<S: AsRef<str>>(user_ids: &[S]) -> Value {
    patch_body(json!([{"op": "add", "path": "members", "value": member_list(user_ids)}]))
}

async fn create_returns_members_and_location(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("archivist", 2).await;
    let name = unique_group_name("Archivists");

    let created = scim
        .post("Groups", &group_body(&name, &[&users[0], &users[1]]))
        .await;

    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    let location = format!("{}/Groups/{id}", stack.base_url);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert!(has_schema(&created.body, GROUP_URN), "{created}");
    assert_eq!(created.body["displayName"], name.as_str());
    assert_eq!(created.body["meta"]["resourceType"], "Group");
    assert_eq!(created.body["meta"]["location"], location.as_str());
    assert!(created.body["meta"]["version"].is_string(), "{created}");
    assert_eq!(member_values(&created.body), sorted(&users));
    for member in created.body["members"].as_array().expect("no members") {
        let value = member["value"].as_str().expect("member without value");
        let reference = format!("{}/Users/{value}", stack.base_url);
        assert_eq!(member["$ref"], reference.as_str(), "{member}");
        assert_eq!(member["type"], "User", "{member}");
    }
    let read = scim.get_group(&id).await;
    assert_eq!(read["id"], id.as_str());
    assert_eq!(member_values(&read), sorted(&users));
}

async fn create_without_schemas_fills_them(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Salt Marsh Survey");

    let created = scim.post("Groups", &json!({"displayName": name})).await;

    assert_eq!(created.status, 201, "{created}");
    assert!(has_schema(&created.body, GROUP_URN), "{created}");
    assert_eq!(created.body["displayName"], name.as_str());
}

async fn display_name_unique_ignoring_case(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Ropewalk Crew");
    let id = scim.create_group(&empty_group(&name)).await;
    let other_id = scim
        .create_group(&empty_group(&unique_group_name("Sailmakers")))
        .await;
    let other_before = scim.get_group(&other_id).await;

    let duplicate = scim
        .post("Groups", &empty_group(&name.to_uppercase()))
        .await;
    let renamed = scim
        .patch(
            &format!("Groups/{other_id}"),
            &patch_body(
                json!([{"op": "replace", "path": "displayName", "value": name.to_lowercase()}]),
            ),
        )
        .await;
    let replaced = scim
        .put(
            &format!("Groups/{other_id}"),
            &empty_group(&name.to_lowercase()),
        )
        .await;

    assert_error(&duplicate, 409, Some("uniqueness"));
    assert_error(&renamed, 409, Some("uniqueness"));
    assert_error(&replaced, 409, Some("uniqueness"));
    let matched = scim
        .filter_groups(&format!(r#"displayName eq "{name}""#))
        .await;
    assert_list(&matched, 1, &[&id]);
    assert_eq!(scim.get_group(&other_id).await, other_before);
}

async fn display_name_unique_after_unicode_folding(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Équipe Straße");
    // Unicode case folding maps `ß` to `ss`, so both names fold alike.
    let shouted = name.replace("Équipe Straße", "ÉQUIPE STRASSE");
    let id = scim.create_group(&empty_group(&name)).await;

    let duplicate = scim.post("Groups", &empty_group(&shouted)).await;

    assert_error(&duplicate, 409, Some("uniqueness"));
    let matched = scim
        .filter_groups(&format!(r#"displayName eq "{shouted}""#))
        .await;
    assert_list(&matched, 1, &[&id]);
}

async fn display_name_case_change_allowed(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("quay crew");
    let id = scim.create_group(&empty_group(&name)).await;
    let upper = name.to_uppercase();

    let renamed = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "replace", "path": "displayName", "value": upper}])),
        )
        .await;

    assert_eq!(renamed.status, 200, "{renamed}");
    assert_eq!(renamed.body["displayName"], upper.as_str());
    assert_eq!(scim.get_group(&id).await["displayName"], upper.as_str());
}

async fn display_name_filter_ignores_case(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Net Menders");
    let id = scim.create_group(&empty_group(&name)).await;

    let upper = scim
        .filter_groups(&format!(r#"displayName eq "{}""#, name.to_uppercase()))
        .await;
    let lower = scim
        .filter_groups(&format!(r#"displayName eq "{}""#, name.to_lowercase()))
        .await;

    assert_list(&upper, 1, &[&id]);
    assert_list(&lower, 1, &[&id]);
}

async fn unknown_member_fails_whole_patch(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("ferrier", 2).await;
    let name = unique_group_name("Ferriers");
    let id = scim.create_group(&group_body(&name, &[&users[0]])).await;
    let before = scim.get_group(&id).await;
    let unknown = Uuid::new_v4().to_string();

    let patched = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([
                {"op": "replace", "path": "displayName", "value": unique_group_name("Renamed")},
                {"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": unknown}]},
            ])),
        )
        .await;

    assert_error(&patched, 400, Some("invalidValue"));
    let detail = patched.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&unknown),
        "detail does not name {unknown}: {patched}"
    );
    assert!(
        !detail.contains(&users[1]),
        "detail names a known user: {patched}"
    );
    let after = scim.get_group(&id).await;
    assert_eq!(after["displayName"], name.as_str());
    assert_eq!(member_values(&after), sorted(&[&users[0]]));
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);

    let replaced = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "replace", "path": "members", "value": [{"value": users[1]}, {"value": unknown}]}])),
        )
        .await;

    assert_error(&replaced, 400, Some("invalidValue"));
    assert_eq!(scim.get_group(&id).await, after);
}

async fn unknown_member_fails_create(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("glazier", 1).await.remove(0);
    let name = unique_group_name("Glaziers");
    let unknown = Uuid::new_v4().to_string();

    let created = scim
        .post("Groups", &group_body(&name, &[&user, &unknown]))
        .await;

    assert_error(&created, 400, Some("invalidValue"));
    let detail = created.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&unknown),
        "detail does not name {unknown}: {created}"
    );
    let matched = scim
        .filter_groups(&format!(r#"displayName eq "{name}""#))
        .await;
    assert_list(&matched, 0, &[]);
}

async fn unknown_member_fails_put(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("cooper", 2).await;
    let name = unique_group_name("Coopers");
    let id = scim.create_group(&group_body(&name, &[&users[0]])).await;
    let before = scim.get_group(&id).await;
    let unknown = Uuid::new_v4().to_string();

    let replaced = scim
        .put(
            &format!("Groups/{id}"),
            &group_body(
                &unique_group_name("Coopers Renamed"),
                &[&users[1], &unknown],
            ),
        )
        .await;

    assert_error(&replaced, 400, Some("invalidValue"));
    let detail = replaced.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&unknown),
        "detail does not name {unknown}: {replaced}"
    );
    assert_eq!(scim.get_group(&id).await, before);
}

async fn group_type_member_rejected(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("tanner", 1).await.remove(0);
    let inner = scim
        .create_group(&empty_group(&unique_group_name("Inner Circle")))
        .await;
    let name = unique_group_name("Tanners");
    let id = scim.create_group(&group_body(&name, &[&user])).await;
    let before = scim.get_group(&id).await;
    let nested = json!([{"value": inner, "type": "Group"}]);

    let patched = scim
        .patch(
            &format!("Groups/{id}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": nested}])),
        )
        .await;
    let created = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_URN], "displayName": unique_group_name("Outer"), "members": nested}),
        )
        .await;
    let replaced = scim
        .put(
            &format!("Groups/{id}"),
            &json!({"schemas": [GROUP_URN], "displayName": name, "members": nested}),
        )
        .await;

    assert_error(&patched, 400, Some("invalidValue"));
    assert_error(&created, 400, Some("invalidValue"));
    assert_error(&replaced, 400, Some("invalidValue"));
    assert_eq!(scim.get_group(&id).await, before);
}

async fn patch_returns_group_with_members(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("chandler", 3).await;
    let name = unique_group_name("Chandlers");
    let id = scim.create_group(&group_body(&name, &[&users[0]])).await;

    let patched = scim
        .patch(&format!("Groups/{id}"), &add_members(&users[1..]))
        .await;

    assert_eq!(patched.status, 200, "{patched}");
    assert_eq!(patched.body["id"], id.as_str());
    assert_eq!(patched.body["displayName"], name.as_str());
    assert_eq!(member_values(&patched.body), sorted(&users));
    let etag = patched.header("etag").map(str::to_owned);
    assert_eq!(etag.as_deref(), patched.body["meta"]["version"].as_str());
}

async fn repeated_member_in_one_request_collapses(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("rigger", 2).await;
    let created = scim
        .post(
            "Groups",
            &group_body(&unique_group_name("Riggers"), &[&users[0], &users[0]]),
        )
        .await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();

    let patched = scim
        .patch(
            &format!("Groups/{id}"),
            &add_members(&[&users[1], &users[1], &users[0]]),
        )
        .await;

    assert_eq!(member_values(&created.body), sorted(&users[..1]));
    assert_eq!(patched.status, 200, "{patched}");
    assert_eq!(member_values(&patched.body), sorted(&users));
    assert_eq!(member_values(&scim.get_group(&id).await), sorted(&users));
}

async fn patch_projection_follows_query(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("wheelwright", 3).await;
    let id = scim
        .create_group(&empty_group(&unique_group_name("Wheelwrights")))
        .await;
    let path = format!("Groups/{id}");

    let without_members = scim
        .patch(
            &format!("{path}?excludedAttributes=members"),
            &add_members(&users[..1]),
        )
        .await;
    let name_only = scim
        .patch(
            &format!("{path}?attributes=displayName"),
            &add_members(&users[1..2]),
        )
        .await;
    let members_only = scim
        .patch(
            &format!("{path}?attributes=members"),
            &add_members(&users[2..]),
        )
        .await;

    assert_eq!(without_members.status, 200, "{without_members}");
    assert!(
        without_members.body["members"].is_null(),
        "{without_members}"
    );
    assert_eq!(without_members.body["id"], id.as_str());
    assert_eq!(name_only.status, 200, "{name_only}");
    assert!(name_only.body["members"].is_null(), "{name_only}");
    assert!(name_only.body["displayName"].is_string(), "{name_only}");
    assert_eq!(name_only.body["id"], id.as_str());
    assert_eq!(members_only.status, 200, "{members_only}");
    assert_eq!(member_values(&members_only.body), sorted(&users));
    assert!(members_only.body["displayName"].is_null(), "{members_only}");
}

async fn excluded_members_omitted(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("lampwright", 1).await.remove(0);
    let name = unique_group_name("Lampwrights");
    let id = scim.create_group(&group_body(&name, &[&user])).await;
    let by_name = e2e_tests::encode_plus(&format!(r#"displayName eq "{name}""#));

    let read = scim
        .get(&format!("Groups/{id}?excludedAttributes=members"))
        .await;
    let listed = scim
        .get(&format!(
            "Groups?excludedAttributes=members&filter={by_name}"
        ))
        .await;
    let searched = scim
        .post(
            "Groups/.search",
            &json!({
                "schemas": [SEARCH_REQUEST_URN],
                "filter": format!(r#"displayName eq "{name}""#),
                "excludedAttributes": ["members"],
            }),
        )
        .await;

    assert_eq!(read.status, 200, "{read}");
    assert!(read.body.get("members").is_none(), "{read}");
    assert_eq!(read.body["displayName"], name.as_str());
    assert_eq!(listed.status, 200, "{listed}");
    assert_list(&listed.body, 1, &[&id]);
    assert!(
        listed.body["Resources"][0].get("members").is_none(),
        "{listed}"
    );
    assert_eq!(searched.status, 200, "{searched}");
    assert_list(&searched.body, 1, &[&id]);
    assert!(
        searched.body["Resources"][0].get("members").is_none(),
        "{searched}"
    );
}

async fn delete_user_leaves_every_group(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("signaller", 2).await;
    let (leaving, staying) = (&users[0], &users[1]);
    let first = scim
        .create_group(&group_body(
            &unique_group_name("Signal Station"),
            &[leaving, staying],
        ))
        .await;
    let second = scim
        .create_group(&group_body(&unique_group_name("Semaphore"), &[leaving]))
        .await;

    let deleted = scim.delete(&format!("Users/{leaving}")).await;
    let first_after = scim.get_group(&first).await;
    let second_after = scim.get_group(&second).await;

    assert_eq!(deleted.status, 204, "{deleted}");
    assert_eq!(member_values(&first_after), sorted(&[staying]));
    assert!(
        is_absent_or_empty(&second_after["members"]),
        "{second_after}"
    );
    let member_check = scim
        .filter_groups(&format!(r#"members eq "{leaving}""#))
        .await;
    assert_list(&member_check, 0, &[]);
    assert_error(&scim.get(&format!("Users/{leaving}")).await, 404, None);
    assert_error(&scim.delete(&format!("Users/{leaving}")).await, 404, None);
}

async fn user_lists_its_groups(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("cartwright", 1).await.remove(0);
    let first_name = unique_group_name("Carters");
    let second_name = unique_group_name("Drovers");
    let first = scim.create_group(&group_body(&first_name, &[&user])).await;
    let second = scim.create_group(&group_body(&second_name, &[&user])).await;

    let read = scim.get_user(&user).await;

    let groups = read["groups"].as_array().expect("user without groups");
    assert_eq!(groups.len(), 2, "{read}");
    for (id, name) in [(&first, &first_name), (&second, &second_name)] {
        let entry = groups
            .iter()
            .find(|group| group["value"] == id.as_str())
            .unwrap_or_else(|| panic!("group {id} missing from {read}"));
        assert_eq!(entry["display"], name.as_str(), "{entry}");
        let reference = format!("{}/Groups/{id}", stack.base_url);
        assert_eq!(entry["$ref"], reference.as_str(), "{entry}");
    }

    let renamed = unique_group_name("Carters Renamed");
    scim.patch_group_ok(
        &first,
        &patch_body(json!([{"op": "replace", "path": "displayName", "value": renamed}])),
    )
    .await;
    scim.patch_group_ok(
        &second,
        &patch_body(json!([{"op": "remove", "path": format!(r#"members[value eq "{user}"]"#)}])),
    )
    .await;
    let after = scim.get_user(&user).await;
    let groups = after["groups"].as_array().expect("user without groups");
    assert_eq!(groups.len(), 1, "{after}");
    assert_eq!(groups[0]["value"], first.as_str());
    assert_eq!(groups[0]["display"], renamed.as_str());
    let excluded = scim
        .get(&format!("Users/{user}?excludedAttributes=groups"))
        .await;
    assert_eq!(excluded.status, 200, "{excluded}");
    assert!(excluded.body.get("groups").is_none(), "{excluded}");
}

async fn user_groups_patch_is_mutability_error(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("farrier", 1).await.remove(0);
    let group = scim
        .create_group(&empty_group(&unique_group_name("Farriers")))
        .await;
    let path = format!("Users/{user}");
    let before = scim.get_user(&user).await;

    let added = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "add", "path": "groups", "value": [{"value": group}]}])),
        )
        .await;
    let replaced = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "path": "groups", "value": [{"value": group}]}])),
        )
        .await;

    assert_error(&added, 400, Some("mutability"));
    assert_error(&replaced, 400, Some("mutability"));
    assert_eq!(scim.get_user(&user).await, before);
    assert!(is_absent_or_empty(&scim.get_group(&group).await["members"]));
}

async fn delete_group_keeps_users(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("miller", 2).await;
    let id = scim
        .create_group(&group_body(
            &unique_group_name("Millers"),
            &[&users[0], &users[1]],
        ))
        .await;

    let deleted = scim.delete(&format!("Groups/{id}")).await;

    assert_eq!(deleted.status, 204, "{deleted}");
    assert!(deleted.text.is_empty(), "{deleted}");
    assert_error(&scim.get(&format!("Groups/{id}")).await, 404, None);
    assert_error(&scim.delete(&format!("Groups/{id}")).await, 404, None);
    for user in &users {
        let read = scim.get_user(user).await;
        assert_eq!(read["id"], user.as_str());
        assert!(is_absent_or_empty(&read["groups"]), "{read}");
    }
}

async fn root_search_returns_users_and_groups(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("beacon.keeper", DOMAIN);
    let user = scim
        .create_user(&user_body(&user_name, "Beacon", "Keeper"))
        .await;
    let group = scim
        .create_group(&group_body(&unique_group_name("Beacon Keepers"), &[&user]))
        .await;

    let searched = scim
        .post(
            ".search",
            &json!({"schemas": [SEARCH_REQUEST_URN], "startIndex": 1, "count": 100}),
        )
        .await;

    assert_eq!(searched.status, 200, "{searched}");
    assert!(has_schema(&searched.body, LIST_RESPONSE_URN), "{searched}");
    assert_eq!(searched.body["totalResults"], 2, "{searched}");
    let ids = resource_ids(&searched.body);
    assert!(ids.contains(&user), "user {user} missing: {searched}");
    assert!(ids.contains(&group), "group {group} missing: {searched}");
    let resources = searched.body["Resources"].as_array().expect("no Resources");
    let found_user = resources
        .iter()
        .find(|resource| resource["id"] == user.as_str());
    let found_group = resources
        .iter()
        .find(|resource| resource["id"] == group.as_str());
    assert!(has_schema(found_user.expect("user resource"), USER_URN));
    assert!(has_schema(found_group.expect("group resource"), GROUP_URN));

    // Users come first, so the second result of two is the group.
    let second_page = scim
        .post(
            ".search",
            &json!({"schemas": [SEARCH_REQUEST_URN], "startIndex": 2, "count": 1}),
        )
        .await;

    assert_eq!(second_page.status, 200, "{second_page}");
    assert_list(&second_page.body, 2, &[&group]);
}

async fn patch_over_1000_members_is_204(stack: &TestStack) {
    let scim = stack.client();
    let users = scim
        .create_users("deckhand", MAX_MEMBERS_IN_PATCH_RESPONSE + 1)
        .await;
    let at_limit = scim
        .create_group(&empty_group(&unique_group_name("Full Crew")))
        .await;
    let over_limit = scim
        .create_group(&empty_group(&unique_group_name("Crowded Crew")))
        .await;

    let listed = scim
        .patch(
            &format!("Groups/{at_limit}"),
            &add_members(&users[..MAX_MEMBERS_IN_PATCH_RESPONSE]),
        )
        .await;
    let unlisted = scim
        .patch(&format!("Groups/{over_limit}"), &add_members(&users))
        .await;

    assert_eq!(listed.status, 200, "{listed}");
    assert_eq!(
        member_values(&listed.body),
        sorted(&users[..MAX_MEMBERS_IN_PATCH_RESPONSE])
    );
    assert_eq!(unlisted.status, 204, "{unlisted}");
    assert!(unlisted.text.is_empty(), "{unlisted}");
    let read = scim.get_group(&over_limit).await;
    assert_eq!(member_values(&read), sorted(&users));

    let renamed = unique_group_name("Crowded Crew Renamed");
    let projected = scim
        .patch(
            &format!("Groups/{over_limit}?excludedAttributes=members"),
            &patch_body(json!([{"op": "replace", "path": "displayName", "value": renamed}])),
        )
        .await;
    let name_only = scim
        .patch(
            &format!("Groups/{over_limit}?attributes=displayName"),
            &patch_body(
                json!([{"op": "remove", "path": format!(r#"members[value eq "{}"]"#, users[0])}]),
            ),
        )
        .await;

    assert_eq!(projected.status, 200, "{projected}");
    assert_eq!(projected.body["displayName"], renamed.as_str());
    assert!(projected.body.get("members").is_none(), "{projected}");
    assert_eq!(name_only.status, 200, "{name_only}");
    assert_eq!(name_only.body["displayName"], renamed.as_str());
    assert!(name_only.body.get("members").is_none(), "{name_only}");
    let after = scim.get_group(&over_limit).await;
    assert_eq!(member_values(&after), sorted(&users[1..]));
}

async fn over_10000_members_is_413(stack: &TestStack) {
    let scim = stack.client();
    let user = scim.create_users("stevedore", 1).await.remove(0);
    let name = unique_group_name("Stevedores");
    let id = scim.create_group(&group_body(&name, &[&user])).await;
    let before = scim.get_group(&id).await;
    let too_many: Vec<String> = (0..=MAX_MEMBERS_PER_REQUEST)
        .map(|_| Uuid::new_v4().to_string())
        .collect();
    let at_limit = &too_many[..MAX_MEMBERS_PER_REQUEST];

    let patched = scim
        .patch(&format!("Groups/{id}"), &add_members(&too_many))
        .await;
    let created = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_URN], "displayName": unique_group_name("Overflow"), "members": member_list(&too_many)}),
        )
        .await;
    let replaced = scim
        .put(
            &format!("Groups/{id}"),
            &json!({"schemas": [GROUP_URN], "displayName": name, "members": member_list(&too_many)}),
        )
        .await;
    // At the limit the request is read, and fails only on the unknown ids.
    let within_limit = scim
        .patch(&format!("Groups/{id}"), &add_members(at_limit))
        .await;

    assert_error(&patched, 413, None);
    assert_error(&created, 413, None);
    assert_error(&replaced, 413, None);
    assert_error(&within_limit, 400, Some("invalidValue"));
    assert_eq!(scim.get_group(&id).await, before);
}

async fn discovery_lists_group_schema(stack: &TestStack) {
    let scim = stack.client();

    let schemas = scim.get("Schemas").await;
    let group_schema = scim.get(&format!("Schemas/{GROUP_URN}")).await;
    let resource_type = scim.get("ResourceTypes/Group").await;

    assert_eq!(schemas.status, 200, "{schemas}");
    assert!(has_schema(&schemas.body, LIST_RESPONSE_URN), "{schemas}");
    let listed = schemas.body["Resources"]
        .as_array()
        .and_then(|resources| resources.iter().find(|schema| schema["id"] == GROUP_URN))
        .unwrap_or_else(|| panic!("no Group schema in {schemas}"));
    let attribute = |name: &str| {
        listed["attributes"]
            .as_array()
            .and_then(|attributes| {
                attributes
                    .iter()
                    .find(|attribute| attribute["name"] == name)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {name} attribute in {listed}"))
    };
    assert_eq!(attribute("displayName")["type"], "string");
    assert_eq!(attribute("members")["multiValued"], true);
    assert_eq!(group_schema.status, 200, "{group_schema}");
    assert_eq!(group_schema.body["id"], GROUP_URN);
    assert_eq!(resource_type.status, 200, "{resource_type}");
    assert_eq!(resource_type.body["endpoint"], "/Groups");
    assert_eq!(resource_type.body["schema"], GROUP_URN);
}
