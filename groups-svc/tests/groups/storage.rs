//! Storage suite for groups: round trips, set semantics of membership
//! operations, versions, uniqueness, deletion and tenant isolation. Every
//! test runs on SQLite and on PostgreSQL.

use groups_svc::ServiceError;
use proto::groups::v1::{
    CheckMembershipRequest, CreateGroupRequest, DeleteGroupRequest, GetGroupRequest,
    ListGroupsForUserRequest, ListGroupsRequest, RemoveUserMembershipsRequest, ReplaceGroupRequest,
    ResetWorkspaceRequest, UpdateGroupRequest,
};

use crate::support::{
    TestContext, add, apply, clear, create, ids, member_ids, members, remove, replace, update,
    version, workspace,
};

fn get_request(workspace_id: &str, group_id: &str, include_members: bool) -> GetGroupRequest {
    GetGroupRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        include_members,
    }
}

fn rename_request(workspace_id: &str, group_id: &str, display_name: &str) -> UpdateGroupRequest {
    UpdateGroupRequest {
        display_name: Some(display_name.to_owned()),
        ..update(workspace_id, group_id, Vec::new())
    }
}

async fn is_member(ctx: &TestContext, workspace_id: &str, group_id: &str, user_id: &str) -> bool {
    let request = CheckMembershipRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        group_id: group_id.to_owned(),
    };
    ctx.service
        .check_membership(request)
        .await
        .unwrap()
        .is_member
}

fn reset_request(workspace_id: &str) -> ResetWorkspaceRequest {
    ResetWorkspaceRequest {
        workspace_id: workspace_id.to_owned(),
    }
}

/// Returns the ids of the user's groups from ListGroupsForUser.
async fn group_ids_of(ctx: &TestContext, workspace_id: &str, user_id: &str) -> Vec<String> {
    let request = ListGroupsForUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
    };
    let response = ctx.service.list_groups_for_user(request).await.unwrap();
    response.groups.into_iter().map(|group| group.id).collect()
}

/// Returns the user's membership epoch as stored, bypassing the cache.
async fn user_epoch(ctx: &TestContext, workspace_id: &str, user_id: &str) -> i64 {
    ctx.service
        .store()
        .groups_for_user(workspace_id, user_id)
        .await
        .unwrap()
        .epoch
}

async fn group_total(ctx: &TestContext, workspace_id: &str) -> i64 {
    let request = ListGroupsRequest {
        workspace_id: workspace_id.to_owned(),
        count: 10,
        ..ListGroupsRequest::default()
    };
    ctx.service
        .list_groups(request)
        .await
        .unwrap()
        .total_results
}

async fn create_then_get_round_trip(ctx: TestContext) {
    let workspace_id = workspace();
    let created = ctx
        .service
        .create_group(CreateGroupRequest {
            workspace_id: workspace_id.clone(),
            display_name: "Litigation".to_owned(),
            external_id: Some("EXT-1".to_owned()),
            members: members(&["u2", "u1"]),
        })
        .await
        .unwrap();

    let without = ctx
        .service
        .get_group(get_request(&workspace_id, &created.id, false))
        .await
        .unwrap();
    let with = ctx
        .service
        .get_group(get_request(&workspace_id, &created.id, true))
        .await
        .unwrap();

    assert_eq!(version(&created), 1);
    assert_eq!(created.member_count, 2);
    assert_eq!(without.external_id.as_deref(), Some("EXT-1"));
    assert!(without.members.is_empty());
    assert_eq!(without.member_count, 2);
    assert_eq!(with.members, members(&["u1", "u2"]));
    assert_eq!(with.meta, created.meta);
}

async fn duplicate_members_stored_once(ctx: TestContext) {
    let workspace_id = workspace();

    let created = create(&ctx.service, &workspace_id, "Dupes", &["u1", "u1", "u2"]).await;

    assert_eq!(created.member_count, 2);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &created.id).await,
        ids(&["u1", "u2"])
    );
}

