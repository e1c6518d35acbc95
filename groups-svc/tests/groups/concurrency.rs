//! Concurrent writers, large groups and event consumption. Every test runs
//! on SQLite and on PostgreSQL.

use std::collections::BTreeSet;

use futures::StreamExt;
use proto::events::v1::{DeliverRequest, Event, UserDeleted, event::Payload};
use proto::groups::v1::{
    BatchCheckMembershipRequest, CheckMembershipRequest, GetGroupRequest, ListGroupsForUserRequest,
    ListGroupsRequest, Member, MemberList, MembershipOperation, MembershipPair,
    ReplaceGroupRequest, ResetWorkspaceRequest, UpdateGroupRequest,
    membership_operation::Operation,
};
use tokio::task::JoinSet;

use crate::support::{
    TestContext, add, apply, create, events, group_updated, ids, kinds, member_ids, remove, update,
    version, workspace,
};

/// Members of the large-group test.
const LARGE_GROUP_SIZE: usize = 100_000;
/// Groups of the large-reset test, which is also the number of pairs its
/// batch checks.
const RESET_GROUP_COUNT: usize = 1_000;
/// Distinct users of the large-reset test, each in several groups.
const RESET_USER_COUNT: usize = 300;
/// Members of each group in the large-reset test.
const RESET_MEMBERS_PER_GROUP: usize = 5;

async fn get_group(
    ctx: &TestContext,
    workspace_id: &str,
    group_id: &str,
) -> proto::groups::v1::Group {
    ctx.service
        .get_group(GetGroupRequest {
            workspace_id: workspace_id.to_owned(),
            group_id: group_id.to_owned(),
            include_members: false,
        })
        .await
        .unwrap()
}

async fn concurrent_adds_all_land(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Busy", &[]).await;
    let mut tasks = JoinSet::new();

    for index in 0..50 {
        let service = ctx.service.clone();
        let request = update(
            &workspace_id,
            &group.id,
            vec![add(&[&format!("user-{index:02}")])],
        );
        tasks.spawn(async move { service.update_group(request).await });
    }
    let mut changed = 0;
    while let Some(result) = tasks.join_next().await {
        let response = result.unwrap().unwrap();
        assert_eq!(response.added_user_ids.len(), 1);
        changed += usize::from(response.changed);
    }

    let expected: Vec<String> = (0..50).map(|index| format!("user-{index:02}")).collect();
    let after = get_group(&ctx, &workspace_id, &group.id).await;
    assert_eq!(changed, 50);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        expected
    );
    assert_eq!(after.member_count, 50);
    assert_eq!(version(&after), 51);
}

