//! Cached User Group results (CheckUserGroupMembership and
//! ListUserGroupsForUser) after every kind of change, with the in-process
//! cache and with a real Redis, and the bound on a lost invalidation. Each
//! step warms the cache first, so a stale result would come from it. Every
//! test runs on SQLite and on PostgreSQL; without Redis the Redis tests
//! print a note and pass, unless `CI=true`.

use std::time::Duration;

use groups_svc::{GroupsService, MembershipCache, cache::EPOCH_MAX_AGE, store::user_group_writes};
use plumbing::cache::Cache;
use proto::groups::v1::{
    DeleteUserGroupRequest, RemoveUserMembershipsRequest, RenameUserGroupRequest,
    ResetWorkspaceRequest, UpdateGroupRequest,
};

use crate::support::{
    TestContext, add, apply, create, ids, redis_url_or_skip, remove, update, workspace,
};
use crate::user_group_support::{
    ADMIN, add_members, create_user_group, is_user_group_member, remove_members, sync_off, sync_on,
    user_group_names_of,
};

async fn with_redis(ctx: &TestContext, url: &str) -> GroupsService {
    let manager = plumbing::cache::connect_redis(url).await.unwrap();
    GroupsService::from_parts(
        ctx.service.store().clone(),
        MembershipCache::new(Cache::redis(manager)),
    )
}

/// Reads both cached results for `user_id` so that the next read can hit.
async fn warm(service: &GroupsService, workspace_id: &str, user_group_id: &str, user_id: &str) {
    is_user_group_member(service, workspace_id, user_group_id, user_id).await;
    user_group_names_of(service, workspace_id, user_id).await;
}

/// Checks, step by step, that manual changes are visible at once.
async fn manual_changes_visible_at_once(service: &GroupsService) {
    let workspace_id = workspace();
    let team = create_user_group(service, &workspace_id, "Team").await;

    warm(service, &workspace_id, &team.id, "a").await;
    add_members(service, &workspace_id, &team.id, &["a"]).await;
    assert!(is_user_group_member(service, &workspace_id, &team.id, "a").await);
    assert_eq!(
        user_group_names_of(service, &workspace_id, "a").await,
        ["Team"]
    );

    warm(service, &workspace_id, &team.id, "a").await;
    service
        .rename_user_group(RenameUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: team.id.clone(),
            name: "Renamed".to_owned(),
            actor: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(
        user_group_names_of(service, &workspace_id, "a").await,
        ["Renamed"]
    );

    warm(service, &workspace_id, &team.id, "a").await;
    remove_members(service, &workspace_id, &team.id, &["a"]).await;
    assert!(!is_user_group_member(service, &workspace_id, &team.id, "a").await);
    assert!(
        user_group_names_of(service, &workspace_id, "a")
            .await
            .is_empty()
    );

    add_members(service, &workspace_id, &team.id, &["b"]).await;
    warm(service, &workspace_id, &team.id, "b").await;
    service
        .delete_user_group(DeleteUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: team.id.clone(),
            actor: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    assert!(!is_user_group_member(service, &workspace_id, &team.id, "b").await);
    assert!(
        user_group_names_of(service, &workspace_id, "b")
            .await
            .is_empty()
    );
}

/// Checks, step by step, that sync switches and mirrored SCIM writes are
/// visible at once.
async fn synced_changes_visible_at_once(service: &GroupsService) {
    let workspace_id = workspace();
    let group = create(service, &workspace_id, "Entra", &["a"]).await;

    user_group_names_of(service, &workspace_id, "a").await;
    let synced = sync_on(service, &workspace_id, &group.id).await;
    assert!(is_user_group_member(service, &workspace_id, &synced.id, "a").await);
    assert_eq!(
        user_group_names_of(service, &workspace_id, "a").await,
        ["Entra"]
    );

    warm(service, &workspace_id, &synced.id, "b").await;
    apply(service, &workspace_id, &group.id, vec![add(&["b"])]).await;
    assert!(is_user_group_member(service, &workspace_id, &synced.id, "b").await);
    assert_eq!(
        user_group_names_of(service, &workspace_id, "b").await,
        ["Entra"]
    );

    warm(service, &workspace_id, &synced.id, "a").await;
    apply(service, &workspace_id, &group.id, vec![remove(&["a"])]).await;
    assert!(!is_user_group_member(service, &workspace_id, &synced.id, "a").await);
    assert!(
        user_group_names_of(service, &workspace_id, "a")
            .await
            .is_empty()
    );

    warm(service, &workspace_id, &synced.id, "b").await;
    service
        .update_group(UpdateGroupRequest {
            display_name: Some("Entra renamed".to_owned()),
            ..update(&workspace_id, &group.id, Vec::new())
        })
        .await
        .unwrap();
    assert_eq!(
        user_group_names_of(service, &workspace_id, "b").await,
        ["Entra renamed"]
    );

    apply(service, &workspace_id, &group.id, vec![add(&["c"])]).await;
    warm(service, &workspace_id, &synced.id, "c").await;
    service
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: workspace_id.clone(),
            user_id: "c".to_owned(),
        })
        .await
        .unwrap();
    assert!(!is_user_group_member(service, &workspace_id, &synced.id, "c").await);
    assert!(
        user_group_names_of(service, &workspace_id, "c")
            .await
            .is_empty()
    );

    warm(service, &workspace_id, &synced.id, "b").await;
    sync_off(service, &workspace_id, &group.id).await;
    assert!(!is_user_group_member(service, &workspace_id, &synced.id, "b").await);
    assert!(
        user_group_names_of(service, &workspace_id, "b")
            .await
            .is_empty()
    );

    let resynced = sync_on(service, &workspace_id, &group.id).await;
    warm(service, &workspace_id, &resynced.id, "b").await;
    service
        .reset_workspace(ResetWorkspaceRequest {
            workspace_id: workspace_id.clone(),
        })
        .await
        .unwrap();
    assert!(!is_user_group_member(service, &workspace_id, &resynced.id, "b").await);
    assert!(
        user_group_names_of(service, &workspace_id, "b")
            .await
            .is_empty()
    );
}

