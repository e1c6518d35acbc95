//! Retention of processed event ids on both engines: ids older than the
//! cut-off go, so a later redelivery applies again, and newer ids stay.

use std::time::{Duration, SystemTime};

use groups_svc::GroupsService;
use proto::events::v1::{DeliverRequest, Event, UserDeleted, event::Payload};

use crate::support::{TestContext, workspace};

fn user_deleted(workspace_id: &str) -> Event {
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: "user".to_owned(),
        aggregate_id: "gone".to_owned(),
        payload: Some(Payload::UserDeleted(UserDeleted {
            user_id: "gone".to_owned(),
        })),
        ..Event::default()
    }
}

async fn deliver(service: &GroupsService, event: &Event) -> u32 {
    service
        .deliver(DeliverRequest {
            events: vec![event.clone()],
        })
        .await
        .unwrap()
        .applied
}

async fn old_processed_ids_pruned(ctx: TestContext) {
    let event = user_deleted(&workspace());
    let first = deliver(&ctx.service, &event).await;

    let later = SystemTime::now() + Duration::from_secs(1);
    let pruned = ctx
        .service
        .prune_processed_events(later, 100)
        .await
        .unwrap();
    let again = deliver(&ctx.service, &event).await;

    assert_eq!(first, 1);
    assert_eq!(pruned, 1);
    assert_eq!(again, 1, "a pruned id is applied again");
}

async fn recent_processed_ids_kept(ctx: TestContext) {
    let event = user_deleted(&workspace());
    deliver(&ctx.service, &event).await;

    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let pruned = ctx
        .service
        .prune_processed_events(hour_ago, 100)
        .await
        .unwrap();
    let again = deliver(&ctx.service, &event).await;

    assert_eq!(pruned, 0);
    assert_eq!(again, 0, "a kept id is skipped");
}

async fn prune_stops_at_limit(ctx: TestContext) {
    let workspace_id = workspace();
    for _ in 0..3 {
        deliver(&ctx.service, &user_deleted(&workspace_id)).await;
    }

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
