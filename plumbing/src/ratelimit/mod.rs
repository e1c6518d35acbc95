//! Per-key rate limiting with the generic cell rate algorithm (GCRA), in
//! process for one replica or in Redis shared by all replicas.
//!
//! GCRA keeps one timestamp per key, the theoretical arrival time (TAT). A
//! request at `now` is allowed when `TAT - now <= tolerance`, and then moves
//! TAT forward by one emission interval. With `interval = 1 / per_second`
//! and `tolerance = interval * (burst - 1)`, an idle key admits `burst`
//! requests at once and then `per_second` requests per second.

mod in_process;
mod redis_backend;

use std::time::Duration;

pub use in_process::InProcessLimiter;
pub use redis_backend::RedisLimiter;

use crate::metrics::RATE_LIMITED_TOTAL;

/// Rate-limit options shared by every service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct RateLimitConfig {
    /// Sustained rate allowed per key, in requests per second.
    #[arg(
        long = "rate-limit-per-second",
        env = "RATE_LIMIT_PER_SECOND",
        default_value_t = 200,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub per_second: u32,

    /// Burst allowed per key, in requests: how many an idle key may send at once.
    #[arg(
        long = "rate-limit-burst",
        env = "RATE_LIMIT_BURST",
        default_value_t = 400,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 200,
            burst: 400,
        }
    }
}

/// Result of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Rejected; the same key is allowed again after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

/// Rate limiter for one scope (such as `workspace` or `client_ip`).
#[derive(Clone)]
pub enum RateLimiter {
    InProcess(InProcessLimiter),
    Redis(RedisLimiter),
}

impl RateLimiter {
    /// Builds a limiter that keeps its state in this process.
    pub fn in_process(config: &RateLimitConfig, scope: &str) -> Self {
        Self::InProcess(InProcessLimiter::new(config, scope))
    }

    /// Builds a limiter that keeps its state in Redis, shared by all replicas.
    /// When Redis fails, requests are allowed (see [`RedisLimiter::check`]).
    pub fn redis(
        manager: ::redis::aio::ConnectionManager,
        config: &RateLimitConfig,
        scope: &str,
    ) -> Self {
        Self::Redis(RedisLimiter::new(manager, config, scope))
    }

    /// Checks and counts one request for `key`, and counts
    /// `rate_limited_total{scope}` when it is rejected.
    pub async fn check(&self, key: &str) -> Decision {
        let (decision, scope) = match self {
            Self::InProcess(limiter) => (limiter.check(key).await, limiter.scope()),
            Self::Redis(limiter) => (limiter.check(key).await, limiter.scope()),
        };
        if matches!(decision, Decision::Limited { .. }) {
            metrics::counter!(RATE_LIMITED_TOTAL, "scope" => scope.to_owned()).increment(1);
        }
        decision
    }
}

/// GCRA parameters in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Time between two requests at the sustained rate.
    pub interval_us: u64,
    /// How far TAT may run ahead of now.
    pub tolerance_us: u64,
}

impl Gcra {
    pub fn new(config: &RateLimitConfig) -> Self {
        let interval_us = (1_000_000 / u64::from(config.per_second.max(1))).max(1);
        let tolerance_us = interval_us * u64::from(config.burst.max(1) - 1);
        Self {
            interval_us,
            tolerance_us,
        }
    }

    /// Time after which an untouched key is back to its full burst.
    pub fn idle_reset(&self) -> Duration {
        Duration::from_micros(self.tolerance_us + self.interval_us)
    }
}

#[cfg(test)]
mod tests;
