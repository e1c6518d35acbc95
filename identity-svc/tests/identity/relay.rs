//! The outbox relay of identity-svc delivering `UserCreated` and
//! `UserDeleted` events over real gRPC to test EventSink servers on
//! loopback ports. Every test runs
//! on SQLite and on PostgreSQL, and waits for conditions by polling for up
//! to 10 s instead of asserting on timing.

use std::{future::Future, time::Duration};

use plumbing::outbox::{Consumer, RelayConfig};
use proto::identity::v1::DeleteUserRequest;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    sink::{TestSink, unused_addr},
    support::{TestContext, create, user, workspace},
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
async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates and deletes one user per name, two events each, and returns
/// the (payload kind, user id) of those events in outbox order.
async fn delete_users(
    ctx: &TestContext,
    workspace_id: &str,
    names: &[&str],
) -> Vec<(&'static str, String)> {
    let mut expected = Vec::new();
    for name in names {
        let created = create(&ctx.service, workspace_id, user(name)).await;
        let request = DeleteUserRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: created.id.clone(),
            expected_version: None,
        };
        ctx.service.delete_user(request).await.unwrap();
        expected.push(("user_created", created.id.clone()));
        expected.push(("user_deleted", created.id));
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

/// Returns the value of the series of `metric` labelled with `consumer`.
fn metric_value(metric: &str, consumer: &str) -> Option<f64> {
    let rendered = plumbing::metrics::install_recorder().unwrap().render();
    let label = format!("consumer=\"{consumer}\"");
    rendered
        .lines()
        .find(|line| line.starts_with(&format!("{metric}{{")) && line.contains(&label))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn relay_delivers_deletions_in_order(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let sink = TestSink::start().await;
    let name = unique("groups");
    let mut expected = delete_users(&ctx, &workspace_id, &["ada", "grace", "edsger"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &sink.endpoint()).await],
        test_config(),
    );
    wait_for("the first six events", || async {
        sink.received().len() >= 6
    })
    .await;
    expected.extend(delete_users(&ctx, &workspace_id, &["barbara", "donald"]).await);
    wait_for("all ten events", || async { sink.received().len() >= 10 }).await;
    wait_for("an empty backlog", || async {
        pending(&ctx, &name).await == 0
    })
    .await;
    relay.stop().await;

    assert_eq!(delivered(&sink), expected);
    for event in sink.received() {
        assert_eq!(event.workspace_id, workspace_id);
        assert_eq!(event.aggregate_type, "user");
    }
}

async fn relay_delivers_after_sink_starts(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let addr = unused_addr().await;
    let name = unique("groups");
    let expected = delete_users(&ctx, &workspace_id, &["ada", "grace", "edsger"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &format!("http://{addr}")).await],
        test_config(),
    );
    wait_for("two failed attempts", || async {
        stored_attempts(&ctx, &name).await >= 2
    })
    .await;
    assert_eq!(pending(&ctx, &name).await, 6);
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
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let sink = TestSink::start().await;
    sink.fail_next(3);
    let name = unique("groups");
    let expected = delete_users(&ctx, &workspace_id, &["ada", "grace"]).await;

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
    // once: four events in two batches of two, after three failed calls.
    assert_eq!(delivered(&sink), expected);
    assert_eq!(sink.calls(), 5);
    plumbing::metrics::install_recorder().unwrap();
    assert_eq!(
        metric_value("outbox_delivery_failures_total", &name),
        Some(3.0)
    );
    assert_eq!(metric_value("outbox_delivered_total", &name), Some(4.0));
    assert_eq!(stored_attempts(&ctx, &name).await, 0);
}

async fn lost_ack_delivers_event_twice(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let sink = TestSink::start().await;
    sink.lose_next_acks(1);
    let name = unique("groups");
    let expected = delete_users(&ctx, &workspace_id, &["ada"]).await;

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
    // the acknowledgement, so it sends the same event ids again.
    let received = sink.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[..2], received[2..]);
    assert_eq!(delivered(&sink)[..2], expected[..]);
}

async fn down_consumer_does_not_delay_other(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let sink = TestSink::start().await;
    let down_addr = unused_addr().await;
    let (up, down) = (unique("up"), unique("down"));
    let expected = delete_users(&ctx, &workspace_id, &["ada", "grace"]).await;
    let consumers = vec![
        grpc_consumer(&down, &format!("http://{down_addr}")).await,
        grpc_consumer(&up, &sink.endpoint()).await,
    ];

    let relay = RunningRelay::start(&ctx, consumers, test_config());
    wait_for("delivery to the consumer that is up", || async {
        pending(&ctx, &up).await == 0
    })
    .await;
    wait_for("a failed attempt of the consumer that is down", || async {
        stored_attempts(&ctx, &down).await >= 1
    })
    .await;
    relay.stop().await;

    assert_eq!(delivered(&sink), expected);
    assert_eq!(pending(&ctx, &down).await, 4);
}

async fn lag_gauge_exported(ctx: TestContext) {
    plumbing::metrics::install_recorder().unwrap();
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let addr = unused_addr().await;
    let name = unique("lagging");
    delete_users(&ctx, &workspace_id, &["ada", "grace"]).await;

    let relay = RunningRelay::start(
        &ctx,
        vec![grpc_consumer(&name, &format!("http://{addr}")).await],
        test_config(),
    );
    wait_for("the pending gauge", || async {
        metric_value("outbox_pending_events", &name) == Some(4.0)
    })
    .await;
    wait_for("a positive lag gauge", || async {
        metric_value("outbox_lag_seconds", &name).is_some_and(|lag| lag > 0.0)
    })
    .await;
    relay.stop().await;

    let backlog = ctx.service.store().backlog(&name).await.unwrap();
    assert_eq!(backlog.pending, 4);
    assert!(backlog.oldest.is_some());
}

async fn relay_prunes_delivered_events(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let sink = TestSink::start().await;
    let name = unique("groups");
    delete_users(&ctx, &workspace_id, &["ada", "grace"]).await;
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
            .fetch_pending("test-inspector", 10)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    relay.stop().await;

    assert_eq!(sink.received().len(), 4);
}

crate::engine_tests!(
    relay_delivers_deletions_in_order,
    relay_delivers_after_sink_starts,
    relay_retries_failing_sink,
    lost_ack_delivers_event_twice,
    down_consumer_does_not_delay_other,
    lag_gauge_exported,
    relay_prunes_delivered_events,
);
