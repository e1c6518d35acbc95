//! Retention of processed event ids on both engines: ids older than the
//! cut-off go, so a later redelivery applies again, and newer ids stay.

use std::time::{Duration, SystemTime};

use crate::support::{TestContext, deliver, user_created, user_ids, workspace};

async fn old_processed_ids_pruned(ctx: TestContext) {
    let event = user_created(&workspace(), &user_ids(1)[0], true);
    let first = deliver(&ctx.service, vec![event.clone()]).await;

    let later = SystemTime::now() + Duration::from_secs(1);
    let pruned = ctx
        .service
        .prune_processed_events(later, 100)
        .await
        .unwrap();
    let again = deliver(&ctx.service, vec![event]).await;

    assert_eq!(first, 1);
    assert_eq!(pruned, 1);
    assert_eq!(again, 1, "a pruned id is applied again");
}

async fn recent_processed_ids_kept(ctx: TestContext) {
    let event = user_created(&workspace(), &user_ids(1)[0], true);
    deliver(&ctx.service, vec![event.clone()]).await;

    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let pruned = ctx
        .service
        .prune_processed_events(hour_ago, 100)
        .await
        .unwrap();
    let again = deliver(&ctx.service, vec![event]).await;

    assert_eq!(pruned, 0);
    assert_eq!(again, 0, "a kept id is skipped");
}

async fn prune_stops_at_limit(ctx: TestContext) {
    let workspace_id = workspace();
    let events = user_ids(3)
        .iter()
        .map(|user_id| user_created(&workspace_id, user_id, true))
        .collect();
    deliver(&ctx.service, events).await;

    let later = SystemTime::now() + Duration::from_secs(1);
    let first = ctx.service.prune_processed_events(later, 2).await.unwrap();
    let second = ctx.service.prune_processed_events(later, 2).await.unwrap();

    assert_eq!(first, 2);
    assert_eq!(second, 1);
}

crate::engine_tests!(
    old_processed_ids_pruned,
    recent_processed_ids_kept,
    prune_stops_at_limit,
);
