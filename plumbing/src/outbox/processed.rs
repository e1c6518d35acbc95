//! Retention of the event ids a consumer keeps to skip redeliveries.
//!
//! A consumer writes each applied event's id in the same transaction as the
//! change. Relays redeliver an event only until the consumer's
//! acknowledgement is recorded, or when an operator rewinds a consumer to
//! replay events still in the producer's outbox, which keeps them for
//! [`RelayConfig::retention`](super::RelayConfig::retention). Ids older than
//! both can go.

use std::{
    future::Future,
    time::{Duration, SystemTime},
};

use tokio_util::sync::CancellationToken;

use crate::config::parse_duration;

/// Wait between two prunes of old processed event ids.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(600);
/// Ids deleted per prune statement, so each statement keeps its locks briefly.
pub const PRUNE_BATCH: u32 = 10_000;

/// How long consumers keep processed event ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct ProcessedEventsConfig {
    /// How long groups-svc and rbac-svc keep the id of an applied event to
    /// skip its redelivery, such as `168h`. Keep it longer than every
    /// producer's OUTBOX_RETENTION, so that a replay of the outbox is
    /// skipped too.
    #[arg(id = "processed_events_retention", long = "processed-events-retention", env = "PROCESSED_EVENTS_RETENTION", default_value = "168h", value_parser = parse_duration)]
    pub retention: Duration,
}

impl Default for ProcessedEventsConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Deletes the consumer's processed event ids older than the retention
/// every [`PRUNE_INTERVAL`] until `cancel` fires.
///
/// `prune(before, limit)` deletes at most `limit` ids processed before
/// `before`, oldest first, and returns how many it deleted. A full batch is
/// followed by another at once. `processed_events_pruned_total{consumer}`
/// counts the deletions.
pub async fn run_retention<F, Fut>(
    consumer: &'static str,
    config: ProcessedEventsConfig,
    cancel: CancellationToken,
    prune: F,
) where
    F: Fn(SystemTime, u32) -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    loop {
        let before = SystemTime::now()
            .checked_sub(config.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        loop {
            let deleted = tokio::select! {
                () = cancel.cancelled() => return,
                deleted = prune(before, PRUNE_BATCH) => deleted,
            };
            match deleted {
                Ok(deleted) => {
                    metrics::counter!("processed_events_pruned_total", "consumer" => consumer)
                        .increment(deleted);
                    if deleted < u64::from(PRUNE_BATCH) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(consumer, error = %format!("{error:#}"), "pruning processed event ids failed; retrying at the next run");
                    break;
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn full_batches_prune_again_until_short() {
        let calls = Arc::new(AtomicU32::new(0));
        let cancel = CancellationToken::new();
        let counted = calls.clone();
        let task = tokio::spawn(run_retention(
            "test",
            ProcessedEventsConfig::default(),
            cancel.clone(),
            move |_, limit| {
                let call = counted.fetch_add(1, Ordering::SeqCst);
                async move { Ok(if call < 2 { u64::from(limit) } else { 3 }) }
            },
        ));

        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(1), task).await;

        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(stopped.is_ok(), "the retention task ignored cancellation");
    }

    #[tokio::test]
    async fn cut_off_is_retention_ago() {
        let cut_offs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let cancel = CancellationToken::new();
        let seen = cut_offs.clone();
        let started = SystemTime::now();
        let task = tokio::spawn(run_retention(
            "test",
            ProcessedEventsConfig {
                retention: Duration::from_secs(3600),
            },
            cancel.clone(),
            move |before, _| {
                seen.lock().unwrap().push(before);
                async { Ok(0) }
            },
        ));

        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
        task.await.unwrap();

        let before = cut_offs.lock().unwrap()[0];
        let age = started.duration_since(before).unwrap_or_default();
        assert!(age >= Duration::from_secs(3599), "{age:?}");
        assert!(age <= Duration::from_secs(3601), "{age:?}");
    }
}
