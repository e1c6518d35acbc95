//! The service's rules on both engines: roles from events, mappings, the
//! default role, previews, manual roles and role queries.

use proto::events::v1::{event::Payload, role_change_cause::Kind};
use proto::rbac::v1::{
    BatchGetEffectiveRolesRequest, GetEffectiveRoleRequest, ListGroupMappingsRequest,
    ListRolesRequest, ListUsersWithRoleRequest, PreviewRoleChangeRequest,
    RemoveGroupMappingRequest, RoleSource, SetDefaultRoleRequest, SetGroupMappingRequest,
    SetUserRoleRequest, preview_role_change_request::Change,
};
use rbac_svc::{RbacService, ServiceError};

use crate::engine_tests;
use crate::support::{
    TestContext, deliver, effective, group_created, group_deleted, members_changed, outbox_events,
    roles_of, user_active, user_adopted, user_created, user_deleted, user_ids, workspace,
};

engine_tests!(
    new_user_gets_default_role,
    mapping_large_group_changes_everyone,
    catalogue_lists_built_in_roles,
    mapping_moves_only_members,
    removed_member_returns_to_default,
    highest_ranked_mapping_wins,
    unmapping_falls_back_to_lower_mapping,
    mapping_counts_only_stored_members,
    mapping_ignores_memberships_in_other_workspaces,
    unmapping_restores_default,
    default_change_moves_default_users_only,
    preview_predicts_mapping_exactly,
    preview_predicts_default_change_exactly,
    preview_applies_nothing,
    redelivered_event_applied_once,
    membership_before_user_resolves,
    deactivated_user_answers_inactive,
    manual_role_rejected_for_scim_user,
    manual_role_for_unmanaged_user,
    adoption_replaces_manual_role,
    deleted_user_not_found,
    deleted_mapped_group_restores_default,
    mapping_unknown_group_not_found,
    mapping_unknown_role_rejected,
    remove_missing_mapping_not_found,
    users_with_role_paged,
    batch_reports_unknown_users,
    role_changes_recorded_with_cause,
    mappings_list_groups_with_roles,
    workspaces_are_isolated,
    batch_spanning_workspaces_applies_each,
    partly_redelivered_batch_applies_the_rest,
);

async fn set_mapping(service: &RbacService, workspace_id: &str, group_id: &str, role: &str) -> i64 {
    service
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: workspace_id.to_owned(),
            group_id: group_id.to_owned(),
            role: role.to_owned(),
            actor: "admin@test".to_owned(),
        })
        .await
        .unwrap()
        .changed_users
}

async fn remove_mapping(service: &RbacService, workspace_id: &str, group_id: &str) -> i64 {
    service
        .remove_group_mapping(RemoveGroupMappingRequest {
            workspace_id: workspace_id.to_owned(),
            group_id: group_id.to_owned(),
            actor: "admin@test".to_owned(),
        })
        .await
        .unwrap()
        .changed_users
}

async fn set_default(service: &RbacService, workspace_id: &str, role: &str) -> i64 {
    service
        .set_default_role(SetDefaultRoleRequest {
            workspace_id: workspace_id.to_owned(),
            role: role.to_owned(),
        })
        .await
        .unwrap()
        .changed_users
}

/// Creates SCIM-managed users and returns their ids.
async fn provision(service: &RbacService, workspace_id: &str, count: usize) -> Vec<String> {
    let users = user_ids(count);
    let events = users
        .iter()
        .map(|user_id| user_created(workspace_id, user_id, true))
        .collect();
    deliver(service, events).await;
    users
}

/// Creates one SCIM-managed user in the groups "low" and "high" and
/// returns its id.
async fn user_in_low_and_high(service: &RbacService, workspace_id: &str) -> String {
    let users = provision(service, workspace_id, 1).await;
    deliver(
        service,
        vec![
            group_created(workspace_id, "low", &users),
            group_created(workspace_id, "high", &users),
        ],
    )
    .await;
    users[0].clone()
}

async fn new_user_gets_default_role(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1).await;

    let answer = effective(&ctx.service, &ws, &users[0]).await;

    assert_eq!(answer.role, "member");
    assert_eq!(answer.source(), RoleSource::Default);
    assert!(answer.active);
}

