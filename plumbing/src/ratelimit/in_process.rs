//! GCRA state per key in a moka cache, so idle keys expire.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Decision, Gcra, RateLimitConfig};

/// Maximum number of keys tracked at once.
///
/// NOTE: when more keys are active, the least recently used lose their state
/// and get a fresh burst, so the limit is looser than configured for them.
const MAX_KEYS: u64 = 100_000;

/// In-process GCRA limiter. Clones share state.
#[derive(Clone)]
pub struct InProcessLimiter {
    gcra: Gcra,
    scope: Arc<str>,
    /// Reference point for the TAT values, which are microseconds since it.
    epoch: Instant,
    keys: moka::future::Cache<String, Arc<AtomicU64>>,
}

impl InProcessLimiter {
    pub fn new(config: &RateLimitConfig, scope: &str) -> Self {
        let gcra = Gcra::new(config);
        let keys = moka::future::Cache::builder()
            .max_capacity(MAX_KEYS)
            .time_to_idle(gcra.idle_reset().max(Duration::from_secs(1)))
            .build();
        Self {
            gcra,
            scope: scope.into(),
            epoch: Instant::now(),
            keys,
        }
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    pub async fn check(&self, key: &str) -> Decision {
        let state = self
            .keys
            .get_with_by_ref(key, async { Arc::new(AtomicU64::new(0)) })
            .await;
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);

        let mut stored = state.load(Ordering::Acquire);
        loop {
            let tat = stored.max(now);
            let ahead = tat - now;
            if ahead > self.gcra.tolerance_us {
                let wait = ahead - self.gcra.tolerance_us;
                return Decision::Limited {
                    retry_after: Duration::from_micros(wait),
                };
            }
            let next = tat + self.gcra.interval_us;
            match state.compare_exchange_weak(stored, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Decision::Allowed,
                Err(actual) => stored = actual,
            }
        }
    }
}
