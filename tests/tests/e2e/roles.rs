//! Effective roles from IdP groups, end to end: Entra ID's requests push
//! groups over SCIM, groups-svc and identity-svc deliver their events to
//! rbac-svc, and an admin maps groups to roles over `rbac.v1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use e2e_tests::{
    ScimClient, TestStack,
    fixtures::{DOMAIN, GROUP_URN, entra_user_body, patch_body, unique_email, unique_group_name},
};
use proto::rbac::v1::{
    GetEffectiveRoleRequest, ListGroupMappingsRequest, ListRolesRequest, PreviewRoleChangeRequest,
    RemoveGroupMappingRequest, SetDefaultRoleRequest, SetGroupMappingRequest, SetUserRoleRequest,
    preview_role_change_request::Change, role_admin_service_client::RoleAdminServiceClient,
    role_service_client::RoleServiceClient,
};
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic_types::StatusExt as _;
use uuid::Uuid;

e2e_tests::stack_tests!(
    group_mappings_move_the_right_users,
    manual_role_of_scim_user_rejected,
    deactivated_user_answers_inactive,
);

/// Maximum wait for rbac-svc to catch up with SCIM changes: twice the
/// relays' longest retry interval (30 s).
const CATCH_UP: Duration = Duration::from_secs(60);

struct Roles {
    admin: RoleAdminServiceClient<Channel>,
    roles: RoleServiceClient<Channel>,
    workspace_id: String,
}

impl Roles {
    async fn connect(stack: &TestStack) -> Self {
        let channel = stack.rbac_channel().await;
        Self {
            admin: RoleAdminServiceClient::new(channel.clone()),
            roles: RoleServiceClient::new(channel),
            workspace_id: stack.workspace_id.clone(),
        }
    }

    /// Returns the user's effective role, or `None` while rbac-svc does
    /// not know the user.
    async fn role(&self, user_id: &str) -> Option<String> {
        let answer = self
            .roles
            .clone()
            .get_effective_role(GetEffectiveRoleRequest {
                workspace_id: self.workspace_id.clone(),
                user_id: user_id.to_owned(),
            })
            .await;
        match answer {
            Ok(response) => Some(response.into_inner().effective_role.unwrap().role),
            Err(status) if status.code() == tonic::Code::NotFound => None,
            Err(status) => panic!("GetEffectiveRole failed: {status}"),
        }
    }

    async fn roles_of(&self, user_ids: &[String]) -> Vec<Option<String>> {
        let mut roles = Vec::new();
        for user_id in user_ids {
            roles.push(self.role(user_id).await);
        }
        roles
    }