/// More members than one statement writes, so the roles and their events
/// are written in several statements.
async fn mapping_large_group_changes_everyone(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1_201).await;
    deliver(&ctx.service, vec![group_created(&ws, "everyone", &users)]).await;

    let changed = set_mapping(&ctx.service, &ws, "everyone", "viewer").await;
    let roles = roles_of(&ctx.service, &ws, &users).await;
    let role_events: Vec<String> = outbox_events(&ctx.service)
        .await
        .into_iter()
        .filter_map(|event| match event.payload {
            Some(Payload::EffectiveRoleChanged(changed)) if changed.role == "viewer" => {
                Some(changed.user_id)
            }
            _ => None,
        })
        .collect();

    assert_eq!(changed, 1_201);
    assert_eq!(roles.iter().filter(|role| *role == "viewer").count(), 1_201);
    assert!(
        role_events == users,
        "expected one event per user in user id order, got {} events",
        role_events.len()
    );
}

async fn catalogue_lists_built_in_roles(ctx: TestContext) {
    let ws = workspace();

    let roles = ctx
        .service
        .list_roles(ListRolesRequest {
            workspace_id: ws.clone(),
        })
        .await
        .unwrap();

    let names: Vec<&str> = roles.roles.iter().map(|role| role.name.as_str()).collect();
    assert_eq!(names, ["admin", "manager", "member", "viewer"]);
    assert_eq!(roles.default_role, "member");
}

async fn mapping_moves_only_members(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 4).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users[..3])]).await;

    let changed = set_mapping(&ctx.service, &ws, "g", "manager").await;

    assert_eq!(changed, 3);
    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["manager", "manager", "manager", "member"]
    );
}

async fn removed_member_returns_to_default(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 3).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    deliver(
        &ctx.service,
        vec![members_changed(&ws, "g", &[], &users[..1])],
    )
    .await;

    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["member", "admin", "admin"]
    );
}

async fn highest_ranked_mapping_wins(ctx: TestContext) {
    let ws = workspace();
    let user_id = user_in_low_and_high(&ctx.service, &ws).await;
    set_mapping(&ctx.service, &ws, "high", "admin").await;

    set_mapping(&ctx.service, &ws, "low", "viewer").await;

    let answer = effective(&ctx.service, &ws, &user_id).await;
    assert_eq!(answer.role, "admin");
    assert_eq!(answer.group_id, "high");
}

async fn unmapping_falls_back_to_lower_mapping(ctx: TestContext) {
    let ws = workspace();
    let user_id = user_in_low_and_high(&ctx.service, &ws).await;
    set_mapping(&ctx.service, &ws, "low", "viewer").await;
    set_mapping(&ctx.service, &ws, "high", "admin").await;

    remove_mapping(&ctx.service, &ws, "high").await;

    let answer = effective(&ctx.service, &ws, &user_id).await;
    assert_eq!(answer.role, "viewer");
    assert_eq!(answer.group_id, "low");
}

/// Maps a group that names members whose users have not arrived yet. Only
/// the stored users change and count.
async fn mapping_counts_only_stored_members(ctx: TestContext) {
    let ws = workspace();
    let stored = provision(&ctx.service, &ws, 2).await;
    let mut members = stored.clone();
    members.extend(user_ids(3));
    deliver(&ctx.service, vec![group_created(&ws, "g", &members)]).await;

    let changed = set_mapping(&ctx.service, &ws, "g", "manager").await;

    assert_eq!(changed, 2);
}

/// Maps a group while another workspace has the same user and group ids.
/// Here "high" is mapped to admin and has no members. There it has them all,
/// and that must not reach this workspace's users.
async fn mapping_ignores_memberships_in_other_workspaces(ctx: TestContext) {
    let ws = workspace();
    let other = workspace();
    let users = provision(&ctx.service, &ws, 2).await;
    let events = users
        .iter()
        .map(|user_id| user_created(&other, user_id, true))
        .chain([group_created(&other, "high", &users)])
        .collect();
    deliver(&ctx.service, events).await;
    deliver(
        &ctx.service,
        vec![
            group_created(&ws, "high", &[]),
            group_created(&ws, "g", &users),
        ],
    )
    .await;
    set_mapping(&ctx.service, &ws, "high", "admin").await;

    set_mapping(&ctx.service, &ws, "g", "viewer").await;

    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["viewer", "viewer"]
    );
}

