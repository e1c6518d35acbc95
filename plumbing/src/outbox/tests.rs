//! Relay tests over an in-memory outbox and in-memory sinks. The SQL
//! sources and the gRPC sink are tested in identity-svc against real
//! databases and a real EventSink server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use clap::Parser;
use proto::events::v1::{Event, UserDeleted, event::Payload};
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

use super::*;

/// In-memory [`OutboxSource`] with the semantics the SQL sources implement.
#[derive(Default)]
struct MemorySource {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    events: Vec<OutboxRecord>,
    consumers: HashMap<String, ConsumerState>,
    failures: HashMap<String, Vec<DeliveryFailure>>,
}

impl MemorySource {
    fn push(&self, aggregate_id: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let sequence = state.events.len() as i64 + 1;
        let event = Event {
            id: uuid::Uuid::now_v7().to_string(),
            workspace_id: "workspace-1".to_owned(),
            aggregate_type: "user".to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            occurred: None,
            payload: Some(Payload::UserDeleted(UserDeleted {
                user_id: aggregate_id.to_owned(),
            })),
            ..Event::default()
        };
        let id = event.id.clone();
        state.events.push(OutboxRecord {
            sequence,
            event,
            created: SystemTime::now(),
        });
        id
    }

    fn cursor(&self, consumer: &str) -> i64 {
        let state = self.state.lock().unwrap();
        state
            .consumers
            .get(consumer)
            .map_or(0, |c| c.delivered_sequence)
    }

    fn failures(&self, consumer: &str) -> Vec<DeliveryFailure> {
        let state = self.state.lock().unwrap();
        state.failures.get(consumer).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl OutboxSource for MemorySource {
    async fn register_consumer(&self, consumer: &str) -> anyhow::Result<ConsumerState> {
        let mut state = self.state.lock().unwrap();
        let entry = state
            .consumers
            .entry(consumer.to_owned())
            .or_insert(ConsumerState {
                delivered_sequence: 0,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                failed_event_id: None,
            });
        Ok(entry.clone())
    }

    async fn fetch_pending(
        &self,
        consumer: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxRecord>> {
        let cursor = self.cursor(consumer);
        let state = self.state.lock().unwrap();
        Ok(state
            .events
            .iter()
            .filter(|r| r.sequence > cursor)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn mark_delivered(&self, consumer: &str, through_sequence: i64) -> anyhow::Result<()> {
        let mut state = self.state.lock().unwrap();
        if let Some(entry) = state.consumers.get_mut(consumer) {
            entry.delivered_sequence = entry.delivered_sequence.max(through_sequence);
            entry.attempts = 0;
        }
        Ok(())
    }

    async fn record_failure(
        &self,
        consumer: &str,
        failure: &DeliveryFailure,
    ) -> anyhow::Result<()> {
        let mut state = self.state.lock().unwrap();
        state
            .failures
            .entry(consumer.to_owned())
            .or_default()
            .push(failure.clone());
        Ok(())
    }

    async fn backlog(&self, consumer: &str) -> anyhow::Result<Backlog> {
        let pending = self.fetch_pending(consumer, usize::MAX).await?;
        Ok(Backlog {
            pending: pending.len() as u64,
            oldest: pending.first().map(|r| r.created),
        })
    }

    async fn prune(
        &self,
        _consumers: &[String],
        _created_before: SystemTime,
    ) -> anyhow::Result<u64> {
        Ok(0)
    }
}

/// Records every batch; fails the first `failures` calls, or every call
/// while `down` is set.
#[derive(Default)]
struct RecordingSink {
    batches: Mutex<Vec<Vec<String>>>,
    failures: AtomicU32,
    down: std::sync::atomic::AtomicBool,
}

impl RecordingSink {
    fn failing(failures: u32) -> Self {
        Self {
            failures: AtomicU32::new(failures),
            ..Self::default()
        }
    }

    fn received(&self) -> Vec<String> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Sink for Arc<RecordingSink> {
    async fn deliver(&self, events: &[Event]) -> Result<(), DeliveryError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(tonic::Status::unavailable("sink is down").into());
        }
        let remaining = self.failures.load(Ordering::SeqCst);
        if remaining > 0 {
            self.failures.store(remaining - 1, Ordering::SeqCst);
            return Err(tonic::Status::unavailable("sink is failing").into());
        }
        let ids = events.iter().map(|event| event.id.clone()).collect();
        self.batches.lock().unwrap().push(ids);
        Ok(())
    }
}

fn fast_config() -> RelayConfig {
    RelayConfig {
        poll_interval: Duration::from_millis(10),
        batch_size: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
        ..RelayConfig::default()
    }
}

/// Polls `condition` every 10 ms for up to 10 s.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn start(relay: Relay) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(relay.run(cancel.clone()));
    (cancel, handle)
}

#[test]
fn backoff_doubles_within_jitter_bounds() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let initial = Duration::from_millis(100);
    let max = Duration::from_secs(30);

    for attempts in 1..=8 {
        let base = initial * 2u32.pow(attempts - 1);
        let delay = backoff_delay(attempts, initial, max, &mut rng);

        assert!(
            delay >= base / 2,
            "attempt {attempts}: {delay:?} below {:?}",
            base / 2
        );
        assert!(
            delay <= base,
            "attempt {attempts}: {delay:?} above {base:?}"
        );
    }
}

#[test]
fn backoff_stops_at_cap() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let max = Duration::from_secs(30);

    for attempts in [20, 64, u32::MAX] {
        let delay = backoff_delay(attempts, Duration::from_millis(100), max, &mut rng);

        assert!(delay <= max, "attempt {attempts}: {delay:?}");
        assert!(delay >= max / 2, "attempt {attempts}: {delay:?}");
    }
}

#[test]
fn config_defaults_match_constants() {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        outbox: RelayConfig,
    }