async fn scim_delete_visible_at_once(service: &GroupsService) {
    let workspace_id = workspace();
    let group = create(service, &workspace_id, "Entra", &["a"]).await;
    let synced = sync_on(service, &workspace_id, &group.id).await;
    warm(service, &workspace_id, &synced.id, "a").await;

    service
        .delete_group(proto::groups::v1::DeleteGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            expected_version: None,
        })
        .await
        .unwrap();

    assert!(!is_user_group_member(service, &workspace_id, &synced.id, "a").await);
    assert!(
        user_group_names_of(service, &workspace_id, "a")
            .await
            .is_empty()
    );
}

async fn in_process_manual_changes_fresh(ctx: TestContext) {
    manual_changes_visible_at_once(&ctx.service).await;
}

async fn in_process_synced_changes_fresh(ctx: TestContext) {
    synced_changes_visible_at_once(&ctx.service).await;
}

async fn in_process_scim_delete_fresh(ctx: TestContext) {
    scim_delete_visible_at_once(&ctx.service).await;
}

async fn redis_manual_changes_fresh(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    manual_changes_visible_at_once(&with_redis(&ctx, &redis_url).await).await;
}

async fn redis_synced_changes_fresh(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    synced_changes_visible_at_once(&with_redis(&ctx, &redis_url).await).await;
}

async fn redis_scim_delete_fresh(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    scim_delete_visible_at_once(&with_redis(&ctx, &redis_url).await).await;
}

async fn redis_shared_by_replicas(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let writer = with_redis(&ctx, &redis_url).await;
    let reader = with_redis(&ctx, &redis_url).await;
    let workspace_id = workspace();
    let team = create_user_group(&writer, &workspace_id, "Team").await;
    warm(&reader, &workspace_id, &team.id, "a").await;

    add_members(&writer, &workspace_id, &team.id, &["a"]).await;

    assert!(is_user_group_member(&reader, &workspace_id, &team.id, "a").await);
    assert_eq!(
        user_group_names_of(&reader, &workspace_id, "a").await,
        ["Team"]
    );
}

async fn lost_invalidation_expires_with_epoch(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let redis_service = with_redis(&ctx, &redis_url).await;
    let in_process = ctx.service.clone();

    for service in [redis_service, in_process] {
        let workspace_id = workspace();
        let team = create_user_group(&service, &workspace_id, "Team").await;
        warm(&service, &workspace_id, &team.id, "a").await;

        // Written through the store, which skips the invalidation that the
        // RPCs do after their commit, as if that invalidation were lost.
        user_group_writes::add_user_group_members(
            service.store().as_ref(),
            &workspace_id,
            &team.id,
            &ids(&["a"]),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        tokio::time::sleep(EPOCH_MAX_AGE + Duration::from_millis(200)).await;

        assert!(
            is_user_group_member(&service, &workspace_id, &team.id, "a").await,
            "{service:?}"
        );
        assert_eq!(
            user_group_names_of(&service, &workspace_id, "a").await,
            ["Team"]
        );
    }
}

crate::engine_tests!(
    in_process_manual_changes_fresh,
    in_process_synced_changes_fresh,
    in_process_scim_delete_fresh,
    redis_manual_changes_fresh,
    redis_synced_changes_fresh,
    redis_scim_delete_fresh,
    redis_shared_by_replicas,
    lost_invalidation_expires_with_epoch,
);