async fn concurrent_adds_and_removes_exact(ctx: TestContext) {
    let workspace_id = workspace();
    let initial: Vec<String> = (0..40).map(|index| format!("user-{index:02}")).collect();
    let initial_refs: Vec<&str> = initial.iter().map(String::as_str).collect();
    let group = create(&ctx.service, &workspace_id, "Churn", &initial_refs).await;
    let mut tasks = JoinSet::new();

    // Removes user-00..user-19, adds user-40..user-59, and re-adds members
    // that are present (user-20..user-29), all at once.
    for index in 0..20 {
        let service = ctx.service.clone();
        let removal = update(
            &workspace_id,
            &group.id,
            vec![remove(&[&format!("user-{index:02}")])],
        );
        tasks.spawn(async move { service.update_group(removal).await });
        let service = ctx.service.clone();
        let addition = update(
            &workspace_id,
            &group.id,
            vec![add(&[&format!("user-{:02}", index + 40)])],
        );
        tasks.spawn(async move { service.update_group(addition).await });
    }
    for index in 20..30 {
        let service = ctx.service.clone();
        let repeat = update(
            &workspace_id,
            &group.id,
            vec![add(&[&format!("user-{index:02}")])],
        );
        tasks.spawn(async move { service.update_group(repeat).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    let expected: Vec<String> = (20..60).map(|index| format!("user-{index:02}")).collect();
    let after = get_group(&ctx, &workspace_id, &group.id).await;
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        expected
    );
    assert_eq!(after.member_count, 40);
    assert_eq!(
        version(&after),
        41,
        "only the 40 changing requests bump the version"
    );
}

async fn concurrent_expected_version_one_winner(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Guarded", &[]).await;
    let mut tasks = JoinSet::new();

    for index in 0..10 {
        let service = ctx.service.clone();
        let request = UpdateGroupRequest {
            expected_version: Some(1),
            ..update(
                &workspace_id,
                &group.id,
                vec![add(&[&format!("user-{index}")])],
            )
        };
        tasks.spawn(async move { service.update_group(request).await });
    }
    let mut winners = 0;
    let mut mismatches = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => winners += 1,
            Err(groups_svc::ServiceError::VersionMismatch { .. }) => mismatches += 1,
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }

    assert_eq!(winners, 1);
    assert_eq!(mismatches, 9);
    assert_eq!(
        get_group(&ctx, &workspace_id, &group.id).await.member_count,
        1
    );
}

async fn large_group_add_one_member(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Everyone", &[]).await;
    let everyone: Vec<Member> = (0..LARGE_GROUP_SIZE)
        .map(|index| Member {
            value: format!("user-{index:06}"),
            display: None,
            r#type: Some("User".to_owned()),
        })
        .collect();

    let built = ctx
        .service
        .replace_group(ReplaceGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            display_name: "Everyone".to_owned(),
            external_id: None,
            members: everyone,
            expected_version: None,
        })
        .await
        .unwrap();
    let added = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["newcomer"])],
    )
    .await;
    let present = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["user-050000"])],
    )
    .await;
    let removed = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![remove(&["user-000007"])],
    )
    .await;

    assert_eq!(built.member_count, LARGE_GROUP_SIZE as i64);
    assert!(
        built.members.is_empty(),
        "a group this large is returned without members"
    );
    assert_eq!(added.added_user_ids, ids(&["newcomer"]));
    assert!(added.group.as_ref().unwrap().members.is_empty());
    assert_eq!(
        added.group.unwrap().member_count,
        LARGE_GROUP_SIZE as i64 + 1
    );
    assert!(!present.changed);
    assert_eq!(removed.group.unwrap().member_count, LARGE_GROUP_SIZE as i64);
    // The replace lists every new member. The add and the remove list only
    // their one id, and the add of a present member writes nothing.
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(
        kinds(&recorded),
        vec![
            "group_created",
            "group_updated",
            "group_updated",
            "group_updated"
        ]
    );
    assert_eq!(
        group_updated(&recorded[1]).added_member_ids.len(),
        LARGE_GROUP_SIZE
    );
    assert_eq!(
        group_updated(&recorded[2]).added_member_ids,
        ids(&["newcomer"])
    );
    assert!(group_updated(&recorded[2]).removed_member_ids.is_empty());
    assert_eq!(
        group_updated(&recorded[3]).removed_member_ids,
        ids(&["user-000007"])
    );
    assert!(group_updated(&recorded[3]).added_member_ids.is_empty());
    let check = |user_id: &str| CheckMembershipRequest {
        workspace_id: workspace_id.clone(),
        user_id: user_id.to_owned(),
        group_id: group.id.clone(),
    };
    assert!(
        ctx.service
            .check_membership(check("newcomer"))
            .await
            .unwrap()
            .is_member
    );
    assert!(
        !ctx.service
            .check_membership(check("user-000007"))
            .await
            .unwrap()
            .is_member
    );
    assert!(
        ctx.service
            .check_membership(check("user-099999"))
            .await
            .unwrap()
            .is_member
    );
}

async fn large_replace_applies_difference(ctx: TestContext) {
    let workspace_id = workspace();
    let first: Vec<String> = (0..20_000)
        .map(|index| format!("user-{index:05}"))
        .collect();
    let second: Vec<String> = (10_000..30_000)
        .map(|index| format!("user-{index:05}"))
        .collect();
    let group = create(&ctx.service, &workspace_id, "Shifting", &[]).await;
    let replace_with = |user_ids: &[String]| MembershipOperation {
        operation: Some(Operation::Replace(MemberList {
            members: user_ids
                .iter()
                .map(|id| Member {
                    value: id.clone(),
                    ..Member::default()
                })
                .collect(),
        })),
    };

    apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![replace_with(&first)],
    )
    .await;
    let response = apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![replace_with(&second)],
    )
    .await;

    let added: BTreeSet<String> = response.added_user_ids.into_iter().collect();
    let removed: BTreeSet<String> = response.removed_user_ids.into_iter().collect();
    assert_eq!(added, second[10_000..].iter().cloned().collect());
    assert_eq!(removed, first[..10_000].iter().cloned().collect());
    assert_eq!(response.group.unwrap().member_count, 20_000);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        second
    );
}