async fn unmapping_restores_default(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 2).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users[..1])]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    let changed = remove_mapping(&ctx.service, &ws, "g").await;

    assert_eq!(changed, 1);
    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["member", "member"]
    );
}

async fn default_change_moves_default_users_only(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 3).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users[..1])]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    let changed = set_default(&ctx.service, &ws, "viewer").await;

    assert_eq!(changed, 2);
    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["admin", "viewer", "viewer"]
    );
}

async fn preview_predicts_mapping_exactly(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 5).await;
    deliver(
        &ctx.service,
        vec![
            group_created(&ws, "big", &users[..4]),
            group_created(&ws, "top", &users[..1]),
        ],
    )
    .await;
    set_mapping(&ctx.service, &ws, "top", "admin").await;

    let preview = ctx
        .service
        .preview_role_change(PreviewRoleChangeRequest {
            workspace_id: ws.clone(),
            change: Some(Change::SetMapping(SetGroupMappingRequest {
                workspace_id: ws.clone(),
                group_id: "big".to_owned(),
                role: "manager".to_owned(),
                actor: String::new(),
            })),
            sample_size: 100,
        })
        .await
        .unwrap();
    let before = roles_of(&ctx.service, &ws, &users).await;
    let changed = set_mapping(&ctx.service, &ws, "big", "manager").await;
    let after = roles_of(&ctx.service, &ws, &users).await;

    let actual: Vec<(String, String, String)> = users
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (from, to))| from != to)
        .map(|(user_id, (from, to))| (user_id.clone(), from.clone(), to.clone()))
        .collect();
    let predicted: Vec<(String, String, String)> = preview
        .sample
        .iter()
        .map(|change| {
            (
                change.user_id.clone(),
                change.from_role.clone(),
                change.to_role.clone(),
            )
        })
        .collect();
    assert_eq!(preview.changed_users, changed);
    assert_eq!(predicted, actual);
    assert_eq!(preview.transitions.len(), 1);
    assert_eq!(preview.transitions[0].users, 3);
}

async fn preview_predicts_default_change_exactly(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 3).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users[..1])]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    let preview = ctx
        .service
        .preview_role_change(PreviewRoleChangeRequest {
            workspace_id: ws.clone(),
            change: Some(Change::DefaultRole("viewer".to_owned())),
            sample_size: 0,
        })
        .await
        .unwrap();
    let changed = set_default(&ctx.service, &ws, "viewer").await;

    assert_eq!(preview.changed_users, changed);
    let sampled: Vec<&str> = preview
        .sample
        .iter()
        .map(|change| change.user_id.as_str())
        .collect();
    assert_eq!(sampled, [users[1].as_str(), users[2].as_str()]);
}

async fn preview_applies_nothing(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 2).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;

    ctx.service
        .preview_role_change(PreviewRoleChangeRequest {
            workspace_id: ws.clone(),
            change: Some(Change::SetMapping(SetGroupMappingRequest {
                workspace_id: ws.clone(),
                group_id: "g".to_owned(),
                role: "admin".to_owned(),
                actor: String::new(),
            })),
            sample_size: 0,
        })
        .await
        .unwrap();

    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["member", "member"]
    );
}

async fn redelivered_event_applied_once(ctx: TestContext) {
    let ws = workspace();
    let users = user_ids(1);
    let event = user_created(&ws, &users[0], true);

    let first = deliver(&ctx.service, vec![event.clone()]).await;
    let second = deliver(&ctx.service, vec![event]).await;

    assert_eq!(first, 1);
    assert_eq!(second, 0);
    assert_eq!(outbox_events(&ctx.service).await.len(), 1);
}

async fn membership_before_user_resolves(ctx: TestContext) {
    let ws = workspace();
    let users = user_ids(1);
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    deliver(&ctx.service, vec![user_created(&ws, &users[0], true)]).await;

    assert_eq!(effective(&ctx.service, &ws, &users[0]).await.role, "admin");
}

