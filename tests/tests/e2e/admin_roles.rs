//! Roles through the admin API: the catalogue, the default role, IdP group
//! mappings, previews, users' effective roles and the default role at SCIM
//! setup, served by rbac-svc behind the gateway.
//!
//! rbac-svc learns users, groups and memberships from the other services'
//! outboxes a moment after SCIM writes them, so scenarios poll until
//! rbac-svc returns them instead of sleeping.

use std::time::Duration;

use e2e_tests::{
    TestStack,
    assertions::assert_error,
    fixtures::{DOMAIN, group_body, patch_body, unique_email, unique_group_name, user_body},
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin::{AdminClient, AdminResponse, admin_token, create_workspace};

e2e_tests::stack_tests!(
    options: crate::admin::options();
    roles_listed_highest_rank_first,
    default_role_set_changes_default_users,
    default_role_unknown_rejected,
    mappings_list_groups_with_roles,
    mappings_list_pages,
    mappings_list_invalid_query_rejected,
    mapping_set_changes_member_roles,
    mapping_set_errors_change_nothing,
    mapping_remove_restores_default,
    mapping_remove_unmapped_not_found,
    preview_mapping_applies_nothing,
    preview_predicts_applied_mapping,
    preview_default_role_and_removal,
    preview_invalid_bodies_rejected,
    user_role_shows_source,
    user_role_unknown_user_not_found,
    manual_role_set_for_unmanaged_user,
    manual_role_of_scim_user_rejected,
    setup_sets_default_role,
    setup_unknown_default_role_changes_nothing,
    role_routes_forbid_other_workspace,
    scim_roles_patch_names_group_mappings,
);

/// Maximum wait for rbac-svc to receive a SCIM change. Delivery usually
/// takes well under a second. A delivery that failed on two loaded cores is
/// retried within the relays' longest backoff (30 s), so the wait is twice
/// that.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Built-in roles, highest rank first.
const BUILT_IN_ROLES: [(&str, i64); 4] = [
    ("admin", 40),
    ("manager", 30),
    ("member", 20),
    ("viewer", 10),
];

/// Polls `GET users/{user_id}/role` until rbac-svc has received the user,
/// and returns the body.
pub async fn wait_for_user(admin: &AdminClient, user_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let response = admin
            .send(Method::GET, &format!("users/{user_id}/role"), None)
            .await;
        if response.status == 200 {
            return response.body;
        }
        assert_eq!(response.status, 404, "{response}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "rbac-svc did not learn user {user_id} within {DELIVERY_TIMEOUT:?}: {response}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Polls `GET mappings` until it lists the group with `member_count`
/// members, and returns the group's entry.
pub async fn wait_for_group(admin: &AdminClient, group_id: &str, member_count: i64) -> Value {
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let listed = admin.ok(Method::GET, "mappings?page_size=1000", None).await;
        let entry = listed["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|mapping| mapping["group_id"] == group_id)
            .cloned();
        if let Some(entry) = entry
            && entry["member_count"] == member_count
        {
            return entry;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rbac-svc did not list group {group_id} with {member_count} members within {DELIVERY_TIMEOUT:?}: {listed}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Creates `count` SCIM users and an IdP group of them, and waits until
/// rbac-svc has received the users and the group's members. Returns the
/// group id and the user ids, sorted.
pub async fn known_group(
    stack: &TestStack,
    admin: &AdminClient,
    count: usize,
) -> (String, Vec<String>) {
    let scim = stack.client();
    let mut user_ids = Vec::new();
    for n in 0..count {
        let user_name = unique_email(&format!("role.member{n}"), DOMAIN);
        user_ids.push(
            scim.create_user(&user_body(&user_name, "Role", "Member"))
                .await,
        );
    }
    user_ids.sort();
    let group_id = scim
        .create_group(&group_body(&unique_group_name("Paralegals"), &user_ids))
        .await;
    for user_id in &user_ids {
        wait_for_user(admin, user_id).await;
    }
    wait_for_group(admin, &group_id, i64::try_from(count).unwrap()).await;
    (group_id, user_ids)
}

/// Creates a SCIM user and waits until rbac-svc has received it. Returns
/// its id.
pub async fn known_scim_user(stack: &TestStack, admin: &AdminClient) -> String {
    let user_name = unique_email("scim.user", DOMAIN);
    let user_id = stack
        .client()
        .create_user(&user_body(&user_name, "Scim", "User"))
        .await;
    wait_for_user(admin, &user_id).await;
    user_id
}

/// Creates a user outside SCIM and waits until rbac-svc has received it.
/// Returns its id.
pub async fn known_unmanaged_user(admin: &AdminClient) -> String {
    let email = unique_email("manual.user", DOMAIN);
    let created = admin
        .ok(Method::POST, "users", Some(json!({ "email": email })))
        .await;
    let user_id = created["id"].as_str().unwrap().to_owned();
    wait_for_user(admin, &user_id).await;
    user_id
}

/// Returns the group's mapped role as `GET mappings` lists it.
async fn mapped_role(admin: &AdminClient, group_id: &str) -> Value {
    let listed = admin.ok(Method::GET, "mappings?page_size=1000", None).await;
    listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mapping| mapping["group_id"] == group_id)
        .map(|mapping| mapping["role"].clone())
        .unwrap_or_else(|| panic!("group {group_id} not listed: {listed}"))
}

async fn default_role(admin: &AdminClient) -> Value {
    admin.ok(Method::GET, "roles", None).await["default_role"].clone()
}

/// Asserts an admin API error with this status, code and reason.
fn assert_admin_error(response: &AdminResponse, status: u16, code: &str, reason: Option<&str>) {
    assert_eq!(response.status, status, "{response}");
    assert_eq!(response.body["code"], code, "{response}");
    if let Some(reason) = reason {
        assert_eq!(response.body["reason"], reason, "{response}");
    }
}

async fn roles_listed_highest_rank_first(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let listed = admin.ok(Method::GET, "roles", None).await;

    let roles = listed["roles"].as_array().unwrap();
    let names_and_ranks: Vec<(&str, i64)> = roles
        .iter()
        .map(|role| {
            (
                role["name"].as_str().unwrap(),
                role["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(names_and_ranks, BUILT_IN_ROLES, "{listed}");
    assert!(
        roles.iter().all(|role| role["description"].is_string()),
        "{listed}"
    );
    assert_eq!(listed["default_role"], "member", "{listed}");
}

async fn default_role_set_changes_default_users(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_unmanaged_user(&admin).await;

    let changed = admin
        .ok(
            Method::PUT,
            "roles/default",
            Some(json!({"role": "viewer"})),
        )
        .await;
    let role = wait_for_user(&admin, &user_id).await;
    let unchanged = admin
        .ok(
            Method::PUT,
            "roles/default",
            Some(json!({"role": "viewer"})),
        )
        .await;

    assert_eq!(changed["previous_role"], "member", "{changed}");
    assert_eq!(changed["changed_users"], 1, "{changed}");
    assert_eq!(default_role(&admin).await, "viewer");
    assert_eq!(role["role"], "viewer", "{role}");
    assert_eq!(role["source"], "default", "{role}");
    assert_eq!(unchanged["previous_role"], "viewer", "{unchanged}");
    assert_eq!(unchanged["changed_users"], 0, "{unchanged}");
}

async fn default_role_unknown_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let unknown = admin
        .send(Method::PUT, "roles/default", Some(json!({"role": "owner"})))
        .await;
    let missing = admin
        .send(Method::PUT, "roles/default", Some(json!({})))
        .await;
    let typo = admin
        .send(Method::PUT, "roles/default", Some(json!({"rol": "viewer"})))
        .await;

    assert_admin_error(&unknown, 400, "invalid_argument", Some("UNKNOWN_ROLE"));
    assert_eq!(unknown.body["field"], "role", "{unknown}");
    assert!(
        unknown.body["message"].as_str().unwrap().contains("owner"),
        "{unknown}"
    );
    assert_admin_error(&missing, 400, "invalid_argument", None);
    assert_eq!(missing.body["field"], "role", "{missing}");
    assert_admin_error(&typo, 400, "invalid_argument", None);
    assert_eq!(default_role(&admin).await, "member");
}

async fn mappings_list_groups_with_roles(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (mapped_group, _) = known_group(stack, &admin, 2).await;
    let (unmapped_group, _) = known_group(stack, &admin, 1).await;
    admin
        .ok(
            Method::PUT,
            &format!("mappings/{mapped_group}"),
            Some(json!({"role": "manager"})),
        )
        .await;

    let all = admin.ok(Method::GET, "mappings", None).await;
    let mapped_only = admin
        .ok(Method::GET, "mappings?mapped_only=true", None)
        .await;

    let entry = |group_id: &str| {
        all["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|mapping| mapping["group_id"] == group_id)
            .cloned()
            .unwrap_or_else(|| panic!("group {group_id} not listed: {all}"))
    };
    let mapped = entry(&mapped_group);
    let unmapped = entry(&unmapped_group);
    assert_eq!(mapped["role"], "manager", "{mapped}");
    assert_eq!(mapped["member_count"], 2, "{mapped}");
    assert!(
        mapped["display_name"]
            .as_str()
            .unwrap()
            .starts_with("Paralegals"),
        "{mapped}"
    );
    assert!(unmapped["role"].is_null(), "{unmapped}");
    assert!(all["next_page_token"].is_null(), "{all}");
    let mapped_ids: Vec<&str> = mapped_only["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mapping| mapping["group_id"].as_str().unwrap())
        .collect();
    assert_eq!(mapped_ids, vec![mapped_group.as_str()], "{mapped_only}");
}

async fn mappings_list_pages(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (first_group, _) = known_group(stack, &admin, 1).await;
    let (second_group, _) = known_group(stack, &admin, 1).await;
    let mut expected = [first_group, second_group];
    expected.sort();

    let first_page = admin.ok(Method::GET, "mappings?page_size=1", None).await;
    let token = first_page["next_page_token"].as_str().unwrap().to_owned();
    let second_page = admin
        .ok(
            Method::GET,
            &format!("mappings?page_size=1&page_token={token}"),
            None,
        )
        .await;

    assert_eq!(
        first_page["mappings"].as_array().unwrap().len(),
        1,
        "{first_page}"
    );
    assert_eq!(first_page["mappings"][0]["group_id"], expected[0].as_str());
    assert_eq!(
        second_page["mappings"].as_array().unwrap().len(),
        1,
        "{second_page}"
    );
    assert_eq!(second_page["mappings"][0]["group_id"], expected[1].as_str());
    assert!(second_page["next_page_token"].is_null(), "{second_page}");
}

async fn mappings_list_invalid_query_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let not_a_number = admin
        .send(Method::GET, "mappings?page_size=many", None)
        .await;
    let too_large = admin
        .send(Method::GET, "mappings?page_size=5000", None)
        .await;
    let unknown_parameter = admin.send(Method::GET, "mappings?mapped=true", None).await;

    assert_admin_error(&not_a_number, 400, "invalid_argument", None);
    assert_admin_error(&too_large, 400, "invalid_argument", None);
    assert_eq!(too_large.body["field"], "page_size", "{too_large}");
    assert_admin_error(&unknown_parameter, 400, "invalid_argument", None);
}

async fn mapping_set_changes_member_roles(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 2).await;

    let first = admin
        .ok(
            Method::PUT,
            &format!("mappings/{group_id}"),
            Some(json!({"role": "manager"})),
        )
        .await;
    let role = wait_for_user(&admin, &user_ids[0]).await;
    let second = admin
        .ok(
            Method::PUT,
            &format!("mappings/{group_id}"),
            Some(json!({"role": "admin"})),
        )
        .await;

    assert!(first["previous_role"].is_null(), "{first}");
    assert_eq!(first["changed_users"], 2, "{first}");
    assert_eq!(role["role"], "manager", "{role}");
    assert_eq!(role["rank"], 30, "{role}");
    assert_eq!(role["source"], "group_mapping", "{role}");
    assert_eq!(role["group_id"], group_id.as_str(), "{role}");
    assert_eq!(role["scim_managed"], true, "{role}");
    assert_eq!(second["previous_role"], "manager", "{second}");
    assert_eq!(second["changed_users"], 2, "{second}");
    assert_eq!(mapped_role(&admin, &group_id).await, "admin");
}

async fn mapping_set_errors_change_nothing(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 1).await;

    let unknown_role = admin
        .send(
            Method::PUT,
            &format!("mappings/{group_id}"),
            Some(json!({"role": "owner"})),
        )
        .await;
    let missing_role = admin
        .send(Method::PUT, &format!("mappings/{group_id}"), None)
        .await;
    let unknown_group = admin
        .send(
            Method::PUT,
            &format!("mappings/{}", Uuid::new_v4()),
            Some(json!({"role": "manager"})),
        )
        .await;

    assert_admin_error(&unknown_role, 400, "invalid_argument", Some("UNKNOWN_ROLE"));
    assert_eq!(unknown_role.body["field"], "role", "{unknown_role}");
    assert_admin_error(&missing_role, 400, "invalid_argument", None);
    assert_eq!(missing_role.body["field"], "role", "{missing_role}");
    assert_admin_error(&unknown_group, 404, "not_found", Some("GROUP_NOT_FOUND"));
    assert!(mapped_role(&admin, &group_id).await.is_null());
    assert_eq!(wait_for_user(&admin, &user_ids[0]).await["role"], "member");
}

async fn mapping_remove_restores_default(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 2).await;
    let path = format!("mappings/{group_id}");
    admin
        .ok(Method::PUT, &path, Some(json!({"role": "manager"})))
        .await;

    let removed = admin.ok(Method::DELETE, &path, None).await;
    let role = wait_for_user(&admin, &user_ids[1]).await;
    let again = admin.send(Method::DELETE, &path, None).await;

    assert_eq!(removed["previous_role"], "manager", "{removed}");
    assert_eq!(removed["changed_users"], 2, "{removed}");
    assert_eq!(role["role"], "member", "{role}");
    assert_eq!(role["source"], "default", "{role}");
    assert!(role["group_id"].is_null(), "{role}");
    assert_admin_error(&again, 404, "not_found", Some("MAPPING_NOT_FOUND"));
    assert!(mapped_role(&admin, &group_id).await.is_null());
}

async fn mapping_remove_unmapped_not_found(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let unknown = admin
        .send(
            Method::DELETE,
            &format!("mappings/{}", Uuid::new_v4()),
            None,
        )
        .await;

    assert_admin_error(&unknown, 404, "not_found", Some("MAPPING_NOT_FOUND"));
}

async fn preview_mapping_applies_nothing(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 2).await;

    let preview = admin
        .ok(
            Method::POST,
            "mappings/preview",
            Some(json!({"group_id": group_id, "role": "manager"})),
        )
        .await;

    assert_eq!(preview["changed_users"], 2, "{preview}");
    assert_eq!(
        preview["transitions"],
        json!([{"from_role": "member", "to_role": "manager", "users": 2}]),
    );
    let sampled: Vec<&str> = preview["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(sampled, user_ids, "{preview}");
    assert!(mapped_role(&admin, &group_id).await.is_null());
    for user_id in &user_ids {
        let role = wait_for_user(&admin, user_id).await;
        assert_eq!(role["role"], "member", "{role}");
    }
}

async fn preview_predicts_applied_mapping(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (managers, manager_ids) = known_group(stack, &admin, 2).await;
    let (admins, admin_ids) = known_group(stack, &admin, 1).await;
    admin
        .ok(
            Method::PUT,
            &format!("mappings/{admins}"),
            Some(json!({"role": "admin"})),
        )
        .await;
    // One user in both groups keeps the higher-ranked admin role.
    let scim = stack.client();
    scim.patch_group_ok(
        &managers,
        &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": admin_ids[0]}]}])),
    )
    .await;
    wait_for_group(&admin, &managers, 3).await;

    let preview = admin
        .ok(
            Method::POST,
            "mappings/preview",
            Some(json!({"group_id": managers, "role": "manager", "sample_size": 100})),
        )
        .await;
    let applied = admin
        .ok(
            Method::PUT,
            &format!("mappings/{managers}"),
            Some(json!({"role": "manager"})),
        )
        .await;

    assert_eq!(
        preview["changed_users"], applied["changed_users"],
        "{preview} {applied}"
    );
    assert_eq!(preview["changed_users"], 2, "{preview}");
    for change in preview["sample"].as_array().unwrap() {
        let user_id = change["user_id"].as_str().unwrap();
        let role = wait_for_user(&admin, user_id).await;
        assert_eq!(role["role"], change["to_role"], "{role} after {change}");
    }
    let sampled: Vec<&str> = preview["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(sampled, manager_ids, "{preview}");
    let both_groups = wait_for_user(&admin, &admin_ids[0]).await;
    assert_eq!(both_groups["role"], "admin", "{both_groups}");
}

async fn preview_default_role_and_removal(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, user_ids) = known_group(stack, &admin, 1).await;
    let default_user = known_unmanaged_user(&admin).await;
    admin
        .ok(
            Method::PUT,
            &format!("mappings/{group_id}"),
            Some(json!({"role": "manager"})),
        )
        .await;

    let default_preview = admin
        .ok(
            Method::POST,
            "mappings/preview",
            Some(json!({"default_role": "viewer"})),
        )
        .await;
    let removal_preview = admin
        .ok(
            Method::POST,
            "mappings/preview",
            Some(json!({"remove_group_id": group_id, "sample_size": 1})),
        )
        .await;

    assert_eq!(default_preview["changed_users"], 1, "{default_preview}");
    assert_eq!(
        default_preview["sample"],
        json!([{"user_id": default_user, "from_role": "member", "to_role": "viewer"}])
    );
    assert_eq!(default_role(&admin).await, "member");
    assert_eq!(removal_preview["changed_users"], 1, "{removal_preview}");
    assert_eq!(
        removal_preview["transitions"],
        json!([{"from_role": "manager", "to_role": "member", "users": 1}])
    );
    assert_eq!(
        removal_preview["sample"],
        json!([{"user_id": user_ids[0], "from_role": "manager", "to_role": "member"}])
    );
    assert_eq!(mapped_role(&admin, &group_id).await, "manager");
}

async fn preview_invalid_bodies_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let (group_id, _) = known_group(stack, &admin, 1).await;
    let preview = |body: Value| {
        let admin = admin.clone();
        async move {
            admin
                .send(Method::POST, "mappings/preview", Some(body))
                .await
        }
    };

    let two_changes = preview(json!({"remove_group_id": group_id, "default_role": "viewer"})).await;
    let no_change = preview(json!({"sample_size": 5})).await;
    let group_without_role = preview(json!({"group_id": group_id})).await;
    let unknown_role = preview(json!({"group_id": group_id, "role": "owner"})).await;
    let unknown_default = preview(json!({"default_role": "owner"})).await;
    let unknown_group = preview(json!({"group_id": Uuid::new_v4(), "role": "manager"})).await;
    let unmapped_removal = preview(json!({"remove_group_id": group_id})).await;
    let large_sample = preview(json!({"default_role": "viewer", "sample_size": 1000})).await;

    assert_admin_error(&two_changes, 400, "invalid_argument", None);
    assert_admin_error(&no_change, 400, "invalid_argument", None);
    assert_admin_error(&group_without_role, 400, "invalid_argument", None);
    assert_eq!(
        group_without_role.body["field"], "role",
        "{group_without_role}"
    );
    assert_admin_error(&unknown_role, 400, "invalid_argument", Some("UNKNOWN_ROLE"));
    assert_eq!(unknown_role.body["field"], "role", "{unknown_role}");
    assert_admin_error(
        &unknown_default,
        400,
        "invalid_argument",
        Some("UNKNOWN_ROLE"),
    );
    assert_eq!(
        unknown_default.body["field"], "default_role",
        "{unknown_default}"
    );
    assert_admin_error(&unknown_group, 404, "not_found", Some("GROUP_NOT_FOUND"));
    assert_admin_error(
        &unmapped_removal,
        404,
        "not_found",
        Some("MAPPING_NOT_FOUND"),
    );
    assert_admin_error(&large_sample, 400, "invalid_argument", None);
    assert_eq!(large_sample.body["field"], "sample_size", "{large_sample}");
}

async fn user_role_shows_source(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let scim_user = known_scim_user(stack, &admin).await;
    let manual_user = known_unmanaged_user(&admin).await;

    let scim_role = admin
        .ok(Method::GET, &format!("users/{scim_user}/role"), None)
        .await;
    let manual_role = admin
        .ok(Method::GET, &format!("users/{manual_user}/role"), None)
        .await;

    assert_eq!(scim_role["user_id"], scim_user.as_str(), "{scim_role}");
    assert_eq!(scim_role["active"], true, "{scim_role}");
    assert_eq!(scim_role["role"], "member", "{scim_role}");
    assert_eq!(scim_role["rank"], 20, "{scim_role}");
    assert_eq!(scim_role["source"], "default", "{scim_role}");
    assert!(scim_role["group_id"].is_null(), "{scim_role}");
    assert_eq!(scim_role["scim_managed"], true, "{scim_role}");
    assert_eq!(manual_role["scim_managed"], false, "{manual_role}");
}

async fn user_role_unknown_user_not_found(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let path = format!("users/{}/role", Uuid::new_v4());

    let read = admin.send(Method::GET, &path, None).await;
    let write = admin
        .send(Method::PUT, &path, Some(json!({"role": "manager"})))
        .await;

    assert_admin_error(&read, 404, "not_found", Some("USER_NOT_FOUND"));
    assert_admin_error(&write, 404, "not_found", Some("USER_NOT_FOUND"));
}

async fn manual_role_set_for_unmanaged_user(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_unmanaged_user(&admin).await;
    let path = format!("users/{user_id}/role");

    let set = admin
        .ok(Method::PUT, &path, Some(json!({"role": "manager"})))
        .await;
    let unknown = admin
        .send(Method::PUT, &path, Some(json!({"role": "owner"})))
        .await;
    let read = admin.ok(Method::GET, &path, None).await;

    assert_eq!(set["user_id"], user_id.as_str(), "{set}");
    assert_eq!(set["role"], "manager", "{set}");
    assert_eq!(set["rank"], 30, "{set}");
    assert_eq!(set["source"], "manual", "{set}");
    assert_eq!(set["scim_managed"], false, "{set}");
    assert_admin_error(&unknown, 400, "invalid_argument", Some("UNKNOWN_ROLE"));
    assert_eq!(read["role"], "manager", "{read}");
    assert_eq!(read["source"], "manual", "{read}");
}

async fn manual_role_of_scim_user_rejected(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    let user_id = known_scim_user(stack, &admin).await;
    let path = format!("users/{user_id}/role");

    let rejected = admin
        .send(Method::PUT, &path, Some(json!({"role": "admin"})))
        .await;
    let read = admin.ok(Method::GET, &path, None).await;

    assert_admin_error(
        &rejected,
        409,
        "failed_precondition",
        Some("ROLE_MANAGED_BY_SCIM"),
    );
    assert!(
        rejected.body["message"]
            .as_str()
            .unwrap()
            .contains("identity provider's group mappings"),
        "{rejected}"
    );
    assert_eq!(read["role"], "member", "{read}");
    assert_eq!(read["source"], "default", "{read}");
}

async fn setup_sets_default_role(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);

    let with_role = admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "okta", "default_role": "viewer"})),
        )
        .await;
    let without_role = admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "entra"})),
        )
        .await;

    assert_eq!(with_role["identity_provider"], "okta", "{with_role}");
    assert_eq!(with_role["default_role"]["role"], "viewer", "{with_role}");
    assert_eq!(
        with_role["default_role"]["previous_role"], "member",
        "{with_role}"
    );
    assert_eq!(without_role["identity_provider"], "entra", "{without_role}");
    assert!(without_role.get("default_role").is_none(), "{without_role}");
    assert_eq!(default_role(&admin).await, "viewer");
}