async fn add_present_member_changes_nothing(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["u1"]).await;

    let response = apply(&ctx.service, &workspace_id, &group.id, vec![add(&["u1"])]).await;

    let after = response.group.unwrap();
    assert!(!response.changed);
    assert!(response.added_user_ids.is_empty());
    assert_eq!(version(&after), 1);
    assert_eq!(after.member_count, 1);
}

async fn remove_absent_member_changes_nothing(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["u1"]).await;

    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![remove(&["ghost"])],
    )
    .await;

    let after = response.group.unwrap();
    assert!(!response.changed);
    assert!(response.removed_user_ids.is_empty());
    assert_eq!(version(&after), 1);
    assert_eq!(after.member_count, 1);
}

async fn add_and_remove_report_changed_ids(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["u1", "u2"]).await;

    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["u2", "u3", "u4"]), remove(&["u1", "u9"])],
    )
    .await;

    let after = response.group.unwrap();
    assert!(response.changed);
    assert_eq!(response.added_user_ids, ids(&["u3", "u4"]));
    assert_eq!(response.removed_user_ids, ids(&["u1"]));
    assert_eq!(version(&after), 2, "one request bumps the version once");
    assert_eq!(after.member_count, 3);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        ids(&["u2", "u3", "u4"])
    );
}

async fn replace_applies_only_difference(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b", "c"]).await;

    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![replace(&["b", "c", "d"])],
    )
    .await;

    let after = response.group.unwrap();
    assert_eq!(response.added_user_ids, ids(&["d"]));
    assert_eq!(response.removed_user_ids, ids(&["a"]));
    assert_eq!(after.member_count, 3);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        ids(&["b", "c", "d"])
    );
}

async fn replace_with_same_set_is_no_op(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b"]).await;

    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![replace(&["b", "a"])],
    )
    .await;

    assert!(!response.changed);
    assert_eq!(version(&response.group.unwrap()), 1);
}

async fn replace_group_sets_name_and_members(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Old", &["a", "b"]).await;

    let replaced = ctx
        .service
        .replace_group(ReplaceGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            display_name: "New".to_owned(),
            external_id: Some("X".to_owned()),
            members: members(&["c"]),
            expected_version: Some(1),
        })
        .await
        .unwrap();

    assert_eq!(replaced.display_name, "New");
    assert_eq!(replaced.external_id.as_deref(), Some("X"));
    assert_eq!(replaced.members, members(&["c"]));
    assert_eq!(replaced.member_count, 1);
    assert_eq!(version(&replaced), 2);
}

async fn clear_removes_every_member(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b"]).await;

    let response = apply(&ctx.service, &workspace_id, &group.id, vec![clear()]).await;

    assert_eq!(response.removed_user_ids, ids(&["a", "b"]));
    assert_eq!(response.group.unwrap().member_count, 0);
    assert!(
        member_ids(&ctx.service, &workspace_id, &group.id)
            .await
            .is_empty()
    );
}

async fn add_then_remove_same_id_nets_out(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;

    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["x"]), remove(&["x"]), remove(&["a"]), add(&["a"])],
    )
    .await;

    assert!(!response.changed);
    assert!(response.added_user_ids.is_empty());
    assert!(response.removed_user_ids.is_empty());
    assert_eq!(response.group.unwrap().member_count, 1);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        ids(&["a"])
    );
}

async fn rename_to_same_name_keeps_version(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &[]).await;

    let response = ctx
        .service
        .update_group(rename_request(&workspace_id, &group.id, "Team"))
        .await
        .unwrap();

    assert!(!response.changed);
    assert_eq!(version(&response.group.unwrap()), 1);
}

async fn rename_changing_case_bumps_version(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &[]).await;

    let response = ctx
        .service
        .update_group(rename_request(&workspace_id, &group.id, "TEAM"))
        .await
        .unwrap();

    let after = response.group.unwrap();
    assert!(response.changed);
    assert_eq!(after.display_name, "TEAM");
    assert_eq!(version(&after), 2);
}