async fn deactivated_user_answers_inactive(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    deliver(&ctx.service, vec![user_active(&ws, &users[0], false)]).await;

    let answer = effective(&ctx.service, &ws, &users[0]).await;
    assert!(!answer.active);
    assert_eq!(answer.role, "");
}

async fn manual_role_rejected_for_scim_user(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1).await;

    let result = ctx
        .service
        .set_user_role(SetUserRoleRequest {
            workspace_id: ws.clone(),
            user_id: users[0].clone(),
            role: "admin".to_owned(),
            actor: "admin@test".to_owned(),
        })
        .await;

    assert!(matches!(result, Err(ServiceError::RoleManagedByScim(_))));
    assert_eq!(effective(&ctx.service, &ws, &users[0]).await.role, "member");
}

async fn manual_role_for_unmanaged_user(ctx: TestContext) {
    let ws = workspace();
    let users = user_ids(1);
    deliver(&ctx.service, vec![user_created(&ws, &users[0], false)]).await;

    let answer = ctx
        .service
        .set_user_role(SetUserRoleRequest {
            workspace_id: ws.clone(),
            user_id: users[0].clone(),
            role: "manager".to_owned(),
            actor: "admin@test".to_owned(),
        })
        .await
        .unwrap()
        .effective_role
        .unwrap();

    assert_eq!(answer.role, "manager");
    assert_eq!(answer.source(), RoleSource::Manual);
}

async fn adoption_replaces_manual_role(ctx: TestContext) {
    let ws = workspace();
    let users = user_ids(1);
    deliver(&ctx.service, vec![user_created(&ws, &users[0], false)]).await;
    ctx.service
        .set_user_role(SetUserRoleRequest {
            workspace_id: ws.clone(),
            user_id: users[0].clone(),
            role: "admin".to_owned(),
            actor: String::new(),
        })
        .await
        .unwrap();

    deliver(&ctx.service, vec![user_adopted(&ws, &users[0])]).await;

    let answer = effective(&ctx.service, &ws, &users[0]).await;
    assert_eq!(answer.role, "member");
    assert!(answer.scim_managed);
}

async fn deleted_user_not_found(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1).await;
    effective(&ctx.service, &ws, &users[0]).await;

    deliver(&ctx.service, vec![user_deleted(&ws, &users[0])]).await;

    let result = ctx
        .service
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id: ws.clone(),
            user_id: users[0].clone(),
        })
        .await;
    assert!(matches!(result, Err(ServiceError::UserNotFound(_))));
}

async fn deleted_mapped_group_restores_default(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 2).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    deliver(&ctx.service, vec![group_deleted(&ws, "g")]).await;

    assert_eq!(
        roles_of(&ctx.service, &ws, &users).await,
        ["member", "member"]
    );
    let mapped = ctx
        .service
        .list_group_mappings(ListGroupMappingsRequest {
            workspace_id: ws.clone(),
            mapped_only: true,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap();
    assert!(mapped.mappings.is_empty());
}

async fn mapping_unknown_group_not_found(ctx: TestContext) {
    let ws = workspace();

    let result = ctx
        .service
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: ws.clone(),
            group_id: "nope".to_owned(),
            role: "admin".to_owned(),
            actor: String::new(),
        })
        .await;

    assert!(matches!(result, Err(ServiceError::GroupNotFound(_))));
}

async fn mapping_unknown_role_rejected(ctx: TestContext) {
    let ws = workspace();
    deliver(&ctx.service, vec![group_created(&ws, "g", &[])]).await;

    let result = ctx
        .service
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: ws.clone(),
            group_id: "g".to_owned(),
            role: "owner".to_owned(),
            actor: String::new(),
        })
        .await;

    assert!(matches!(result, Err(ServiceError::UnknownRole(_))));
}

async fn remove_missing_mapping_not_found(ctx: TestContext) {
    let ws = workspace();
    deliver(&ctx.service, vec![group_created(&ws, "g", &[])]).await;

    let result = ctx
        .service
        .remove_group_mapping(RemoveGroupMappingRequest {
            workspace_id: ws.clone(),
            group_id: "g".to_owned(),
            actor: String::new(),
        })
        .await;

    assert!(matches!(result, Err(ServiceError::MappingNotFound(_))));
}

