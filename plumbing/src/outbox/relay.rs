//! The relay: one task per consumer that polls the outbox, delivers
//! batches, backs off on failure and exports metrics, plus one prune task.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{
    Backlog, Consumer, DeliveryFailure, MAX_BATCH_BYTES, OUTBOX_DELIVERED_TOTAL,
    OUTBOX_DELIVERY_FAILURES_TOTAL, OUTBOX_LAG_SECONDS, OUTBOX_PENDING_EVENTS, OutboxRecord,
    OutboxSource, RelayConfig, Sink, backoff_delay, describe_metrics,
};

/// Minimum time between two logged failures of one consumer. Failures in
/// between are counted and reported with the next logged one.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(30);
/// Maximum time the pending and lag gauges go without a refresh while a
/// consumer is backing off.
const BACKLOG_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Wakes the relay right after a commit wrote outbox rows, so delivery does
/// not wait for the next poll. Cheap to clone, and every clone wakes the
/// same relay. Waking a consumer task that is backing off has no effect.
#[derive(Debug, Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes every consumer task waiting for its next poll.
    pub fn notify(&self) {
        self.0.notify_waiters();
    }
}

/// Delivers one service's outbox to its consumers until cancelled.
#[derive(Debug)]
pub struct Relay {
    service: String,
    source: Arc<dyn OutboxSource>,
    consumers: Vec<Consumer>,
    config: RelayConfig,
    signal: OutboxSignal,
}

impl Relay {
    /// Builds a relay for the outbox of `service` (the `service` metric
    /// label, such as `identity-svc`).
    ///
    /// Fails when `consumers` is empty or names a consumer twice, or when the
    /// batch size is 0.
    pub fn new(
        service: impl Into<String>,
        source: Arc<dyn OutboxSource>,
        consumers: Vec<Consumer>,
        config: RelayConfig,
    ) -> anyhow::Result<Self> {
        if consumers.is_empty() {
            bail!("an outbox relay needs at least one consumer");
        }
        let mut names = HashSet::new();
        for consumer in &consumers {
            if consumer.name.is_empty() {
                bail!("an outbox consumer name must not be empty");
            }
            if !names.insert(consumer.name.as_str()) {
                bail!("outbox consumer {:?} is configured twice", consumer.name);
            }
        }
        if config.batch_size == 0 {
            bail!("the outbox batch size must be at least 1");
        }

        Ok(Self {
            service: service.into(),
            source,
            consumers,
            config,
            signal: OutboxSignal::new(),
        })
    }

    /// Uses `signal` to wake the relay after commits, in place of the
    /// relay's own signal that nothing else holds.
    pub fn with_signal(mut self, signal: OutboxSignal) -> Self {
        self.signal = signal;
        self
    }

    /// Returns the names of the configured consumers.
    pub fn consumer_names(&self) -> Vec<String> {
        self.consumers
            .iter()
            .map(|consumer| consumer.name.clone())
            .collect()
    }

    /// Runs until `cancel` fires, then returns once every task stopped.
    ///
    /// Errors are logged and retried, never returned: a consumer or database
    /// that is down only delays delivery. A `Deliver` call in flight at
    /// cancellation is abandoned, and its batch is sent again by the next run.
    pub async fn run(self, cancel: CancellationToken) {
        describe_metrics();
        let names = self.consumer_names();
        tracing::info!(service = %self.service, consumers = ?names, "outbox relay started");

        let mut tasks = JoinSet::new();
        for consumer in self.consumers {
            let span = tracing::info_span!("outbox_relay", service = %self.service, consumer = %consumer.name);
            let worker = Worker::new(
                &self.service,
                consumer,
                self.source.clone(),
                &self.config,
                &self.signal,
            );
            tasks.spawn(worker.run(cancel.clone()).instrument(span));
        }
        let pruner = prune(
            self.source.clone(),
            names,
            self.config.clone(),
            cancel.clone(),
        );
        tasks
            .spawn(pruner.instrument(tracing::info_span!("outbox_prune", service = %self.service)));

        while let Some(finished) = tasks.join_next().await {
            if let Err(error) = finished {
                tracing::error!(service = %self.service, error = %error, "outbox relay task failed");
            }
        }
        tracing::info!(service = %self.service, "outbox relay stopped");
    }
}