async fn display_name_unique_ignoring_case(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Sales", &[]).await;
    create(&ctx.service, &workspace_id, "Straße", &[]).await;
    create(&ctx.service, &workspace_id, "Équipe", &[]).await;

    for taken in ["SALES", "sales", "STRASSE", "strasse", "ÉQUIPE", "équipe"] {
        let result = ctx
            .service
            .create_group(CreateGroupRequest {
                workspace_id: workspace_id.clone(),
                display_name: taken.to_owned(),
                ..CreateGroupRequest::default()
            })
            .await;

        assert!(
            matches!(result, Err(ServiceError::DisplayNameTaken)),
            "{taken}: {result:?}"
        );
    }
}

async fn same_name_allowed_in_other_workspace(ctx: TestContext) {
    create(&ctx.service, &workspace(), "Sales", &[]).await;

    let other = create(&ctx.service, &workspace(), "SALES", &[]).await;

    assert_eq!(other.display_name, "SALES");
}

async fn rename_onto_taken_name_changes_nothing(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Taken", &[]).await;
    let group = create(&ctx.service, &workspace_id, "Mine", &["a"]).await;
    let request = UpdateGroupRequest {
        display_name: Some("TAKEN".to_owned()),
        ..update(&workspace_id, &group.id, vec![add(&["b"])])
    };

    let result = ctx.service.update_group(request).await;

    let after = ctx
        .service
        .get_group(get_request(&workspace_id, &group.id, true))
        .await
        .unwrap();
    assert!(
        matches!(result, Err(ServiceError::DisplayNameTaken)),
        "{result:?}"
    );
    assert_eq!(after.display_name, "Mine");
    assert_eq!(
        after.members,
        members(&["a"]),
        "the add in the same request is rolled back"
    );
    assert_eq!(version(&after), 1);
}

async fn empty_display_name_rejected(ctx: TestContext) {
    let result = ctx
        .service
        .create_group(CreateGroupRequest {
            workspace_id: workspace(),
            display_name: "  ".to_owned(),
            ..CreateGroupRequest::default()
        })
        .await;

    assert!(
        matches!(result, Err(ServiceError::InvalidArgument { ref field, .. }) if field == "displayName"),
        "{result:?}"
    );
}

async fn external_id_set_and_cleared(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &[]).await;
    let set = UpdateGroupRequest {
        set_external_id: true,
        external_id: Some("EXT".to_owned()),
        ..update(&workspace_id, &group.id, Vec::new())
    };
    let unset = UpdateGroupRequest {
        set_external_id: true,
        external_id: None,
        ..update(&workspace_id, &group.id, Vec::new())
    };

    let after_set = ctx.service.update_group(set).await.unwrap().group.unwrap();
    let after_unset = ctx
        .service
        .update_group(unset)
        .await
        .unwrap()
        .group
        .unwrap();

    assert_eq!(after_set.external_id.as_deref(), Some("EXT"));
    assert_eq!(after_unset.external_id, None);
    assert_eq!(version(&after_unset), 3);
}

async fn update_returns_members_up_to_limit(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b"]).await;
    let within = UpdateGroupRequest {
        return_members_up_to: 3,
        ..update(&workspace_id, &group.id, vec![add(&["c"])])
    };
    let beyond = UpdateGroupRequest {
        return_members_up_to: 3,
        ..update(&workspace_id, &group.id, vec![add(&["d"])])
    };

    let small = ctx
        .service
        .update_group(within)
        .await
        .unwrap()
        .group
        .unwrap();
    let large = ctx
        .service
        .update_group(beyond)
        .await
        .unwrap()
        .group
        .unwrap();

    assert_eq!(small.members, members(&["a", "b", "c"]));
    assert!(large.members.is_empty());
    assert_eq!(large.member_count, 4);
}