async fn users_with_role_paged(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 5).await;
    deliver(&ctx.service, vec![user_active(&ws, &users[4], false)]).await;

    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = ctx
            .service
            .list_users_with_role(ListUsersWithRoleRequest {
                workspace_id: ws.clone(),
                role: "member".to_owned(),
                page_size: 2,
                page_token,
            })
            .await
            .unwrap();
        listed.extend(page.user_ids);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }

    assert_eq!(listed, users[..4]);
}

async fn batch_reports_unknown_users(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 2).await;

    let answer = ctx
        .service
        .batch_get_effective_roles(BatchGetEffectiveRolesRequest {
            workspace_id: ws.clone(),
            user_ids: vec![users[1].clone(), "ghost".to_owned(), users[0].clone()],
        })
        .await
        .unwrap();

    let found: Vec<&str> = answer
        .effective_roles
        .iter()
        .map(|role| role.user_id.as_str())
        .collect();
    assert_eq!(found, [users[1].as_str(), users[0].as_str()]);
    assert_eq!(answer.not_found_user_ids, ["ghost"]);
}

async fn role_changes_recorded_with_cause(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 1).await;
    deliver(&ctx.service, vec![group_created(&ws, "g", &users)]).await;
    set_mapping(&ctx.service, &ws, "g", "admin").await;

    let events = outbox_events(&ctx.service).await;

    let changes: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.payload {
            Some(Payload::EffectiveRoleChanged(changed)) => Some(changed.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].previous_role, "");
    assert_eq!(changes[1].previous_role, "member");
    assert_eq!(changes[1].role, "admin");
    let cause = changes[1].cause.clone().unwrap();
    assert_eq!(cause.kind(), Kind::MappingSet);
    assert_eq!(cause.group_id, "g");
    assert!(
        events
            .iter()
            .any(|event| matches!(event.payload, Some(Payload::GroupMappingSet(_))))
    );
}

async fn mappings_list_groups_with_roles(ctx: TestContext) {
    let ws = workspace();
    let users = provision(&ctx.service, &ws, 2).await;
    deliver(
        &ctx.service,
        vec![
            group_created(&ws, "a", &users),
            group_created(&ws, "b", &users[..1]),
        ],
    )
    .await;
    set_mapping(&ctx.service, &ws, "b", "viewer").await;

    let listed = ctx
        .service
        .list_group_mappings(ListGroupMappingsRequest {
            workspace_id: ws.clone(),
            mapped_only: false,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap();

    let rows: Vec<(&str, i64, &str)> = listed
        .mappings
        .iter()
        .map(|row| (row.group_id.as_str(), row.member_count, row.role.as_str()))
        .collect();
    assert_eq!(rows, [("a", 2, ""), ("b", 1, "viewer")]);
}

async fn workspaces_are_isolated(ctx: TestContext) {
    let ws = workspace();
    let other = workspace();
    let users = provision(&ctx.service, &ws, 1).await;

    let result = ctx
        .service
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id: other,
            user_id: users[0].clone(),
        })
        .await;

    assert!(matches!(result, Err(ServiceError::UserNotFound(_))));
}

async fn batch_spanning_workspaces_applies_each(ctx: TestContext) {
    let first = workspace();
    let second = workspace();
    let users = user_ids(3);

    let applied = deliver(
        &ctx.service,
        vec![
            user_created(&first, &users[0], true),
            user_created(&second, &users[1], true),
            user_created(&first, &users[2], true),
        ],
    )
    .await;

    assert_eq!(applied, 3);
    assert_eq!(
        effective(&ctx.service, &second, &users[1]).await.role,
        "member"
    );
}

async fn partly_redelivered_batch_applies_the_rest(ctx: TestContext) {
    let ws = workspace();
    let users = user_ids(2);
    let earlier = user_created(&ws, &users[0], true);
    deliver(&ctx.service, vec![earlier.clone()]).await;

    let applied = deliver(
        &ctx.service,
        vec![earlier, user_created(&ws, &users[1], true)],
    )
    .await;

    assert_eq!(applied, 1);
    assert_eq!(effective(&ctx.service, &ws, &users[1]).await.role, "member");
}