async fn setup_unknown_default_role_changes_nothing(stack: &TestStack) {
    let admin = AdminClient::for_demo(stack);
    admin
        .ok(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "entra"})),
        )
        .await;

    let unknown = admin
        .send(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "okta", "default_role": "owner"})),
        )
        .await;
    let empty = admin
        .send(
            Method::PUT,
            "scim/setup",
            Some(json!({"identity_provider": "okta", "default_role": ""})),
        )
        .await;
    let workspace = admin.ok(Method::GET, "", None).await;

    assert_admin_error(&unknown, 400, "invalid_argument", Some("UNKNOWN_ROLE"));
    assert_eq!(unknown.body["field"], "default_role", "{unknown}");
    assert!(
        unknown.body["message"].as_str().unwrap().contains("viewer"),
        "the message lists the roles: {unknown}"
    );
    assert_admin_error(&empty, 400, "invalid_argument", None);
    assert_eq!(empty.body["field"], "default_role", "{empty}");
    assert_eq!(workspace["identity_provider"], "entra", "{workspace}");
    assert_eq!(default_role(&admin).await, "member");
}

async fn role_routes_forbid_other_workspace(stack: &TestStack) {
    let other_workspace = create_workspace(stack, true, true).await;
    let foreign = AdminClient::new(
        stack,
        &stack.workspace_id,
        &admin_token(&other_workspace, "admin"),
    );
    let anonymous = AdminClient::new(stack, &stack.workspace_id, "");
    let admin = AdminClient::for_demo(stack);
    let group_id = Uuid::new_v4().to_string();
    let user_id = Uuid::new_v4().to_string();
    let routes = [
        (Method::GET, "roles".to_owned(), None),
        (
            Method::PUT,
            "roles/default".to_owned(),
            Some(json!({"role": "viewer"})),
        ),
        (Method::GET, "mappings".to_owned(), None),
        (
            Method::PUT,
            format!("mappings/{group_id}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("mappings/{group_id}"), None),
        (
            Method::POST,
            "mappings/preview".to_owned(),
            Some(json!({"default_role": "viewer"})),
        ),
        (Method::GET, format!("users/{user_id}/role"), None),
        (
            Method::PUT,
            format!("users/{user_id}/role"),
            Some(json!({"role": "admin"})),
        ),
    ];

    for (method, path, body) in routes {
        let forbidden = foreign.send(method.clone(), &path, body.clone()).await;
        let unauthenticated = anonymous.send(method, &path, body).await;

        assert_admin_error(&forbidden, 403, "permission_denied", None);
        assert_admin_error(&unauthenticated, 401, "unauthenticated", None);
    }
    assert_eq!(default_role(&admin).await, "member");
}

async fn scim_roles_patch_names_group_mappings(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("roles.patch", DOMAIN);
    let user_id = scim
        .create_user(&user_body(&user_name, "Roles", "Patch"))
        .await;

    let rejected = scim
        .patch(
            &format!("Users/{user_id}"),
            &patch_body(json!([{"op": "add", "path": "roles", "value": [{"value": "admin"}]}])),
        )
        .await;

    assert_error(&rejected, 400, Some("mutability"));
    assert!(
        rejected.body["detail"].as_str().unwrap().contains(
            "assigned from the identity provider's groups through the workspace's group mappings"
        ),
        "{rejected}"
    );
}
