//! Transactional outbox relay: delivers the `events.v1.Event`s a service
//! wrote to its own outbox table to every consumer, at least once and in
//! outbox order.
//!
//! # Contract with the producing service
//!
//! The service inserts each event into its outbox table in the same
//! transaction as the change it describes, and implements [`OutboxSource`]
//! over that table. Every outbox row has a `sequence` number, and sequence
//! order must be commit order: a row may only become visible once every row
//! with a smaller sequence is visible or rolled back. SQLite gives this for
//! free because it has one writer. PostgreSQL does not, because identity
//! values are taken at insert time and transactions commit in any order, so
//! the writer serialises outbox inserts with a transaction-level advisory
//! lock taken just before the insert. Sequence numbers must never be reused,
//! even after pruning (SQLite needs `AUTOINCREMENT` for this).
//!
//! Writes to one aggregate must be serialised by the producer (a row lock or
//! a version check), so that an aggregate's events get increasing sequences.
//!
//! # Per-consumer state: one cursor per consumer
//!
//! Each consumer has one state row (`outbox_consumers`): the highest
//! sequence it acknowledged, plus the attempt count, next attempt time and
//! last error of the batch it is stuck on. Because the relay delivers in
//! sequence order and stops at the first failure, everything at or below
//! the cursor is delivered and everything above it is pending, so no
//! per-event delivery row is needed. That keeps the state O(consumers)
//! instead of O(events × consumers), makes "pending" a range scan on the
//! primary key, and lets a new consumer join without backfilling rows. A
//! down consumer holds back only its own cursor, and each consumer runs in
//! its own task so a slow one never delays another.
//!
//! # Delivery semantics
//!
//! - At least once: the cursor moves only after the consumer acknowledged
//!   the batch. A lost acknowledgement, a crash between the RPC and the
//!   cursor update, or two relays running against one database all lead
//!   to the same events being delivered again, so consumers must skip event
//!   ids they have applied before.
//! - Ordered: a batch is a prefix of the consumer's pending events, sent in
//!   one `Deliver` call, so event N+1 of an aggregate is never sent before
//!   event N was acknowledged. A failed batch is retried whole.
//! - Retries: exponential backoff with jitter from
//!   [`RelayConfig::initial_backoff`] up to [`RelayConfig::max_backoff`].
//! - Retention: rows that every configured consumer acknowledged are
//!   deleted once they are older than [`RelayConfig::retention`] (measured
//!   from when the event was written, not when it was delivered).

mod backoff;
mod config;
pub mod processed;
mod relay;
mod sink;

use std::time::SystemTime;

use async_trait::async_trait;
use proto::events::v1::Event;

pub use self::backoff::backoff_delay;
pub use self::config::RelayConfig;
pub use self::relay::{OutboxSignal, Relay};
pub use self::sink::{Consumer, DeliveryError, GrpcSink, Sink};

/// Largest encoded size of the events of one `Deliver` call, unless a single
/// event is larger. Consumers accept at least [`MAX_DELIVER_MESSAGE_BYTES`].
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Largest `Deliver` request a consumer's `EventSink` server must accept:
/// one event can list many member ids, such as the removals of a PUT that
/// replaces a large group.
pub const MAX_DELIVER_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Gauge of events a consumer has not acknowledged, labelled `service` and `consumer`.
pub const OUTBOX_PENDING_EVENTS: &str = "outbox_pending_events";
/// Gauge of the age in seconds of a consumer's oldest unacknowledged event,
/// labelled `service` and `consumer`; 0 when nothing is pending.
pub const OUTBOX_LAG_SECONDS: &str = "outbox_lag_seconds";
/// Counter of events a consumer acknowledged, labelled `service` and `consumer`.
pub const OUTBOX_DELIVERED_TOTAL: &str = "outbox_delivered_total";
/// Counter of failed `Deliver` calls, labelled `service` and `consumer`.
pub const OUTBOX_DELIVERY_FAILURES_TOTAL: &str = "outbox_delivery_failures_total";

/// One event read from an outbox table.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Position in delivery order, unique and increasing in commit order.
    pub sequence: i64,
    /// The decoded event. Its aggregate key is `aggregate_type` and
    /// `aggregate_id`.
    pub event: Event,
    /// When the producer wrote the row.
    pub created: SystemTime,
}

/// Stored delivery state of one consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerState {
    /// Highest sequence the consumer acknowledged; 0 before the first one.
    pub delivered_sequence: i64,
    /// Failed attempts of the current batch since the last success.
    pub attempts: u32,
    /// Earliest time of the next attempt while backing off.
    pub next_attempt_at: Option<SystemTime>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// First event of the batch that failed last.
    pub failed_event_id: Option<String>,
}

/// A failed delivery, as stored for operators and for backoff after restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// First event of the failed batch.
    pub event_id: String,
    /// Failed attempts of this batch so far, including this one.
    pub attempts: u32,
    pub next_attempt_at: SystemTime,
    pub error: String,
}

/// Unacknowledged events of one consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub pending: u64,
    /// Creation time of the oldest pending event; `None` when nothing is pending.
    pub oldest: Option<SystemTime>,
}

/// Outbox table of one service, implemented by that service's store.
///
/// `consumer` is a stable name such as `groups-svc`, stored in the state
/// table. Every method may be called concurrently from one task per
/// consumer.
#[async_trait]
pub trait OutboxSource: Send + Sync {
    /// Creates the consumer's state row when missing, with its cursor at 0
    /// so it receives every retained event, and returns the stored state.
    async fn register_consumer(&self, consumer: &str) -> anyhow::Result<ConsumerState>;

    /// Returns up to `limit` events above the consumer's stored cursor, in
    /// sequence order.
    async fn fetch_pending(
        &self,
        consumer: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxRecord>>;

    /// Moves the consumer's cursor up to `through_sequence` (never down) and
    /// clears its failure state.
    async fn mark_delivered(&self, consumer: &str, through_sequence: i64) -> anyhow::Result<()>;

    /// Stores a failed attempt in the consumer's state row.
    async fn record_failure(&self, consumer: &str, failure: &DeliveryFailure)
    -> anyhow::Result<()>;

    /// Counts the consumer's pending events and finds the oldest one.
    async fn backlog(&self, consumer: &str) -> anyhow::Result<Backlog>;

    /// Deletes events that every consumer in `consumers` acknowledged and
    /// that were created before `created_before`. Returns the number deleted.
    async fn prune(&self, consumers: &[String], created_before: SystemTime) -> anyhow::Result<u64>;
}

impl std::fmt::Debug for dyn OutboxSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("OutboxSource")
    }
}

/// Describes the outbox metrics to the installed recorder.
fn describe_metrics() {
    metrics::describe_gauge!(
        OUTBOX_PENDING_EVENTS,
        "Outbox events a consumer has not acknowledged."
    );
    metrics::describe_gauge!(
        OUTBOX_LAG_SECONDS,
        metrics::Unit::Seconds,
        "Age of the oldest outbox event a consumer has not acknowledged."
    );
    metrics::describe_counter!(
        OUTBOX_DELIVERED_TOTAL,
        "Outbox events a consumer acknowledged."
    );
    metrics::describe_counter!(
        OUTBOX_DELIVERY_FAILURES_TOTAL,
        "Failed outbox delivery calls."
    );
}

#[cfg(test)]
mod tests;