/// Delivery loop of one consumer.
struct Worker {
    name: String,
    sink: Arc<dyn Sink>,
    source: Arc<dyn OutboxSource>,
    config: RelayConfig,
    signal: OutboxSignal,
    labels: [(&'static str, String); 2],
    /// Consecutive failed attempts of the current batch.
    attempts: u32,
    /// Set while backing off.
    next_attempt: Option<Instant>,
    delivery_log: RateLimitedLog,
    storage_log: RateLimitedLog,
}

impl Worker {
    fn new(
        service: &str,
        consumer: Consumer,
        source: Arc<dyn OutboxSource>,
        config: &RelayConfig,
        signal: &OutboxSignal,
    ) -> Self {
        Self {
            labels: [
                ("service", service.to_owned()),
                ("consumer", consumer.name.clone()),
            ],
            name: consumer.name,
            sink: consumer.sink,
            source,
            config: config.clone(),
            signal: signal.clone(),
            attempts: 0,
            next_attempt: None,
            delivery_log: RateLimitedLog::default(),
            storage_log: RateLimitedLog::default(),
        }
    }

    async fn run(mut self, cancel: CancellationToken) {
        if !self.register(&cancel).await {
            return;
        }

        let signal = self.signal.0.clone();
        loop {
            // Enabled before the cycle reads the outbox, so a commit made
            // while it runs still wakes the wait below.
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let wait = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                wait = self.cycle() => wait,
            };
            let backing_off = self.next_attempt.is_some();
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                () = &mut notified, if !backing_off => {}
            }
        }
    }

