//! Counts of rejected SCIM requests (bad or missing tokens, disabled
//! workspaces) per workspace, reason and minute, reported to audit-svc once
//! a minute so that a misconfigured identity provider cannot flood the
//! audit trail with one event per request.
//!
//! The counts live only in this process's memory: a crash or a failed
//! report loses them, so they are best effort. The number of distinct
//! (workspace, reason, minute) keys is bounded, because the workspace id of
//! a rejected request comes from an unauthenticated URL.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use plumbing::grpc::TracedChannel;
use proto::audit::v1::{
    RecordRejectedRequestsRequest, RejectedRequestCount, audit_service_client::AuditServiceClient,
};
use tokio_util::sync::CancellationToken;

/// Distinct keys kept between two reports; rejections beyond it are only
/// counted in metrics.
pub const MAX_KEYS: usize = 10_000;
/// Time between two reports.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// (workspace id, reason, Unix seconds of the minute's start).
type Key = (String, &'static str, i64);

/// Shared counter of rejected requests. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct RejectionCounter {
    counts: Arc<Mutex<HashMap<Key, i64>>>,
}

impl RejectionCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one rejected request of `workspace_id` for `reason`.
    pub fn record(&self, workspace_id: &str, reason: &'static str) {
        let minute = minute_start(SystemTime::now());
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let key = (workspace_id.to_owned(), reason, minute);
        if let Some(count) = counts.get_mut(&key) {
            *count += 1;
        } else if counts.len() < MAX_KEYS {
            counts.insert(key, 1);
        } else {
            metrics::counter!("scim_rejections_unreported_total").increment(1);
        }
    }

    /// Takes every count recorded so far.
    pub fn take(&self) -> Vec<RejectedRequestCount> {
        let Ok(mut counts) = self.counts.lock() else {
            return Vec::new();
        };
        std::mem::take(&mut *counts)
            .into_iter()
            .map(
                |((workspace_id, reason, minute), count)| RejectedRequestCount {
                    workspace_id,
                    minute: Some(prost_types::Timestamp {
                        seconds: minute,
                        nanos: 0,
                    }),
                    reason: reason.to_owned(),
                    count,
                },
            )
            .collect()
    }

    /// Reports the counts to audit-svc every [`REPORT_INTERVAL`] until
    /// `cancel` fires, then once more. A failed report is logged and its
    /// counts are dropped.
    pub async fn run_reporter(self, audit: TracedChannel, cancel: CancellationToken) {
        let mut client = AuditServiceClient::new(audit);
        loop {
            let stopping = tokio::select! {
                () = cancel.cancelled() => true,
                () = tokio::time::sleep(REPORT_INTERVAL) => false,
            };
            let counts = self.take();
            if !counts.is_empty() {
                let request = RecordRejectedRequestsRequest {
                    report_id: uuid::Uuid::now_v7().to_string(),
                    counts,
                };
                let keys = request.counts.len();
                if let Err(status) = client.record_rejected_requests(request).await {
                    metrics::counter!("scim_rejection_reports_failed_total").increment(1);
                    tracing::warn!(code = ?status.code(), keys, "failed to report rejected requests to audit-svc; counts dropped");
                }
            }
            if stopping {
                return;
            }
        }
    }
}

fn minute_start(time: SystemTime) -> i64 {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(seconds - seconds % 60).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_aggregates() {
        let counter = RejectionCounter::new();
        counter.record("ws", "invalid_token");
        counter.record("ws", "invalid_token");

        let counts = counter.take();

        assert_eq!(counts.len(), 1);
        assert_eq!(counts[0].count, 2);
    }

    #[test]
    fn take_empties_the_counter() {
        let counter = RejectionCounter::new();
        counter.record("ws", "invalid_token");
        counter.take();

        assert!(counter.take().is_empty());
    }

    #[test]
    fn keys_are_bounded() {
        let counter = RejectionCounter::new();
        for index in 0..MAX_KEYS + 5 {
            counter.record(&format!("ws-{index}"), "invalid_token");
        }

        assert_eq!(counter.take().len(), MAX_KEYS);
    }

    #[test]
    fn minute_starts_on_the_minute() {
        let time = UNIX_EPOCH + Duration::from_secs(125);

        assert_eq!(minute_start(time), 120);
    }
}
