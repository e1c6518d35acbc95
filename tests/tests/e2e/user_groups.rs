//! User Groups and their sync from IdP groups through the admin API: an
//! Okta group synced to a User Group that follows every SCIM change of it,
//! manual User Groups beside it, and the routes' error cases.
//!
//! groups-svc mirrors a SCIM change of a synced IdP group in the same
//! transaction, so reads right after the SCIM request see it. rbac-svc and
//! audit-svc learn changes through outboxes, so scenarios poll for those.

use e2e_tests::{
    ScimClient, TestStack,
    fixtures::{
        DOMAIN, GROUP_URN, member_values, okta_user_body, patch_body, sorted, unique_email,
        unique_group_name, user_body,
    },
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    admin::{ADMIN_KEY, AdminClient, AdminResponse, admin_token, create_workspace},
    admin_audit::wait_for_events,
    admin_roles::wait_for_group,
};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    okta_group_sync_follows_scim,
    sync_list_shows_state_and_role,
    sync_errors_change_nothing,
    manual_user_group_members,
    user_group_create_invalid_name,
    member_add_unknown_user_not_found,
    unknown_user_group_not_found,
    user_groups_list_pages_and_filters,
    invalid_queries_rejected,
    user_group_routes_forbid_other_workspace,
);

/// Creates Okta users and returns their ids.
async fn okta_users(scim: &ScimClient, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let user_name = unique_email(&format!("okta.sync{n}"), DOMAIN);
        let body = okta_user_body(&user_name, "Okta", "Synced", "Tide-Pool-42!");
        ids.push(scim.create_user(&body).await);
    }
    ids
}

/// Returns Okta's member list: `{value, display}` without `type`.
fn okta_members(ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({"value": id, "display": format!("{id}@{DOMAIN}")}))
            .collect(),
    )
}

/// Creates a group as Okta's Group Push does: a POST with its members.
async fn push_group(scim: &ScimClient, name: &str, member_ids: &[&str]) -> String {
    scim.create_group(&json!({
        "schemas": [GROUP_URN],
        "displayName": name,
        "members": okta_members(member_ids),
    }))
    .await
}

/// Returns the members of a User Group, sorted.
async fn user_group_members(admin: &AdminClient, user_group_id: &str) -> Vec<String> {
    let page = admin
        .ok(
            Method::GET,
            &format!("user-groups/{user_group_id}/members?page_size=1000"),
            None,
        )
        .await;
    assert!(page["next_page_token"].is_null(), "{page}");
    let ids: Vec<String> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["id"].as_str().unwrap().to_owned())
        .collect();
    sorted(&ids)
}

/// Returns the `GET sync` entry of an IdP group.
async fn sync_entry(admin: &AdminClient, group_id: &str) -> Option<Value> {
    let listed = admin.ok(Method::GET, "sync?page_size=1000", None).await;
    listed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["group_id"] == group_id)
        .cloned()
}