async fn stale_expected_version_rejected(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &[]).await;
    apply(&ctx.service, &workspace_id, &group.id, vec![add(&["a"])]).await;
    let stale_update = UpdateGroupRequest {
        expected_version: Some(1),
        ..update(&workspace_id, &group.id, vec![add(&["b"])])
    };
    let stale_delete = DeleteGroupRequest {
        workspace_id: workspace_id.clone(),
        group_id: group.id.clone(),
        expected_version: Some(1),
    };
    let current_update = UpdateGroupRequest {
        expected_version: Some(2),
        ..update(&workspace_id, &group.id, vec![add(&["b"])])
    };

    let update_result = ctx.service.update_group(stale_update).await;
    let delete_result = ctx.service.delete_group(stale_delete).await;
    let current_result = ctx.service.update_group(current_update).await;

    assert!(
        matches!(
            update_result,
            Err(ServiceError::VersionMismatch { expected: 1 })
        ),
        "{update_result:?}"
    );
    assert!(
        matches!(
            delete_result,
            Err(ServiceError::VersionMismatch { expected: 1 })
        ),
        "{delete_result:?}"
    );
    assert_eq!(version(&current_result.unwrap().group.unwrap()), 3);
}

async fn delete_group_then_not_found(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;
    let delete = || DeleteGroupRequest {
        workspace_id: workspace_id.clone(),
        group_id: group.id.clone(),
        expected_version: None,
    };

    ctx.service.delete_group(delete()).await.unwrap();

    let get = ctx
        .service
        .get_group(get_request(&workspace_id, &group.id, false))
        .await;
    let again = ctx.service.delete_group(delete()).await;
    let update_result = ctx
        .service
        .update_group(update(&workspace_id, &group.id, vec![add(&["b"])]))
        .await;
    assert!(
        matches!(get, Err(ServiceError::GroupNotFound(_))),
        "{get:?}"
    );
    assert!(
        matches!(again, Err(ServiceError::GroupNotFound(_))),
        "{again:?}"
    );
    assert!(
        matches!(update_result, Err(ServiceError::GroupNotFound(_))),
        "{update_result:?}"
    );
    assert!(!is_member(&ctx, &workspace_id, &group.id, "a").await);
}

async fn other_workspace_sees_not_found(ctx: TestContext) {
    let owner = workspace();
    let intruder = workspace();
    let group = create(&ctx.service, &owner, "Secret", &["a"]).await;

    let get = ctx
        .service
        .get_group(get_request(&intruder, &group.id, true))
        .await;
    let update_result = ctx
        .service
        .update_group(update(&intruder, &group.id, vec![clear()]))
        .await;
    let delete = ctx
        .service
        .delete_group(DeleteGroupRequest {
            workspace_id: intruder.clone(),
            group_id: group.id.clone(),
            expected_version: None,
        })
        .await;
    let listed = ctx
        .service
        .list_groups(ListGroupsRequest {
            workspace_id: intruder.clone(),
            count: 10,
            ..ListGroupsRequest::default()
        })
        .await
        .unwrap();
    let removed = ctx
        .service
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: intruder.clone(),
            user_id: "a".to_owned(),
        })
        .await
        .unwrap();

    assert!(
        matches!(get, Err(ServiceError::GroupNotFound(_))),
        "{get:?}"
    );
    assert!(
        matches!(update_result, Err(ServiceError::GroupNotFound(_))),
        "{update_result:?}"
    );
    assert!(
        matches!(delete, Err(ServiceError::GroupNotFound(_))),
        "{delete:?}"
    );
    assert_eq!(listed.total_results, 0);
    assert!(removed.group_ids.is_empty());
    assert!(!is_member(&ctx, &intruder, &group.id, "a").await);
    assert!(is_member(&ctx, &owner, &group.id, "a").await);
    assert_eq!(
        member_ids(&ctx.service, &owner, &group.id).await,
        ids(&["a"])
    );
}

