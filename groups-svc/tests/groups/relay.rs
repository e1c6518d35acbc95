//! The outbox relay of groups-svc delivering group events over real gRPC
//! to test EventSink servers on loopback ports. Every test runs on SQLite
//! and on PostgreSQL, and waits for conditions by polling for up to 10 s
//! instead of asserting on timing.

use std::{future::Future, time::Duration};

use plumbing::outbox::{Consumer, RelayConfig};
use proto::groups::v1::DeleteGroupRequest;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    sink::{TestSink, unused_addr},
    support::{INSPECTOR, TestContext, add, apply, create, workspace},
};

/// Maximum wait for any condition.
const WAIT: Duration = Duration::from_secs(10);

fn test_config() -> RelayConfig {
    RelayConfig {
        poll_interval: Duration::from_millis(20),
        batch_size: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..RelayConfig::default()
    }
}

/// Returns a consumer name unique to this test run, so the engines' runs
/// of one test never share state rows or metric series.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}

async fn grpc_consumer(name: &str, endpoint: &str) -> Consumer {
    Consumer::grpc(name, endpoint, Duration::from_secs(2))
        .await
        .unwrap()
}

struct RunningRelay {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningRelay {
    fn start(ctx: &TestContext, consumers: Vec<Consumer>, config: RelayConfig) -> Self {
        let relay = ctx.service.outbox_relay(consumers, config).unwrap();
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(relay.run(cancel.clone()));
        Self { cancel, handle }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.handle.await.unwrap();
    }
}

/// Polls `condition` every 20 ms until it holds, and fails after [`WAIT`].
async fn wait_for<F, Fut>(description: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {description}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates, changes and deletes one group per name, three events each, and
/// returns the (payload kind, group id) of those events in outbox order.
async fn churn_groups(
    ctx: &TestContext,
    workspace_id: &str,
    names: &[&str],
) -> Vec<(&'static str, String)> {
    let mut expected = Vec::new();
    for name in names {
        let group = create(&ctx.service, workspace_id, name, &["a"]).await;
        apply(&ctx.service, workspace_id, &group.id, vec![add(&["b"])]).await;
        let request = DeleteGroupRequest {
            workspace_id: workspace_id.to_owned(),
            group_id: group.id.clone(),
            expected_version: None,
        };
        ctx.service.delete_group(request).await.unwrap();
        expected.push(("group_created", group.id.clone()));
        expected.push(("group_updated", group.id.clone()));
        expected.push(("group_deleted", group.id));
    }
    expected
}

/// Returns the (payload kind, aggregate id) of every received event.
fn delivered(sink: &TestSink) -> Vec<(&'static str, String)> {
    sink.received()
        .into_iter()
        .map(|event| {
            let kind = event
                .payload
                .as_ref()
                .map_or("none", |payload| payload.kind());
            (kind, event.aggregate_id)
        })
        .collect()
}

async fn pending(ctx: &TestContext, consumer: &str) -> u64 {
    ctx.service.store().backlog(consumer).await.unwrap().pending
}

async fn stored_attempts(ctx: &TestContext, consumer: &str) -> u32 {
    ctx.service
        .store()
        .register_consumer(consumer)
        .await
        .unwrap()
        .attempts
}

async fn relay_delivers_group_events_in_order(ctx: TestContext) {
    let workspace_id = workspace();
    let sink = TestSink::start().await;
    let name = unique("rbac");
    let mut expected = churn_groups(&ctx, &workspace_id, &["First", "Second"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &sink.endpoint()).await],
        test_config(),
    );
    wait_for("the first six events", || async {
        sink.received().len() >= 6
    })
    .await;
    expected.extend(churn_groups(&ctx, &workspace_id, &["Third"]).await);
    wait_for("all nine events", || async { sink.received().len() >= 9 }).await;
    wait_for("an empty backlog", || async {
        pending(&ctx, &name).await == 0
    })
    .await;
    relay.stop().await;

    assert_eq!(delivered(&sink), expected);
    for event in sink.received() {
        assert_eq!(event.workspace_id, workspace_id);
        assert_eq!(event.aggregate_type, "group");
    }
}

async fn relay_delivers_after_sink_starts(ctx: TestContext) {
    let workspace_id = workspace();
    let addr = unused_addr().await;
    let name = unique("rbac");
    let expected = churn_groups(&ctx, &workspace_id, &["First"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &format!("http://{addr}")).await],
        test_config(),
    );
    wait_for("two failed attempts", || async {
        stored_attempts(&ctx, &name).await >= 2
    })
    .await;
    assert_eq!(pending(&ctx, &name).await, 3);
    let sink = TestSink::start_at(addr).await;
    wait_for("an empty backlog", || async {
        pending(&ctx, &name).await == 0
    })
    .await;
    relay.stop().await;

    assert_eq!(delivered(&sink), expected);
    assert_eq!(stored_attempts(&ctx, &name).await, 0);
}

async fn relay_retries_failing_sink(ctx: TestContext) {
    let workspace_id = workspace();
    let sink = TestSink::start().await;
    sink.fail_next(3);
    let name = unique("rbac");
    let expected = churn_groups(&ctx, &workspace_id, &["First"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &sink.endpoint()).await],
        test_config(),
    );
    wait_for("an empty backlog", || async {
        pending(&ctx, &name).await == 0
    })
    .await;
    relay.stop().await;

    // The rejected calls applied nothing, so each event arrived exactly
    // once: three events in batches of two and one, after three failed calls.
    assert_eq!(delivered(&sink), expected);
    assert_eq!(sink.calls(), 5);
    assert_eq!(stored_attempts(&ctx, &name).await, 0);
}

async fn lost_ack_delivers_events_twice(ctx: TestContext) {
    let workspace_id = workspace();
    let sink = TestSink::start().await;
    sink.lose_next_acks(1);
    let name = unique("rbac");
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &sink.endpoint()).await],
        test_config(),
    );
    wait_for("an empty backlog", || async {
        pending(&ctx, &name).await == 0
    })
    .await;
    relay.stop().await;

    // At-least-once: the consumer applied the batch but the relay never saw
    // the acknowledgement, so it sends the same event id again.
    let received = sink.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1]);
    assert_eq!(received[0].aggregate_id, group.id);
}

async fn relay_prunes_delivered_events(ctx: TestContext) {
    let workspace_id = workspace();
    let sink = TestSink::start().await;
    let name = unique("rbac");
    churn_groups(&ctx, &workspace_id, &["First"]).await;
    let config = RelayConfig {
        retention: Duration::ZERO,
        prune_interval: Duration::from_millis(20),
        ..test_config()
    };

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &sink.endpoint()).await],
        config,
    );
    wait_for("the outbox to empty", || async {
        ctx.service
            .store()
            .fetch_pending(INSPECTOR, 10)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    relay.stop().await;

    assert_eq!(sink.received().len(), 3);
}

crate::engine_tests!(
    relay_delivers_group_events_in_order,
    relay_delivers_after_sink_starts,
    relay_retries_failing_sink,
    lost_ack_delivers_events_twice,
    relay_prunes_delivered_events,
);
