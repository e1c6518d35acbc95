//! GCRA in Redis: one atomic Lua script per check, timed by the Redis
//! server's clock so that replicas with skewed clocks agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::{Decision, Gcra, RateLimitConfig};
use crate::metrics::RATE_LIMIT_BACKEND_ERRORS_TOTAL;

/// Maximum time a check waits for Redis before failing open.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// Minimum time between two warnings about Redis failures, per limiter.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Redis key prefix; the scope and the caller's key follow.
const KEY_PREFIX: &str = "ratelimit:";

/// KEYS[1]: the key. ARGV[1]: interval in µs. ARGV[2]: tolerance in µs.
/// Returns {1, 0} when allowed, or {0, wait_us} when limited. The TAT is
/// stored in µs since the Unix epoch (below 2^53, so exact in Lua numbers)
/// and expires once it is in the past, when it no longer matters.
const GCRA_SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local ahead = tat - now
if ahead > tolerance then
  return {0, ahead - tolerance}
end
local next_tat = tat + interval
local ttl_ms = math.ceil((next_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', ttl_ms)
return {1, 0}
";

/// Redis-backed GCRA limiter. Clones share the connection.
#[derive(Clone)]
pub struct RedisLimiter {
    gcra: Gcra,
    scope: Arc<str>,
    manager: ConnectionManager,
    script: Arc<redis::Script>,
    failures: Arc<FailureLog>,
}

impl RedisLimiter {
    pub fn new(manager: ConnectionManager, config: &RateLimitConfig, scope: &str) -> Self {
        Self {
            gcra: Gcra::new(config),
            scope: scope.into(),
            manager,
            script: Arc::new(redis::Script::new(GCRA_SCRIPT)),
            failures: Arc::new(FailureLog::default()),
        }
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Checks one request for `key`.
    ///
    /// Fails open: when Redis errors or takes longer than 250 ms, the request
    /// is allowed, `rate_limit_backend_errors_total{scope}` is counted and a
    /// warning is logged at most every 10 s.
    pub async fn check(&self, key: &str) -> Decision {
        let redis_key = format!("{KEY_PREFIX}{}:{key}", self.scope);
        let mut connection = self.manager.clone();
        let mut invocation = self.script.key(redis_key);
        invocation
            .arg(self.gcra.interval_us)
            .arg(self.gcra.tolerance_us);

        let outcome = tokio::time::timeout(
            REDIS_TIMEOUT,
            invocation.invoke_async::<(u8, u64)>(&mut connection),
        )
        .await;
        match outcome {
            Ok(Ok((1, _))) => Decision::Allowed,
            Ok(Ok((_, wait_us))) => Decision::Limited {
                retry_after: Duration::from_micros(wait_us),
            },
            Ok(Err(error)) => self.fail_open(&error.to_string()),
            Err(_) => self.fail_open("timed out"),
        }
    }

    fn fail_open(&self, error: &str) -> Decision {
        metrics::counter!(RATE_LIMIT_BACKEND_ERRORS_TOTAL, "scope" => self.scope.to_string())
            .increment(1);
        if let Some(suppressed) = self.failures.should_warn() {
            tracing::warn!(
                scope = %self.scope,
                error,
                suppressed,
                "rate limiter cannot reach Redis; allowing requests"
            );
        }
        Decision::Allowed
    }
}

/// Rate limit for the failure warning.
struct FailureLog {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last warning, plus one (0 = never).
    last_warn_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for FailureLog {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            last_warn_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl FailureLog {
    /// Returns the number of warnings suppressed since the last one when a
    /// warning is due now, else `None`.
    fn should_warn(&self) -> Option<u64> {
        let now_ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let last = self.last_warn_ms.load(Ordering::Acquire);
        let interval_ms = WARN_INTERVAL.as_millis() as u64;
        let due = last == 0 || now_ms.saturating_sub(last) >= interval_ms;
        if due
            && self
                .last_warn_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }
}
