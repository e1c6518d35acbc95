//! Retry delays: exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

/// Returns the wait before retrying after `attempts` consecutive failures
/// (1 for the first failure).
///
/// The base delay is `initial × 2^(attempts-1)`, capped at `max`. The result
/// is drawn uniformly from the upper half of the base delay ("equal
/// jitter"), so relays that failed together spread out, and until the cap
/// each wait is at least as long as the one before.
pub fn backoff_delay(
    attempts: u32,
    initial: Duration,
    max: Duration,
    rng: &mut impl Rng,
) -> Duration {
    let exponent = attempts.saturating_sub(1).min(31);
    let base = initial.saturating_mul(1 << exponent).min(max);

    let half = base / 2;
    let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = Duration::from_nanos(rng.random_range(0..=jitter_nanos));
    (base - half) + jitter
}