    /// Waits until the roles of `user_ids` are `expected`, and returns the
    /// last roles read.
    async fn wait_for(&self, user_ids: &[String], expected: &[&str]) -> Vec<Option<String>> {
        let expected: Vec<Option<String>> = expected
            .iter()
            .map(|role| Some((*role).to_owned()))
            .collect();
        let started = Instant::now();
        loop {
            let roles = self.roles_of(user_ids).await;
            if roles == expected || started.elapsed() > CATCH_UP {
                return roles;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until rbac-svc has stored the group with `members` members.
    async fn wait_for_group(&self, group_id: &str, members: i64) {
        let started = Instant::now();
        loop {
            let listed = self
                .admin
                .clone()
                .list_group_mappings(ListGroupMappingsRequest {
                    workspace_id: self.workspace_id.clone(),
                    mapped_only: false,
                    page_size: 1000,
                    page_token: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            let known = listed
                .mappings
                .iter()
                .any(|mapping| mapping.group_id == group_id && mapping.member_count == members);
            if known {
                return;
            }
            assert!(
                started.elapsed() < CATCH_UP,
                "rbac-svc did not learn group {group_id} with {members} members"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn set_mapping(&self, group_id: &str, role: &str) -> i64 {
        self.admin
            .clone()
            .set_group_mapping(SetGroupMappingRequest {
                workspace_id: self.workspace_id.clone(),
                group_id: group_id.to_owned(),
                role: role.to_owned(),
                actor: "admin@example.com".to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .changed_users
    }

    /// Returns the preview of `change` as (user id, from, to), sorted.
    async fn preview(&self, change: Change) -> (i64, Vec<(String, String, String)>) {
        let preview = self
            .admin
            .clone()
            .preview_role_change(PreviewRoleChangeRequest {
                workspace_id: self.workspace_id.clone(),
                change: Some(change),
                sample_size: 100,
            })
            .await
            .unwrap()
            .into_inner();
        let sample = preview
            .sample
            .into_iter()
            .map(|change| (change.user_id, change.from_role, change.to_role))
            .collect();
        (preview.changed_users, sample)
    }
}

/// Returns (user id, from, to) for every user whose role differs.
fn differences(
    user_ids: &[String],
    before: &[Option<String>],
    after: &[Option<String>],
) -> Vec<(String, String, String)> {
    let mut changed: Vec<(String, String, String)> = user_ids
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (from, to))| from != to)
        .map(|(user_id, (from, to))| {
            (
                user_id.clone(),
                from.clone().unwrap_or_default(),
                to.clone().unwrap_or_default(),
            )
        })
        .collect();
    changed.sort();
    changed
}

/// Creates users as Entra ID does and returns their ids.
async fn create_entra_users(scim: &ScimClient, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for index in 0..count {
        let user_name = unique_email(&format!("role{index}"), DOMAIN);
        let email = unique_email(&format!("role{index}.mail"), DOMAIN);
        let body = entra_user_body(
            &user_name,
            &email,
            "Role",
            "Holder",
            &Uuid::new_v4().to_string(),
        );
        ids.push(scim.create_user(&body).await);
    }
    ids
}

/// Creates a group as Entra ID does (no members) and adds `members` with
/// Entra ID's PATCH. Returns the group id.
async fn create_entra_group(scim: &ScimClient, members: &[String]) -> String {
    let body = json!({
        "schemas": [GROUP_URN],
        "externalId": Uuid::new_v4().to_string(),
        "displayName": unique_group_name("Role Group"),
    });
    let group_id = scim.create_group(&body).await;
    if !members.is_empty() {
        let values: Vec<Value> = members
            .iter()
            .map(|id| json!({"$ref": null, "value": id}))
            .collect();
        scim.patch_group_ok(
            &group_id,
            &patch_body(json!([{"op": "Add", "path": "members", "value": values}])),
        )
        .await;
    }
    group_id
}

async fn remove_entra_member(scim: &ScimClient, group_id: &str, user_id: &str) {
    scim.patch_group_ok(
        group_id,
        &patch_body(json!([{"op": "Remove", "path": "members", "value": [{"value": user_id}]}])),
    )
    .await;
}

async fn group_mappings_move_the_right_users(stack: &TestStack) {
    let scim = stack.client();
    let roles = Roles::connect(stack).await;
    // a, b, c in G; c also in H; d and e in no group.
    let users = create_entra_users(&scim, 5).await;
    let group_g = create_entra_group(&scim, &users[..3]).await;
    roles.wait_for_group(&group_g, 3).await;
    let initial = roles
        .wait_for(&users, &["member", "member", "member", "member", "member"])
        .await;

    // Mapping G to a higher role moves its three members and no other user.
    let (predicted_count, predicted) = roles
        .preview(Change::SetMapping(SetGroupMappingRequest {
            workspace_id: stack.workspace_id.clone(),
            group_id: group_g.clone(),
            role: "manager".to_owned(),
            actor: String::new(),
        }))
        .await;
    let changed = roles.set_mapping(&group_g, "manager").await;
    let mapped = roles.roles_of(&users).await;
    assert_eq!(changed, 3);
    assert_eq!(predicted_count, changed);
    assert_eq!(predicted, differences(&users, &initial, &mapped));

    // Removing a member through SCIM puts it back on the default role.
    remove_entra_member(&scim, &group_g, &users[0]).await;
    let removed = roles
        .wait_for(
            &users,
            &["member", "manager", "manager", "member", "member"],
        )
        .await;
    assert_eq!(
        removed,
        roles_list(&["member", "manager", "manager", "member", "member"])
    );

    // A user in two mapped groups gets the higher rank.
    let group_h = create_entra_group(&scim, &users[2..3]).await;
    roles.wait_for_group(&group_h, 1).await;
    roles.set_mapping(&group_h, "admin").await;
    let both = roles.roles_of(&users).await;
    assert_eq!(
        both,
        roles_list(&["member", "manager", "admin", "member", "member"])
    );

    // Unmapping G moves b back to the default and leaves c on H's role.
    let (predicted_count, predicted) = roles.preview(Change::RemoveMapping(group_g.clone())).await;
    let unmapped_count = roles
        .admin
        .clone()
        .remove_group_mapping(RemoveGroupMappingRequest {
            workspace_id: stack.workspace_id.clone(),
            group_id: group_g.clone(),
            actor: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .changed_users;
    let unmapped = roles.roles_of(&users).await;
    assert_eq!(predicted_count, unmapped_count);
    assert_eq!(predicted, differences(&users, &both, &unmapped));
    assert_eq!(
        unmapped,
        roles_list(&["member", "member", "admin", "member", "member"])
    );

    // A new default role moves everyone on the default, and only them.
    let (predicted_count, predicted) = roles
        .preview(Change::DefaultRole("viewer".to_owned()))
        .await;
    let defaulted_count = roles
        .admin
        .clone()
        .set_default_role(SetDefaultRoleRequest {
            workspace_id: stack.workspace_id.clone(),
            role: "viewer".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .changed_users;
    let defaulted = roles.roles_of(&users).await;
    assert_eq!(predicted_count, defaulted_count);
    assert_eq!(predicted, differences(&users, &unmapped, &defaulted));
    assert_eq!(
        defaulted,
        roles_list(&["viewer", "viewer", "admin", "viewer", "viewer"])
    );
}

fn roles_list(roles: &[&str]) -> Vec<Option<String>> {
    roles.iter().map(|role| Some((*role).to_owned())).collect()
}

async fn manual_role_of_scim_user_rejected(stack: &TestStack) {
    let scim = stack.client();
    let roles = Roles::connect(stack).await;
    let users = create_entra_users(&scim, 1).await;
    roles.wait_for(&users, &["member"]).await;

    let status = roles
        .admin
        .clone()
        .set_user_role(SetUserRoleRequest {
            workspace_id: stack.workspace_id.clone(),
            user_id: users[0].clone(),
            role: "admin".to_owned(),
            actor: "admin@example.com".to_owned(),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    assert_eq!(reason, "ROLE_MANAGED_BY_SCIM");
    assert_eq!(roles.role(&users[0]).await.as_deref(), Some("member"));
}

async fn deactivated_user_answers_inactive(stack: &TestStack) {
    let scim = stack.client();
    let roles = Roles::connect(stack).await;
    let users = create_entra_users(&scim, 1).await;
    roles.wait_for(&users, &["member"]).await;

    scim.patch_ok(
        &users[0],
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;

    let started = Instant::now();
    let answer = loop {
        let answer = roles
            .roles
            .clone()
            .get_effective_role(GetEffectiveRoleRequest {
                workspace_id: stack.workspace_id.clone(),
                user_id: users[0].clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .effective_role
            .unwrap();
        if !answer.active || started.elapsed() > CATCH_UP {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!answer.active);
    assert_eq!(answer.role, "");
}

/// With rbac-svc down while the identity provider keeps changing users and
/// memberships, roles catch up after its restart and equal a recomputation
/// from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_catch_up_after_rbac_restart() {
    let Some(mut stack) = TestStack::split(env!("CARGO_BIN_EXE_scim-stack")).await else {
        return;
    };
    let scim = stack.client();
    let roles = Roles::connect(&stack).await;
    let users = create_entra_users(&scim, 6).await;
    let admins = create_entra_group(&scim, &users[..2]).await;
    let managers = create_entra_group(&scim, &users[2..4]).await;
    roles.wait_for_group(&admins, 2).await;
    roles.wait_for_group(&managers, 2).await;
    roles.set_mapping(&admins, "admin").await;
    roles.set_mapping(&managers, "manager").await;

    stack.stop_rbac();
    let mut users = users;
    users.extend(create_entra_users(&scim, 3).await);
    remove_entra_member(&scim, &admins, &users[0]).await;
    add_entra_members(&scim, &admins, &users[6..7]).await;
    add_entra_members(&scim, &managers, &users[0..1]).await;
    add_entra_members(&scim, &managers, &users[7..9]).await;
    let deleted = users.remove(3);
    assert_eq!(scim.delete(&format!("Users/{deleted}")).await.status, 204);
    let viewers = create_entra_group(&scim, &users[4..6]).await;
    stack.start_rbac().await;

    let roles = Roles::connect(&stack).await;
    roles.wait_for_group(&viewers, 2).await;
    let expected = recompute_from_scratch(&scim, &roles, &users).await;
    let expected_roles: Vec<&str> = users.iter().map(|id| expected[id].as_str()).collect();
    let caught_up = roles.wait_for(&users, &expected_roles).await;
    assert_eq!(caught_up, roles_list(&expected_roles));
    assert_eq!(roles.role(&deleted).await, None);
}

async fn add_entra_members(scim: &ScimClient, group_id: &str, user_ids: &[String]) {
    let values: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    scim.patch_group_ok(
        group_id,
        &patch_body(json!([{"op": "Add", "path": "members", "value": values}])),
    )
    .await;
}

/// Computes each user's role from what the SCIM API returns now (each
/// user's groups) and from rbac-svc's mappings, catalogue and default role.
async fn recompute_from_scratch(
    scim: &ScimClient,
    roles: &Roles,
    user_ids: &[String],
) -> HashMap<String, String> {
    let catalogue = roles
        .admin
        .clone()
        .list_roles(ListRolesRequest {
            workspace_id: roles.workspace_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let ranks: HashMap<String, i32> = catalogue
        .roles
        .iter()
        .map(|role| (role.name.clone(), role.rank))
        .collect();
    let mappings: BTreeMap<String, String> = roles
        .admin
        .clone()
        .list_group_mappings(ListGroupMappingsRequest {
            workspace_id: roles.workspace_id.clone(),
            mapped_only: true,
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .mappings
        .into_iter()
        .map(|mapping| (mapping.group_id, mapping.role))
        .collect();

    let mut expected = HashMap::new();
    for user_id in user_ids {
        let user = scim.get_user(user_id).await;
        let groups: Vec<String> = user["groups"]
            .as_array()
            .map(|groups| {
                groups
                    .iter()
                    .filter_map(|group| group["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let role = groups
            .iter()
            .filter_map(|group_id| mappings.get(group_id))
            .max_by_key(|role| ranks.get(*role).copied().unwrap_or(0))
            .cloned()
            .unwrap_or_else(|| catalogue.default_role.clone());
        expected.insert(user_id.clone(), role);
    }
    expected
}