    let parsed = Cli::try_parse_from(["test"]).unwrap().outbox;
    let overridden = Cli::try_parse_from([
        "test",
        "--outbox-batch-size",
        "7",
        "--outbox-max-backoff",
        "5s",
    ])
    .unwrap()
    .outbox;

    assert_eq!(parsed, RelayConfig::default());
    assert_eq!(overridden.batch_size, 7);
    assert_eq!(overridden.max_backoff, Duration::from_secs(5));
    assert!(Cli::try_parse_from(["test", "--outbox-batch-size", "0"]).is_err());
}

#[test]
fn relay_rejects_duplicate_consumer() {
    let source: Arc<dyn OutboxSource> = Arc::new(MemorySource::default());
    let sink = Arc::new(RecordingSink::default());
    let consumers = vec![
        Consumer::new("groups-svc", sink.clone()),
        Consumer::new("groups-svc", sink),
    ];

    let result = Relay::new("test", source.clone(), consumers, fast_config());
    let empty = Relay::new("test", source, Vec::new(), fast_config());

    assert!(result.is_err());
    assert!(empty.is_err());
}

#[tokio::test]
async fn relay_delivers_in_sequence_order() {
    let source = Arc::new(MemorySource::default());
    let expected: Vec<String> = (0..5)
        .map(|i| source.push(&format!("user-{}", i % 2)))
        .collect();
    let sink = Arc::new(RecordingSink::default());
    let relay = Relay::new(
        "test",
        source.clone(),
        vec![Consumer::new("a", sink.clone())],
        fast_config(),
    )
    .unwrap();

    let (cancel, handle) = start(relay);
    wait_until("five events", || sink.received().len() >= 5).await;
    wait_until("cursor at 5", || source.cursor("a") == 5).await;
    cancel.cancel();
    handle.await.unwrap();

    assert_eq!(sink.received(), expected);
    assert!(
        sink.batches
            .lock()
            .unwrap()
            .iter()
            .all(|batch| batch.len() <= 2)
    );
}

#[tokio::test]
async fn relay_retries_failed_batch_with_growing_attempts() {
    let source = Arc::new(MemorySource::default());
    let first = source.push("user-1");
    let sink = Arc::new(RecordingSink::failing(3));
    let relay = Relay::new(
        "test",
        source.clone(),
        vec![Consumer::new("a", sink.clone())],
        fast_config(),
    )
    .unwrap();

    let (cancel, handle) = start(relay);
    wait_until("the event after three failures", || source.cursor("a") == 1).await;
    cancel.cancel();
    handle.await.unwrap();

    let failures = source.failures("a");
    let attempts: Vec<u32> = failures.iter().map(|failure| failure.attempts).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert!(failures.iter().all(|failure| failure.event_id == first));
    assert_eq!(sink.received(), vec![first]);
}

#[tokio::test]
async fn down_consumer_does_not_delay_other() {
    let source = Arc::new(MemorySource::default());
    let id = source.push("user-1");
    let down = Arc::new(RecordingSink::default());
    down.down.store(true, Ordering::SeqCst);
    let up = Arc::new(RecordingSink::default());
    let consumers = vec![
        Consumer::new("down", down.clone()),
        Consumer::new("up", up.clone()),
    ];
    let relay = Relay::new("test", source.clone(), consumers, fast_config()).unwrap();

    let (cancel, handle) = start(relay);
    wait_until("delivery to the up consumer", || source.cursor("up") == 1).await;
    wait_until("a failure of the down consumer", || {
        !source.failures("down").is_empty()
    })
    .await;
    assert_eq!(source.cursor("down"), 0);

    down.down.store(false, Ordering::SeqCst);
    wait_until("delivery after recovery", || source.cursor("down") == 1).await;
    cancel.cancel();
    handle.await.unwrap();

    assert_eq!(up.received(), vec![id.clone()]);
    assert_eq!(down.received(), vec![id]);
}

#[tokio::test]
async fn signal_wakes_idle_relay() {
    let source = Arc::new(MemorySource::default());
    let sink = Arc::new(RecordingSink::default());
    let config = RelayConfig {
        // Long enough that only the signal can explain a delivery within
        // the 10 s wait.
        poll_interval: Duration::from_secs(3600),
        ..fast_config()
    };
    let signal = OutboxSignal::new();
    let relay = Relay::new(
        "test",
        source.clone(),
        vec![Consumer::new("a", sink.clone())],
        config,
    )
    .unwrap()
    .with_signal(signal.clone());

    let (cancel, handle) = start(relay);
    wait_until("registration", || {
        source.state.lock().unwrap().consumers.contains_key("a")
    })
    .await;
    // The first cycle may still be reading; poke until the event arrives.
    let id = source.push("user-1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sink.received().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "signal did not wake the relay"
        );
        signal.notify();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    handle.await.unwrap();

    assert_eq!(sink.received(), vec![id]);
}