    /// Creates or loads the consumer's state row, retrying until it works.
    /// Returns false when cancelled first.
    async fn register(&mut self, cancel: &CancellationToken) -> bool {
        let mut failures = 0;
        loop {
            match self.source.register_consumer(&self.name).await {
                Ok(state) => {
                    self.attempts = state.attempts;
                    self.next_attempt = state.next_attempt_at.map(|at| {
                        let remaining = at.duration_since(SystemTime::now()).unwrap_or_default();
                        Instant::now() + remaining.min(self.config.max_backoff)
                    });
                    return true;
                }
                Err(error) => {
                    failures += 1;
                    if let Some(suppressed) = self.storage_log.allow() {
                        tracing::warn!(error = %format!("{error:#}"), suppressed, "outbox consumer registration failed; retrying");
                    }
                    let delay = backoff_delay(
                        failures,
                        self.config.initial_backoff,
                        self.config.max_backoff,
                        &mut rand::rng(),
                    );
                    tokio::select! {
                        () = cancel.cancelled() => return false,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Delivers at most one batch and returns how long to wait before the
    /// next cycle.
    async fn cycle(&mut self) -> Duration {
        let now = Instant::now();
        if let Some(at) = self.next_attempt
            && at > now
        {
            self.refresh_backlog().await;
            return (at - now).min(BACKLOG_REFRESH_INTERVAL);
        }

        let batch = match self
            .source
            .fetch_pending(&self.name, self.config.batch_size)
            .await
        {
            Ok(batch) => within_byte_budget(batch),
            Err(error) => {
                if let Some(suppressed) = self.storage_log.allow() {
                    tracing::warn!(error = %format!("{error:#}"), suppressed, "outbox read failed; retrying");
                }
                return self.config.poll_interval;
            }
        };
        let Some(first) = batch.first() else {
            self.report_backlog(Backlog::default());
            return self.config.poll_interval;
        };
        if batch.len() < self.config.batch_size {
            self.report_backlog(Backlog {
                pending: batch.len() as u64,
                oldest: Some(first.created),
            });
        } else {
            self.refresh_backlog().await;
        }

        let events: Vec<_> = batch.iter().map(|record| record.event.clone()).collect();
        match self.sink.deliver(&events).await {
            Ok(()) => self.on_delivered(&batch).await,
            Err(error) => self.on_failed(first, &error.to_string()).await,
        }
    }

    async fn on_delivered(&mut self, batch: &[OutboxRecord]) -> Duration {
        let Some(last) = batch.last() else {
            return self.config.poll_interval;
        };
        metrics::counter!(OUTBOX_DELIVERED_TOTAL, &self.labels).increment(batch.len() as u64);
        if self.attempts > 0 {
            tracing::info!(attempts = self.attempts, event_id = %batch[0].event.id, "outbox delivery recovered");
        }
        self.attempts = 0;
        self.next_attempt = None;
        self.delivery_log = RateLimitedLog::default();

        // The consumer has the events now; if the cursor update fails they
        // are sent again, which consumers skip by event id.
        if let Err(error) = self.source.mark_delivered(&self.name, last.sequence).await {
            if let Some(suppressed) = self.storage_log.allow() {
                tracing::warn!(
                    error = %format!("{error:#}"),
                    suppressed,
                    through_sequence = last.sequence,
                    "failed to store the outbox cursor; the batch will be delivered again"
                );
            }
            return self.config.poll_interval;
        }

        if batch.len() < self.config.batch_size {
            self.report_backlog(Backlog::default());
            self.config.poll_interval
        } else {
            Duration::ZERO
        }
    }

    // NOTE: every error is retried, including ones a retry cannot fix such
    // as INVALID_ARGUMENT. Such an event blocks this consumer until someone
    // acts; `outbox_lag_seconds` and `outbox_consumers.last_error` show it.
    async fn on_failed(&mut self, first: &OutboxRecord, error: &str) -> Duration {
        metrics::counter!(OUTBOX_DELIVERY_FAILURES_TOTAL, &self.labels).increment(1);
        self.attempts = self.attempts.saturating_add(1);
        let delay = backoff_delay(
            self.attempts,
            self.config.initial_backoff,
            self.config.max_backoff,
            &mut rand::rng(),
        );
        self.next_attempt = Some(Instant::now() + delay);

        if let Some(suppressed) = self.delivery_log.allow() {
            tracing::warn!(
                event_id = %first.event.id,
                attempts = self.attempts,
                retry_in_ms = delay.as_millis() as u64,
                suppressed,
                error,
                "outbox delivery failed; retrying"
            );
        }

        let failure = DeliveryFailure {
            event_id: first.event.id.clone(),
            attempts: self.attempts,
            next_attempt_at: SystemTime::now() + delay,
            error: error.to_owned(),
        };
        if let Err(error) = self.source.record_failure(&self.name, &failure).await
            && let Some(suppressed) = self.storage_log.allow()
        {
            tracing::warn!(error = %format!("{error:#}"), suppressed, "failed to store the outbox delivery failure");
        }
        delay
    }

    async fn refresh_backlog(&mut self) {
        match self.source.backlog(&self.name).await {
            Ok(backlog) => self.report_backlog(backlog),
            Err(error) => {
                if let Some(suppressed) = self.storage_log.allow() {
                    tracing::warn!(error = %format!("{error:#}"), suppressed, "failed to count pending outbox events");
                }
            }
        }
    }

    fn report_backlog(&self, backlog: Backlog) {
        let lag = backlog
            .oldest
            .and_then(|oldest| SystemTime::now().duration_since(oldest).ok())
            .unwrap_or_default();
        metrics::gauge!(OUTBOX_PENDING_EVENTS, &self.labels).set(backlog.pending as f64);
        metrics::gauge!(OUTBOX_LAG_SECONDS, &self.labels).set(lag.as_secs_f64());
    }
}

/// Deletes acknowledged events older than the retention, every prune interval.
/// Keeps the longest prefix of `batch` whose encoded events fit in
/// [`MAX_BATCH_BYTES`], and at least the first event, so that one `Deliver`
/// call stays within what consumers accept.
fn within_byte_budget(mut batch: Vec<OutboxRecord>) -> Vec<OutboxRecord> {
    let mut total = 0;
    let mut keep = 0;
    for record in &batch {
        let size = prost::Message::encoded_len(&record.event);
        if keep > 0 && total + size > MAX_BATCH_BYTES {
            break;
        }
        total += size;
        keep += 1;
    }
    batch.truncate(keep);
    batch
}

async fn prune(
    source: Arc<dyn OutboxSource>,
    consumers: Vec<String>,
    config: RelayConfig,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(config.prune_interval) => {}
        }
        let cutoff = SystemTime::now()
            .checked_sub(config.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match source.prune(&consumers, cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "pruned delivered outbox events"),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "outbox prune failed; retrying next interval")
            }
        }
    }
}

/// Lets one message through per [`FAILURE_LOG_INTERVAL`] and counts the rest.
#[derive(Debug, Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    /// Returns the number of messages suppressed since the last one when
    /// this one may be logged, or `None` when it must be suppressed.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < FAILURE_LOG_INTERVAL)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod budget_tests {
    use proto::events::v1::{Event, GroupUpdated, event::Payload};

    use super::*;

    fn record(sequence: i64, members: usize) -> OutboxRecord {
        let removed = (0..members).map(|index| format!("{index:036}")).collect();
        OutboxRecord {
            sequence,
            event: Event {
                id: sequence.to_string(),
                payload: Some(Payload::GroupUpdated(GroupUpdated {
                    removed_member_ids: removed,
                    ..GroupUpdated::default()
                })),
                ..Event::default()
            },
            created: SystemTime::now(),
        }
    }

    #[test]
    fn small_events_all_kept() {
        let batch = (1..=3).map(|sequence| record(sequence, 10)).collect();

        assert_eq!(within_byte_budget(batch).len(), 3);
    }

    #[test]
    fn batch_cut_at_budget() {
        // About 4.6 MB each, so the second one no longer fits.
        let batch = (1..=3).map(|sequence| record(sequence, 120_000)).collect();

        assert_eq!(within_byte_budget(batch).len(), 1);
    }

    #[test]
    fn oversized_first_event_still_sent() {
        let batch = vec![record(1, 300_000), record(2, 1)];

        assert_eq!(within_byte_budget(batch).len(), 1);
    }
}