async fn user_group_ids(admin: &AdminClient) -> Vec<String> {
    let listed = admin
        .ok(Method::GET, "user-groups?page_size=1000", None)
        .await;
    listed["user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user_group| user_group["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts an admin API error with this status, code and reason.
fn assert_admin_error(response: &AdminResponse, status: u16, code: &str, reason: Option<&str>) {
    assert_eq!(response.status, status, "{response}");
    assert_eq!(response.body["code"], code, "{response}");
    if let Some(reason) = reason {
        assert_eq!(response.body["reason"], reason, "{response}");
    }
}

async fn okta_group_sync_follows_scim(stack: &TestStack) {
    let scim = stack.client();
    let admin = AdminClient::for_demo(stack);
    let users = okta_users(&scim, 4).await;
    let [first, second, third, fourth] =
        [&users[0], &users[1], &users[2], &users[3]].map(String::as_str);
    let name = unique_group_name("Trial Team");
    let group_id = push_group(&scim, &name, &[first, second]).await;
    // A manual User Group with the same name stays apart from the IdP group.
    let manual = admin
        .ok(Method::POST, "user-groups", Some(json!({"name": name})))
        .await;
    let manual_id = manual["id"].as_str().unwrap().to_owned();
    admin
        .ok(
            Method::PUT,
            &format!("user-groups/{manual_id}/members/{fourth}"),
            None,
        )
        .await;

    let switched = admin
        .ok(Method::PUT, &format!("sync/{group_id}"), None)
        .await;
    let synced_id = switched["user_group"]["id"].as_str().unwrap().to_owned();
    assert_eq!(switched["sync_enabled"], true, "{switched}");
    assert_eq!(switched["user_group"]["source"], "idp", "{switched}");
    assert_eq!(switched["user_group"]["name"], name.as_str(), "{switched}");
    assert_eq!(switched["user_group"]["member_count"], 2, "{switched}");
    assert_eq!(
        switched["user_group"]["idp_group_id"],
        group_id.as_str(),
        "{switched}"
    );
    assert_ne!(
        synced_id, manual_id,
        "sync never attaches to a manual group"
    );
    assert_eq!(
        user_group_members(&admin, &synced_id).await,
        sorted(&[first, second])
    );

    // Okta renames, adds and removes in separate PATCH requests.
    let renamed = unique_group_name("Trial Team West");
    let path = format!("Groups/{group_id}");
    for operations in [
        json!([{"op": "replace", "value": {"id": group_id, "displayName": renamed}}]),
        json!([{"op": "add", "path": "members", "value": okta_members(&[third])}]),
        json!([{"op": "remove", "path": format!(r#"members[value eq "{first}"]"#)}]),
    ] {
        let patched = scim.patch(&path, &patch_body(operations)).await;
        assert!(patched.status == 200 || patched.status == 204, "{patched}");
    }
    let after_patch = admin
        .ok(Method::GET, &format!("user-groups/{synced_id}"), None)
        .await;
    assert_eq!(after_patch["name"], renamed.as_str(), "{after_patch}");
    assert_eq!(after_patch["member_count"], 2, "{after_patch}");
    assert_eq!(
        user_group_members(&admin, &synced_id).await,
        sorted(&[second, third])
    );
    assert_eq!(
        member_values(&scim.get_group(&group_id).await),
        sorted(&[second, third])
    );

    // Manual changes of the synced group are rejected and change nothing.
    let manual_add = admin
        .send(
            Method::PUT,
            &format!("user-groups/{synced_id}/members/{fourth}"),
            None,
        )
        .await;
    let manual_remove = admin
        .send(
            Method::DELETE,
            &format!("user-groups/{synced_id}/members/{second}"),
            None,
        )
        .await;
    let manual_delete = admin
        .send(Method::DELETE, &format!("user-groups/{synced_id}"), None)
        .await;
    for rejected in [&manual_add, &manual_remove, &manual_delete] {
        assert_admin_error(rejected, 409, "failed_precondition", Some("IDP_MANAGED"));
        assert!(
            rejected.body["message"]
                .as_str()
                .unwrap()
                .contains("identity provider manages this group"),
            "{rejected}"
        );
    }
    assert_eq!(
        user_group_members(&admin, &synced_id).await,
        sorted(&[second, third])
    );
    let unchanged = admin
        .ok(Method::GET, &format!("user-groups/{synced_id}"), None)
        .await;
    assert_eq!(unchanged["version"], after_patch["version"], "{unchanged}");

    // The manual group of the same name saw none of it.
    let manual_after = admin
        .ok(Method::GET, &format!("user-groups/{manual_id}"), None)
        .await;
    assert_eq!(manual_after["name"], name.as_str(), "{manual_after}");
    assert_eq!(manual_after["source"], "manual", "{manual_after}");
    assert!(manual_after["idp_group_id"].is_null(), "{manual_after}");
    assert_eq!(user_group_members(&admin, &manual_id).await, [fourth]);

    // Switching off deletes the synced group, and switching off again is a
    // no-op.
    let off = admin
        .ok(Method::DELETE, &format!("sync/{group_id}"), None)
        .await;
    let off_again = admin
        .ok(Method::DELETE, &format!("sync/{group_id}"), None)
        .await;
    let gone = admin
        .send(Method::GET, &format!("user-groups/{synced_id}"), None)
        .await;
    assert_eq!(off["changed"], true, "{off}");
    assert!(off["user_group"].is_null(), "{off}");
    assert_eq!(off_again["changed"], false, "{off_again}");
    assert_admin_error(&gone, 404, "not_found", Some("USER_GROUP_NOT_FOUND"));
    let entry = sync_entry(&admin, &group_id).await.unwrap();
    assert_eq!(entry["sync_enabled"], false, "{entry}");
    assert!(entry["user_group_id"].is_null(), "{entry}");

    // On again gives a new User Group; deleting the IdP group deletes it.
    let on_again = admin
        .ok(Method::PUT, &format!("sync/{group_id}"), None)
        .await;
    let resynced_id = on_again["user_group"]["id"].as_str().unwrap().to_owned();
    assert_ne!(resynced_id, synced_id);
    assert_eq!(on_again["user_group"]["name"], renamed.as_str());
    assert_eq!(
        user_group_members(&admin, &resynced_id).await,
        sorted(&[second, third])
    );
    assert_eq!(scim.delete(&path).await.status, 204);
    let resynced_gone = admin
        .send(Method::GET, &format!("user-groups/{resynced_id}"), None)
        .await;
    assert_admin_error(
        &resynced_gone,
        404,
        "not_found",
        Some("USER_GROUP_NOT_FOUND"),
    );
    assert!(sync_entry(&admin, &group_id).await.is_none());
    assert_eq!(user_group_ids(&admin).await, [manual_id.as_str()]);
    assert_eq!(user_group_members(&admin, &manual_id).await, [fourth]);
}

async fn sync_list_shows_state_and_role(stack: &TestStack) {
    let scim = stack.client();
    let subject = format!("sync-admin-{}", Uuid::new_v4());
    let token = gateway::admin::jwt::sign_hs256(
        ADMIN_KEY.as_bytes(),
        &subject,
        &stack.workspace_id,
        "admin",
        600,
    )
    .unwrap();
    let admin = AdminClient::new(stack, &stack.workspace_id, &token);
    let users = okta_users(&scim, 2).await;
    let mapped = push_group(
        &scim,
        &unique_group_name("Partners"),
        &[users[0].as_str(), users[1].as_str()],
    )
    .await;
    let unmapped = push_group(
        &scim,
        &unique_group_name("Associates"),
        &[users[0].as_str()],
    )
    .await;
    wait_for_group(&admin, &mapped, 2).await;
    admin
        .ok(
            Method::PUT,
            &format!("mappings/{mapped}"),
            Some(json!({"role": "manager"})),
        )
        .await;
    let switched = admin.ok(Method::PUT, &format!("sync/{mapped}"), None).await;
    let user_group_id = switched["user_group"]["id"].as_str().unwrap();

    let mapped_entry = sync_entry(&admin, &mapped).await.unwrap();
    let unmapped_entry = sync_entry(&admin, &unmapped).await.unwrap();
    let sync_events = wait_for_events(&admin, "action=user_group.sync_on", 1).await;

    assert_eq!(mapped_entry["role"], "manager", "{mapped_entry}");
    assert_eq!(mapped_entry["sync_enabled"], true, "{mapped_entry}");
    assert_eq!(
        mapped_entry["user_group_id"], user_group_id,
        "{mapped_entry}"
    );
    assert_eq!(mapped_entry["member_count"], 2, "{mapped_entry}");
    assert!(
        mapped_entry["display_name"]
            .as_str()
            .unwrap()
            .starts_with("Partners"),
        "{mapped_entry}"
    );
    assert!(unmapped_entry["role"].is_null(), "{unmapped_entry}");
    assert_eq!(unmapped_entry["sync_enabled"], false, "{unmapped_entry}");
    assert!(
        unmapped_entry["user_group_id"].is_null(),
        "{unmapped_entry}"
    );
    assert_eq!(unmapped_entry["member_count"], 1, "{unmapped_entry}");
    assert_eq!(sync_events[0]["actor_type"], "admin", "{}", sync_events[0]);
    assert_eq!(
        sync_events[0]["actor_id"],
        subject.as_str(),
        "{}",
        sync_events[0]
    );
}

async fn sync_errors_change_nothing(stack: &TestStack) {
    let scim = stack.client();
    let admin = AdminClient::for_demo(stack);
    let users = okta_users(&scim, 1).await;
    let group_id = push_group(&scim, &unique_group_name("Clerks"), &[users[0].as_str()]).await;
    admin
        .ok(Method::PUT, &format!("sync/{group_id}"), None)
        .await;
    let unknown = Uuid::new_v4();

    let twice = admin
        .send(Method::PUT, &format!("sync/{group_id}"), None)
        .await;
    let unknown_on = admin
        .send(Method::PUT, &format!("sync/{unknown}"), None)
        .await;
    let unknown_off = admin
        .send(Method::DELETE, &format!("sync/{unknown}"), None)
        .await;
    let wrong_method = admin
        .send(Method::POST, &format!("sync/{group_id}"), None)
        .await;

    assert_admin_error(&twice, 409, "failed_precondition", Some("SYNC_ALREADY_ON"));
    assert_admin_error(&unknown_on, 404, "not_found", Some("GROUP_NOT_FOUND"));
    assert_admin_error(&unknown_off, 404, "not_found", Some("GROUP_NOT_FOUND"));
    assert_eq!(wrong_method.status, 405, "{wrong_method}");
    assert_eq!(user_group_ids(&admin).await.len(), 1);
}

async fn manual_user_group_members(stack: &TestStack) {
    let scim = stack.client();
    let admin = AdminClient::for_demo(stack);
    let first = scim
        .create_user(&user_body(
            &unique_email("ug.first", DOMAIN),
            "First",
            "Member",
        ))
        .await;
    let unmanaged = admin
        .ok(
            Method::POST,
            "users",
            Some(json!({"email": unique_email("ug.manual", DOMAIN)})),
        )
        .await;
    let second = unmanaged["id"].as_str().unwrap().to_owned();

    let created = admin
        .send(
            Method::POST,
            "user-groups",
            Some(json!({"name": "Litigation"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let added = admin
        .ok(
            Method::PUT,
            &format!("user-groups/{id}/members/{first}"),
            None,
        )
        .await;
    let added_again = admin
        .ok(
            Method::PUT,
            &format!("user-groups/{id}/members/{first}"),
            None,
        )
        .await;
    admin
        .ok(
            Method::PUT,
            &format!("user-groups/{id}/members/{second}"),
            None,
        )
        .await;
    let both = user_group_members(&admin, &id).await;
    let first_page = admin
        .ok(
            Method::GET,
            &format!("user-groups/{id}/members?page_size=1"),
            None,
        )
        .await;
    let removed = admin
        .ok(
            Method::DELETE,
            &format!("user-groups/{id}/members/{first}"),
            None,
        )
        .await;
    let removed_again = admin
        .ok(
            Method::DELETE,
            &format!("user-groups/{id}/members/{first}"),
            None,
        )
        .await;
    let remaining = user_group_members(&admin, &id).await;
    let deleted = admin
        .ok(Method::DELETE, &format!("user-groups/{id}"), None)
        .await;
    let after_delete = admin
        .send(Method::GET, &format!("user-groups/{id}/members"), None)
        .await;

    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["name"], "Litigation", "{created}");
    assert_eq!(created.body["source"], "manual", "{created}");
    assert_eq!(created.body["member_count"], 0, "{created}");
    assert!(created.body["idp_group_id"].is_null(), "{created}");
    assert_eq!(added["changed"], true, "{added}");
    assert_eq!(added["user_group"]["member_count"], 1, "{added}");
    assert_eq!(added_again["changed"], false, "{added_again}");
    assert_eq!(both, sorted(&[first.as_str(), second.as_str()]));
    assert_eq!(
        first_page["members"].as_array().unwrap().len(),
        1,
        "{first_page}"
    );
    assert!(first_page["next_page_token"].is_string(), "{first_page}");
    assert_eq!(removed["changed"], true, "{removed}");
    assert_eq!(removed["user_group"]["member_count"], 1, "{removed}");
    assert_eq!(removed_again["changed"], false, "{removed_again}");
    assert_eq!(remaining, [second]);
    assert_eq!(deleted, json!({"id": id, "deleted": true}));
    assert_admin_error(
        &after_delete,
        404,
        "not_found",
        Some("USER_GROUP_NOT_FOUND"),
    );
}

async fn user_group_create_invalid_name(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let missing = admin.send(Method::POST, "user-groups", None).await;
    let blank = admin
        .send(Method::POST, "user-groups", Some(json!({"name": "  "})))
        .await;
    let too_long = admin
        .send(
            Method::POST,
            "user-groups",
            Some(json!({"name": "a".repeat(257)})),
        )
        .await;
    let typo = admin
        .send(Method::POST, "user-groups", Some(json!({"nmae": "Tax"})))
        .await;
    let longest = admin
        .send(
            Method::POST,
            "user-groups",
            Some(json!({"name": "é".repeat(256)})),
        )
        .await;

    for (response, field) in [
        (&missing, Some("name")),
        (&blank, Some("name")),
        (&too_long, Some("name")),
        (&typo, None),
    ] {
        assert_admin_error(response, 400, "invalid_argument", None);
        if let Some(field) = field {
            assert_eq!(response.body["field"], field, "{response}");
        }
    }
    assert_eq!(longest.status, 201, "{longest}");
    assert_eq!(
        user_group_ids(&admin).await.len(),
        1,
        "only the longest name"
    );
}

async fn member_add_unknown_user_not_found(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let created = admin
        .ok(Method::POST, "user-groups", Some(json!({"name": "Tax"})))
        .await;
    let id = created["id"].as_str().unwrap();
    let other = stack.second_workspace().await;
    let foreign_user = other
        .client()
        .create_user(&user_body(
            &unique_email("foreign", e2e_tests::fixtures::SECOND_DOMAIN),
            "Foreign",
            "User",
        ))
        .await;

    let unknown = admin
        .send(
            Method::PUT,
            &format!("user-groups/{id}/members/{}", Uuid::new_v4()),
            None,
        )
        .await;
    let other_workspace = admin
        .send(
            Method::PUT,
            &format!("user-groups/{id}/members/{foreign_user}"),
            None,
        )
        .await;

    assert_admin_error(&unknown, 404, "not_found", Some("USER_NOT_FOUND"));
    assert_admin_error(&other_workspace, 404, "not_found", Some("USER_NOT_FOUND"));
    assert!(user_group_members(&admin, id).await.is_empty());
}

async fn unknown_user_group_not_found(stack: &TestStack) {
    let scim = stack.client();
    let admin = AdminClient::for_demo(stack);
    let user_id = scim
        .create_user(&user_body(&unique_email("ug.lost", DOMAIN), "Lost", "User"))
        .await;
    let id = Uuid::new_v4();
    let requests = [
        (Method::GET, format!("user-groups/{id}")),
        (Method::DELETE, format!("user-groups/{id}")),
        (Method::GET, format!("user-groups/{id}/members")),
        (Method::PUT, format!("user-groups/{id}/members/{user_id}")),
        (
            Method::DELETE,
            format!("user-groups/{id}/members/{user_id}"),
        ),
    ];

    for (method, path) in requests {
        let response = admin.send(method, &path, None).await;

        assert_admin_error(&response, 404, "not_found", Some("USER_GROUP_NOT_FOUND"));
    }
}

async fn user_groups_list_pages_and_filters(stack: &TestStack) {
    let scim = stack.client();
    let admin = AdminClient::for_demo(stack);
    let mut manual_ids = Vec::new();
    for name in ["Alpha", "Beta"] {
        let created = admin
            .ok(Method::POST, "user-groups", Some(json!({"name": name})))
            .await;
        manual_ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let users = okta_users(&scim, 1).await;
    let group_id = push_group(&scim, &unique_group_name("Gamma"), &[users[0].as_str()]).await;
    let switched = admin
        .ok(Method::PUT, &format!("sync/{group_id}"), None)
        .await;
    let synced_id = switched["user_group"]["id"].as_str().unwrap().to_owned();

    let first_page = admin.ok(Method::GET, "user-groups?page_size=2", None).await;
    let token = first_page["next_page_token"].as_str().unwrap().to_owned();
    let second_page = admin
        .ok(
            Method::GET,
            &format!("user-groups?page_size=2&page_token={token}"),
            None,
        )
        .await;
    let manual_only = admin
        .ok(Method::GET, "user-groups?source=manual", None)
        .await;
    let idp_only = admin.ok(Method::GET, "user-groups?source=idp", None).await;

    let ids = |page: &Value, key: &str| -> Vec<String> {
        page[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut all = ids(&first_page, "user_groups");
    all.extend(ids(&second_page, "user_groups"));
    let mut expected = manual_ids.clone();
    expected.push(synced_id.clone());
    assert_eq!(all, sorted(&expected), "ordered by id");
    assert_eq!(ids(&first_page, "user_groups").len(), 2, "{first_page}");
    assert!(second_page["next_page_token"].is_null(), "{second_page}");
    assert_eq!(ids(&manual_only, "user_groups"), sorted(&manual_ids));
    assert_eq!(ids(&idp_only, "user_groups"), [synced_id]);
    assert_eq!(idp_only["user_groups"][0]["member_count"], 1, "{idp_only}");
}

async fn invalid_queries_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let id = Uuid::new_v4();
    let cases = [
        ("user-groups?page_size=0".to_owned(), Some("page_size")),
        ("user-groups?page_size=5000".to_owned(), Some("page_size")),
        ("user-groups?page_size=many".to_owned(), Some("page_size")),
        ("user-groups?source=scim".to_owned(), Some("source")),
        (
            "user-groups?page_token=%25%25".to_owned(),
            Some("page_token"),
        ),
        ("user-groups?sorce=idp".to_owned(), None),
        ("sync?page_size=-1".to_owned(), Some("page_size")),
        ("sync?page_token=not-a-token".to_owned(), Some("page_token")),
        ("sync?mapped_only=true".to_owned(), None),
        (
            format!("user-groups/{id}/members?page_size=0"),
            Some("page_size"),
        ),
    ];

    for (path, field) in cases {
        let response = admin.send(Method::GET, &path, None).await;

        assert_admin_error(&response, 400, "invalid_argument", None);
        if let Some(field) = field {
            assert_eq!(response.body["field"], field, "{response}");
        }
    }
}

async fn user_group_routes_forbid_other_workspace(stack: &TestStack) {
    let other_workspace = create_workspace(stack, true, true).await;
    let foreign = AdminClient::new(
        stack,
        &stack.workspace_id,
        &admin_token(&other_workspace, "admin"),
    );
    let anonymous = AdminClient::new(stack, &stack.workspace_id, "");
    let admin = AdminClient::for_demo(stack);
    let created = admin
        .ok(Method::POST, "user-groups", Some(json!({"name": "Kept"})))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let group_id = Uuid::new_v4();
    let user_id = Uuid::new_v4();
    let routes = [
        (Method::GET, "sync".to_owned(), None),
        (Method::PUT, format!("sync/{group_id}"), None),
        (Method::DELETE, format!("sync/{group_id}"), None),
        (Method::GET, "user-groups".to_owned(), None),
        (
            Method::POST,
            "user-groups".to_owned(),
            Some(json!({"name": "Foreign"})),
        ),
        (Method::GET, format!("user-groups/{id}"), None),
        (Method::DELETE, format!("user-groups/{id}"), None),
        (Method::GET, format!("user-groups/{id}/members"), None),
        (
            Method::PUT,
            format!("user-groups/{id}/members/{user_id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("user-groups/{id}/members/{user_id}"),
            None,
        ),
    ];

    for (method, path, body) in routes {
        let forbidden = foreign.send(method.clone(), &path, body.clone()).await;
        let unauthenticated = anonymous.send(method, &path, body).await;

        assert_admin_error(&forbidden, 403, "permission_denied", None);
        assert_admin_error(&unauthenticated, 401, "unauthenticated", None);
    }
    assert_eq!(user_group_ids(&admin).await, [id]);
}