async fn remove_user_leaves_every_group(ctx: TestContext) {
    let workspace_id = workspace();
    let first = create(&ctx.service, &workspace_id, "First", &["gone", "stays"]).await;
    let second = create(&ctx.service, &workspace_id, "Second", &["gone"]).await;
    let third = create(&ctx.service, &workspace_id, "Third", &["stays"]).await;

    let response = ctx
        .service
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: workspace_id.clone(),
            user_id: "gone".to_owned(),
        })
        .await
        .unwrap();

    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(response.group_ids, expected);
    let first_after = ctx
        .service
        .get_group(get_request(&workspace_id, &first.id, false))
        .await
        .unwrap();
    let second_after = ctx
        .service
        .get_group(get_request(&workspace_id, &second.id, false))
        .await
        .unwrap();
    let third_after = ctx
        .service
        .get_group(get_request(&workspace_id, &third.id, false))
        .await
        .unwrap();
    assert_eq!((version(&first_after), first_after.member_count), (2, 1));
    assert_eq!((version(&second_after), second_after.member_count), (2, 0));
    assert_eq!((version(&third_after), third_after.member_count), (1, 1));
    assert!(!is_member(&ctx, &workspace_id, &first.id, "gone").await);
}

async fn groups_for_user_follow_changes(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Before", &["u"]).await;
    let list = || ListGroupsForUserRequest {
        workspace_id: workspace_id.clone(),
        user_id: "u".to_owned(),
    };
    let initial = ctx.service.list_groups_for_user(list()).await.unwrap();

    ctx.service
        .update_group(rename_request(&workspace_id, &group.id, "After"))
        .await
        .unwrap();
    let renamed = ctx.service.list_groups_for_user(list()).await.unwrap();
    ctx.service
        .delete_group(DeleteGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            expected_version: None,
        })
        .await
        .unwrap();
    let deleted = ctx.service.list_groups_for_user(list()).await.unwrap();

    assert_eq!(initial.groups[0].display_name, "Before");
    assert_eq!(renamed.groups[0].display_name, "After");
    assert!(deleted.groups.is_empty());
}

async fn reset_deletes_only_that_workspace(ctx: TestContext) {
    let reset = workspace();
    let kept = workspace();
    let first = create(&ctx.service, &reset, "First", &["a", "b"]).await;
    let second = create(&ctx.service, &reset, "Second", &["b", "c"]).await;
    let empty = create(&ctx.service, &reset, "Empty", &[]).await;
    let other = create(&ctx.service, &kept, "First", &["a", "b"]).await;
    // Cached results from before the reset must not survive it.
    assert!(is_member(&ctx, &reset, &first.id, "a").await);
    assert!(is_member(&ctx, &reset, &second.id, "c").await);
    assert_eq!(group_ids_of(&ctx, &reset, "b").await.len(), 2);
    assert_eq!(group_ids_of(&ctx, &kept, "a").await, vec![other.id.clone()]);
    let epochs_before = [
        user_epoch(&ctx, &reset, "a").await,
        user_epoch(&ctx, &reset, "b").await,
        user_epoch(&ctx, &reset, "c").await,
    ];
    let kept_epoch_before = user_epoch(&ctx, &kept, "a").await;

    let response = ctx
        .service
        .reset_workspace(reset_request(&reset))
        .await
        .unwrap();

    assert_eq!(response.deleted_groups, 3);
    for group in [&first, &second, &empty] {
        let get = ctx
            .service
            .get_group(get_request(&reset, &group.id, true))
            .await;
        assert!(
            matches!(get, Err(ServiceError::GroupNotFound(_))),
            "{get:?}"
        );
    }
    assert_eq!(group_total(&ctx, &reset).await, 0);
    assert!(!is_member(&ctx, &reset, &first.id, "a").await);
    assert!(!is_member(&ctx, &reset, &second.id, "c").await);
    assert!(group_ids_of(&ctx, &reset, "a").await.is_empty());
    assert!(group_ids_of(&ctx, &reset, "b").await.is_empty());
    assert!(group_ids_of(&ctx, &reset, "c").await.is_empty());
    let epochs_after = [
        user_epoch(&ctx, &reset, "a").await,
        user_epoch(&ctx, &reset, "b").await,
        user_epoch(&ctx, &reset, "c").await,
    ];
    for (before, after) in epochs_before.iter().zip(&epochs_after) {
        assert_eq!(
            *after,
            before + 1,
            "before {epochs_before:?}, after {epochs_after:?}"
        );
    }

    assert_eq!(group_total(&ctx, &kept).await, 1);
    assert_eq!(
        member_ids(&ctx.service, &kept, &other.id).await,
        ids(&["a", "b"])
    );
    assert!(is_member(&ctx, &kept, &other.id, "a").await);
    assert_eq!(group_ids_of(&ctx, &kept, "a").await, vec![other.id.clone()]);
    assert_eq!(user_epoch(&ctx, &kept, "a").await, kept_epoch_before);
}

