//! Relay settings, read from flags or `OUTBOX_*` environment variables.

use std::time::Duration;

use clap::builder::TypedValueParser as _;

use crate::config::parse_duration;

/// Default wait between polls of the outbox table.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Default maximum events per `Deliver` call.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// Default wait before the first retry of a failed batch.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Default maximum wait between retries.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Default time acknowledged events stay in the outbox after they were written.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Default wait between prunes of acknowledged events.
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Outbox relay settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RelayConfig {
    /// Wait between polls of the outbox table when idle, such as `200ms`.
    /// A commit in the same process wakes the relay earlier.
    #[arg(long = "outbox-poll-interval", env = "OUTBOX_POLL_INTERVAL", default_value = "200ms", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Maximum events sent in one `Deliver` call.
    #[arg(long = "outbox-batch-size", env = "OUTBOX_BATCH_SIZE", default_value_t = DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u64).range(1..=10_000).map(|size| size as usize))]
    pub batch_size: usize,

    /// Wait before the first retry of a failed delivery, such as `100ms`.
    /// Each further failure doubles it, with jitter.
    #[arg(long = "outbox-initial-backoff", env = "OUTBOX_INITIAL_BACKOFF", default_value = "100ms", value_parser = parse_duration)]
    pub initial_backoff: Duration,

    /// Maximum wait between retries of a failed delivery, such as `30s`.
    #[arg(long = "outbox-max-backoff", env = "OUTBOX_MAX_BACKOFF", default_value = "30s", value_parser = parse_duration)]
    pub max_backoff: Duration,

    /// How long acknowledged events stay in the outbox table after they were
    /// written, such as `24h`, for inspection and replay.
    #[arg(long = "outbox-retention", env = "OUTBOX_RETENTION", default_value = "24h", value_parser = parse_duration)]
    pub retention: Duration,

    /// Wait between prunes of acknowledged events older than the retention,
    /// such as `1m`.
    #[arg(long = "outbox-prune-interval", env = "OUTBOX_PRUNE_INTERVAL", default_value = "1m", value_parser = parse_duration)]
    pub prune_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            poll_interval: DEFAULT_POLL_INTERVAL,
            batch_size: DEFAULT_BATCH_SIZE,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            retention: DEFAULT_RETENTION,
            prune_interval: DEFAULT_PRUNE_INTERVAL,
        }
    }
}
