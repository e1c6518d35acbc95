//! Membership cache suite against a real Redis: changes are visible at once,
//! results stay correct while Redis is unreachable, and a lost invalidation
//! is bounded by the epoch age limit. Every test runs on SQLite and on
//! PostgreSQL; without Redis the tests print a note and pass, unless
//! `CI=true`.

use std::time::Duration;

use groups_svc::{
    GroupsConfig, GroupsService, MembershipCache,
    cache::EPOCH_MAX_AGE,
    store::writes::{self, GroupChange, MembershipChange, WriteOutcome},
};
use plumbing::cache::Cache;
use proto::groups::v1::{
    BatchCheckMembershipRequest, CheckMembershipRequest, ListGroupsForUserRequest, MembershipPair,
    ResetWorkspaceRequest,
};
use tokio::task::JoinSet;

use crate::support::{TestContext, add, apply, create, redis_url_or_skip, remove, workspace};

/// Forwards loopback TCP connections to Redis until dropped.
struct RedisProxy {
    url: String,
    connections: JoinSet<()>,
}

impl RedisProxy {
    async fn start(redis_url: &str) -> Self {
        let target = url::Url::parse(redis_url).unwrap();
        let target = format!(
            "{}:{}",
            target.host_str().unwrap(),
            target.port().unwrap_or(6379)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let mut connections = JoinSet::new();
        connections.spawn(async move {
            let mut forwarded = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                forwarded.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { url, connections }
    }

    /// Closes the listener and every forwarded connection.
    fn stop(&mut self) {
        self.connections.abort_all();
    }
}

/// Returns a service over the test's database with a Redis cache at `url`.
async fn with_redis(ctx: &TestContext, url: &str) -> GroupsService {
    let manager = plumbing::cache::connect_redis(url).await.unwrap();
    GroupsService::from_parts(
        ctx.service.store().clone(),
        MembershipCache::new(Cache::redis(manager)),
    )
}

fn check_request(workspace_id: &str, group_id: &str, user_id: &str) -> CheckMembershipRequest {
    CheckMembershipRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        group_id: group_id.to_owned(),
    }
}

async fn is_member(
    service: &GroupsService,
    workspace_id: &str,
    group_id: &str,
    user_id: &str,
) -> bool {
    service
        .check_membership(check_request(workspace_id, group_id, user_id))
        .await
        .unwrap()
        .is_member
}

async fn batch(service: &GroupsService, workspace_id: &str, pairs: &[(&str, &str)]) -> Vec<bool> {
    let request = BatchCheckMembershipRequest {
        workspace_id: workspace_id.to_owned(),
        pairs: pairs
            .iter()
            .map(|(group_id, user_id)| MembershipPair {
                user_id: (*user_id).to_owned(),
                group_id: (*group_id).to_owned(),
            })
            .collect(),
    };
    service
        .batch_check_membership(request)
        .await
        .unwrap()
        .is_member
}

async fn group_names_of(service: &GroupsService, workspace_id: &str, user_id: &str) -> Vec<String> {
    let request = ListGroupsForUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
    };
    let response = service.list_groups_for_user(request).await.unwrap();
    response
        .groups
        .into_iter()
        .map(|group| group.display_name)
        .collect()
}

/// Removes a member through the store, skipping the cache invalidation the
/// RPCs do after their commit, as if that invalidation were lost.
async fn remove_without_invalidation(
    service: &GroupsService,
    workspace_id: &str,
    group_id: &str,
    user_id: &str,
) {
    let change = GroupChange {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        expected_version: None,
        display_name: None,
        external_id: None,
        membership: vec![MembershipChange::Remove(vec![user_id.to_owned()])],
        return_members_up_to: 0,
        at: time::OffsetDateTime::now_utc(),
    };
    let outcome = writes::update_group(service.store().as_ref(), &change)
        .await
        .unwrap();
    assert!(
        matches!(outcome, WriteOutcome::Done(ref updated) if updated.changed),
        "{outcome:?}"
    );
}

async fn redis_cache_sees_changes_at_once(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let service = with_redis(&ctx, &redis_url).await;
    let workspace_id = workspace();
    let group = create(&service, &workspace_id, "Team", &["a"]).await;

    let before = (
        is_member(&service, &workspace_id, &group.id, "a").await,
        is_member(&service, &workspace_id, &group.id, "b").await,
    );
    let cached_again = is_member(&service, &workspace_id, &group.id, "a").await;
    apply(
        &service,
        &workspace_id,
        &group.id,
        vec![add(&["b"]), remove(&["a"])],
    )
    .await;
    let after = (
        is_member(&service, &workspace_id, &group.id, "a").await,
        is_member(&service, &workspace_id, &group.id, "b").await,
    );

    assert_eq!(before, (true, false));
    assert!(cached_again);
    assert_eq!(after, (false, true));
    assert_eq!(
        batch(
            &service,
            &workspace_id,
            &[(&group.id, "a"), (&group.id, "b"), ("missing", "b")]
        )
        .await,
        vec![false, true, false]
    );
    assert_eq!(
        group_names_of(&service, &workspace_id, "b").await,
        vec!["Team".to_owned()]
    );
    assert!(
        group_names_of(&service, &workspace_id, "a")
            .await
            .is_empty()
    );
}

async fn redis_cache_sees_reset_at_once(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let service = with_redis(&ctx, &redis_url).await;
    let reset = workspace();
    let kept = workspace();
    let first = create(&service, &reset, "First", &["a", "b"]).await;
    let second = create(&service, &reset, "Second", &["b"]).await;
    let other = create(&service, &kept, "Other", &["a"]).await;
    assert!(is_member(&service, &reset, &first.id, "a").await);
    assert_eq!(
        batch(&service, &reset, &[(&first.id, "b"), (&second.id, "b")]).await,
        vec![true, true]
    );
    assert_eq!(
        group_names_of(&service, &reset, "b").await,
        vec!["First".to_owned(), "Second".to_owned()]
    );
    assert!(is_member(&service, &kept, &other.id, "a").await);

    // No sleep: the cached epochs are still valid, so only the invalidation
    // after the reset's commit keeps these from returning cached results.
    let response = service
        .reset_workspace(ResetWorkspaceRequest {
            workspace_id: reset.clone(),
        })
        .await
        .unwrap();

    assert_eq!(response.deleted_groups, 2);
    assert!(!is_member(&service, &reset, &first.id, "a").await);
    assert_eq!(
        batch(&service, &reset, &[(&first.id, "b"), (&second.id, "b")]).await,
        vec![false, false]
    );
    assert!(group_names_of(&service, &reset, "a").await.is_empty());
    assert!(group_names_of(&service, &reset, "b").await.is_empty());
    assert!(is_member(&service, &kept, &other.id, "a").await);
    assert_eq!(
        group_names_of(&service, &kept, "a").await,
        vec!["Other".to_owned()]
    );
}

async fn batch_check_mixes_hits_and_misses(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let service = with_redis(&ctx, &redis_url).await;
    let workspace_id = workspace();
    let first = create(&service, &workspace_id, "First", &["a", "b"]).await;
    let second = create(&service, &workspace_id, "Second", &["b"]).await;
    is_member(&service, &workspace_id, &first.id, "a").await;

    let results = batch(
        &service,
        &workspace_id,
        &[
            (&first.id, "a"),
            (&second.id, "a"),
            (&first.id, "b"),
            (&second.id, "b"),
            (&first.id, "a"),
        ],
    )
    .await;
    let cached = batch(
        &service,
        &workspace_id,
        &[(&second.id, "b"), (&second.id, "a")],
    )
    .await;

    assert_eq!(results, vec![true, false, true, true, true]);
    assert_eq!(cached, vec![true, false]);
}

async fn unreachable_redis_reads_database(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let metrics = plumbing::metrics::install_recorder().unwrap();
    let mut proxy = RedisProxy::start(&redis_url).await;
    let service = with_redis(&ctx, &proxy.url).await;
    let workspace_id = workspace();
    let group = create(&service, &workspace_id, "Team", &["a"]).await;
    assert!(is_member(&service, &workspace_id, &group.id, "a").await);
    assert_eq!(
        group_names_of(&service, &workspace_id, "a").await,
        vec!["Team".to_owned()]
    );

    proxy.stop();
    apply(
        &service,
        &workspace_id,
        &group.id,
        vec![remove(&["a"]), add(&["b"])],
    )
    .await;

    assert!(!is_member(&service, &workspace_id, &group.id, "a").await);
    assert!(is_member(&service, &workspace_id, &group.id, "b").await);
    assert_eq!(
        batch(
            &service,
            &workspace_id,
            &[(&group.id, "a"), (&group.id, "b")]
        )
        .await,
        vec![false, true]
    );
    assert!(
        group_names_of(&service, &workspace_id, "a")
            .await
            .is_empty()
    );
    assert!(metrics.render().contains("groups_cache_degraded_total"));
}

async fn lost_invalidation_expires_with_epoch(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let redis_service = with_redis(&ctx, &redis_url).await;
    let in_process = ctx.service.clone();

    for service in [redis_service, in_process] {
        let workspace_id = workspace();
        let group = create(&service, &workspace_id, "Team", &["a"]).await;
        assert!(is_member(&service, &workspace_id, &group.id, "a").await);
        assert_eq!(
            group_names_of(&service, &workspace_id, "a").await,
            vec!["Team".to_owned()]
        );

        remove_without_invalidation(&service, &workspace_id, &group.id, "a").await;
        // Within EPOCH_MAX_AGE the cached epoch may still be used; past it,
        // the result must come from the new epoch.
        tokio::time::sleep(EPOCH_MAX_AGE + Duration::from_millis(200)).await;

        assert!(
            !is_member(&service, &workspace_id, &group.id, "a").await,
            "{service:?}"
        );
        assert_eq!(
            batch(&service, &workspace_id, &[(&group.id, "a")]).await,
            vec![false]
        );
        assert!(
            group_names_of(&service, &workspace_id, "a")
                .await
                .is_empty()
        );
    }
}

async fn stale_epoch_never_returns_after_fresh_read(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let service = with_redis(&ctx, &redis_url).await;
    let workspace_id = workspace();
    let group = create(&service, &workspace_id, "Team", &["a"]).await;
    assert!(is_member(&service, &workspace_id, &group.id, "a").await);
    remove_without_invalidation(&service, &workspace_id, &group.id, "a").await;
    tokio::time::sleep(EPOCH_MAX_AGE + Duration::from_millis(200)).await;

    let mut results = Vec::new();
    for _ in 0..20 {
        results.push(is_member(&service, &workspace_id, &group.id, "a").await);
    }

    assert!(results.iter().all(|result| !result), "{results:?}");
}

async fn late_epoch_write_back_ignored(ctx: TestContext) {
    let Some(redis_url) = redis_url_or_skip().await else {
        return;
    };
    let service = with_redis(&ctx, &redis_url).await;
    let workspace_id = workspace();
    let group = create(&service, &workspace_id, "Team", &["a"]).await;
    assert!(is_member(&service, &workspace_id, &group.id, "a").await);
    apply(&service, &workspace_id, &group.id, vec![remove(&["a"])]).await;

    // A reader that read epoch 1 from the database before the removal
    // committed writes it back after the invalidation, with a fresh TTL but
    // its old read time. The layout of the key and value is the one the
    // module documentation of groups_svc::cache describes.
    let read_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        - EPOCH_MAX_AGE;
    let key = format!("groups:ge:{workspace_id}:{}", group.id);
    let manager = plumbing::cache::connect_redis(&redis_url).await.unwrap();
    Cache::redis(manager)
        .set(
            &key,
            format!("1:{}", read_at.as_millis()).into_bytes(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();

    assert!(!is_member(&service, &workspace_id, &group.id, "a").await);
    assert_eq!(
        batch(&service, &workspace_id, &[(&group.id, "a")]).await,
        vec![false]
    );
}

async fn unreachable_redis_fails_connect(ctx: TestContext) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let config = GroupsConfig {
        database_url: ctx.database_url.clone(),
        max_connections: 2,
        redis_url: Some(format!("redis://{closed}")),
    };

    let result = GroupsService::connect(&config).await;

    assert!(result.is_err());
}

crate::engine_tests!(
    redis_cache_sees_changes_at_once,
    redis_cache_sees_reset_at_once,
    batch_check_mixes_hits_and_misses,
    unreachable_redis_reads_database,
    lost_invalidation_expires_with_epoch,
    stale_epoch_never_returns_after_fresh_read,
    late_epoch_write_back_ignored,
    unreachable_redis_fails_connect,
);