async fn user_deleted_event_applied_once(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["doomed", "other"]).await;
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        workspace_id: workspace_id.clone(),
        aggregate_type: "user".to_owned(),
        aggregate_id: "doomed".to_owned(),
        occurred: None,
        payload: Some(Payload::UserDeleted(UserDeleted {
            user_id: "doomed".to_owned(),
        })),
        ..Event::default()
    };
    let unknown_kind = Event {
        id: uuid::Uuid::now_v7().to_string(),
        payload: None,
        ..event.clone()
    };

    let first = ctx
        .service
        .deliver(DeliverRequest {
            events: vec![event.clone(), unknown_kind],
        })
        .await
        .unwrap();
    // The user rejoins, then the relay redelivers the same event.
    apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["doomed"])],
    )
    .await;
    let second = ctx
        .service
        .deliver(DeliverRequest {
            events: vec![event],
        })
        .await
        .unwrap();

    assert_eq!(first.applied, 1);
    assert_eq!(second.applied, 0);
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        ids(&["doomed", "other"])
    );
    assert_eq!(version(&get_group(&ctx, &workspace_id, &group.id).await), 3);
}

async fn concurrent_duplicate_events_apply_once(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["doomed"]).await;
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        workspace_id: workspace_id.clone(),
        payload: Some(Payload::UserDeleted(UserDeleted {
            user_id: "doomed".to_owned(),
        })),
        ..Event::default()
    };
    let mut tasks = JoinSet::new();

    for _ in 0..5 {
        let service = ctx.service.clone();
        let request = DeliverRequest {
            events: vec![event.clone()],
        };
        tasks.spawn(async move { service.deliver(request).await });
    }
    let mut applied = 0;
    while let Some(result) = tasks.join_next().await {
        applied += result.unwrap().unwrap().applied;
    }

    let after = get_group(&ctx, &workspace_id, &group.id).await;
    assert_eq!(applied, 1);
    assert_eq!(after.member_count, 0);
    assert_eq!(version(&after), 2);
}

async fn reset_many_groups_at_once(ctx: TestContext) {
    let workspace_id = workspace();
    let service = &ctx.service;
    let workspace_ref = workspace_id.as_str();
    // Group i has users i, i+1, ... modulo RESET_USER_COUNT, so every user
    // is in several groups.
    let groups: Vec<proto::groups::v1::Group> = futures::stream::iter(0..RESET_GROUP_COUNT)
        .map(|index| async move {
            let user_ids: Vec<String> = (0..RESET_MEMBERS_PER_GROUP)
                .map(|offset| format!("user-{:03}", (index + offset) % RESET_USER_COUNT))
                .collect();
            let user_refs: Vec<&str> = user_ids.iter().map(String::as_str).collect();
            create(
                service,
                workspace_ref,
                &format!("Group {index:04}"),
                &user_refs,
            )
            .await
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let pairs: Vec<MembershipPair> = groups
        .iter()
        .map(|group| MembershipPair {
            user_id: group.members[0].value.clone(),
            group_id: group.id.clone(),
        })
        .collect();
    let batch = || BatchCheckMembershipRequest {
        workspace_id: workspace_id.clone(),
        pairs: pairs.clone(),
    };
    let groups_of = |user_id: String| ListGroupsForUserRequest {
        workspace_id: workspace_id.clone(),
        user_id,
    };
    // Warm the cache for every group and every user.
    let before = service
        .batch_check_membership(batch())
        .await
        .unwrap()
        .is_member;
    assert!(before.iter().all(|is_member| *is_member));
    for index in 0..RESET_USER_COUNT {
        let listed = service
            .list_groups_for_user(groups_of(format!("user-{index:03}")))
            .await
            .unwrap();
        assert!(!listed.groups.is_empty());
    }

    let response = service
        .reset_workspace(ResetWorkspaceRequest {
            workspace_id: workspace_id.clone(),
        })
        .await
        .unwrap();

    assert_eq!(response.deleted_groups, RESET_GROUP_COUNT as i64);
    let after = service
        .batch_check_membership(batch())
        .await
        .unwrap()
        .is_member;
    assert_eq!(after.len(), RESET_GROUP_COUNT);
    assert!(
        after.iter().all(|is_member| !is_member),
        "some deleted group still has members"
    );
    for index in 0..RESET_USER_COUNT {
        let user_id = format!("user-{index:03}");
        let listed = service
            .list_groups_for_user(groups_of(user_id.clone()))
            .await
            .unwrap();
        assert!(listed.groups.is_empty(), "{user_id} still has groups");
    }
    let listed = service
        .list_groups(ListGroupsRequest {
            workspace_id: workspace_id.clone(),
            ..ListGroupsRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.total_results, 0);
}

crate::engine_tests!(
    concurrent_adds_all_land,
    concurrent_adds_and_removes_exact,
    concurrent_expected_version_one_winner,
    large_group_add_one_member,
    large_replace_applies_difference,
    user_deleted_event_applied_once,
    concurrent_duplicate_events_apply_once,
    reset_many_groups_at_once,
);