async fn reset_twice_then_recreate(ctx: TestContext) {
    let workspace_id = workspace();
    let before = create(&ctx.service, &workspace_id, "Team", &["a"]).await;

    let first = ctx
        .service
        .reset_workspace(reset_request(&workspace_id))
        .await
        .unwrap();
    let second = ctx
        .service
        .reset_workspace(reset_request(&workspace_id))
        .await
        .unwrap();
    let after = create(&ctx.service, &workspace_id, "TEAM", &["a"]).await;

    assert_eq!(first.deleted_groups, 1);
    assert_eq!(second.deleted_groups, 0);
    assert_ne!(after.id, before.id);
    assert!(!is_member(&ctx, &workspace_id, &before.id, "a").await);
    assert!(is_member(&ctx, &workspace_id, &after.id, "a").await);
    assert_eq!(
        group_ids_of(&ctx, &workspace_id, "a").await,
        vec![after.id.clone()]
    );
}

async fn reset_unknown_workspace_returns_zero(ctx: TestContext) {
    let response = ctx
        .service
        .reset_workspace(reset_request(&workspace()))
        .await
        .unwrap();

    assert_eq!(response.deleted_groups, 0);
}

async fn reset_empty_workspace_id_rejected(ctx: TestContext) {
    let kept = workspace();
    let group = create(&ctx.service, &kept, "Team", &["a"]).await;

    let result = ctx.service.reset_workspace(reset_request("")).await;

    assert!(
        matches!(&result, Err(ServiceError::InvalidArgument { field, .. }) if field == "workspace_id"),
        "{result:?}"
    );
    assert!(is_member(&ctx, &kept, &group.id, "a").await);
}

crate::engine_tests!(
    create_then_get_round_trip,
    duplicate_members_stored_once,
    add_present_member_changes_nothing,
    remove_absent_member_changes_nothing,
    add_and_remove_report_changed_ids,
    replace_applies_only_difference,
    replace_with_same_set_is_no_op,
    replace_group_sets_name_and_members,
    clear_removes_every_member,
    add_then_remove_same_id_nets_out,
    rename_to_same_name_keeps_version,
    rename_changing_case_bumps_version,
    display_name_unique_ignoring_case,
    same_name_allowed_in_other_workspace,
    rename_onto_taken_name_changes_nothing,
    empty_display_name_rejected,
    external_id_set_and_cleared,
    update_returns_members_up_to_limit,
    stale_expected_version_rejected,
    delete_group_then_not_found,
    other_workspace_sees_not_found,
    remove_user_leaves_every_group,
    groups_for_user_follow_changes,
    reset_deletes_only_that_workspace,
    reset_twice_then_recreate,
    reset_unknown_workspace_returns_zero,
    reset_empty_workspace_id_rejected,
);
