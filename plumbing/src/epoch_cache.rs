//! Results cached under a version ("epoch") that every change bumps, in
//! Redis or in process, with a bound on staleness that does not depend on
//! invalidations arriving.
//!
//! # The scheme
//!
//! A service keeps, for each thing its results depend on (a group, a user),
//! a version in its database that every change bumps in the same
//! transaction. The cache contains two kinds of entries:
//!
//! - an epoch entry: the version and the wall-clock time just before the
//!   database read it came from, valid for [`EPOCH_MAX_AGE`] after that
//!   read;
//! - result entries keyed by that version, which never change for their
//!   version, so their TTL ([`RESULT_TTL`]) only bounds memory.
//!
//! A reader takes the epoch entry, then the result under that epoch; on any
//! miss it reads the result and its version from one database snapshot and
//! stores both. After a commit the writer deletes the epoch entries of what
//! it changed, so the next read sees the new version at once. When that
//! delete is lost (Redis unreachable, a crash after the commit, or a reader
//! that read the old version before the commit and stores it after the
//! delete), readers stop trusting the old epoch entry [`EPOCH_MAX_AGE`]
//! after its read, so an answer reflects every change committed that long
//! before the question, plus the clock skew between replicas sharing Redis.
//!
//! # Failures
//!
//! When Redis fails, every operation misses for [`BYPASS_AFTER_ERROR`], the
//! `{name}_cache_degraded_total` counter grows and a warning is logged at
//! most once per [`WARNING_INTERVAL`]. Answers then come from the database.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::cache::Cache;

/// Maximum age of a cached epoch, measured from the start of the database
/// read that produced it. Also the TTL of epoch entries.
pub const EPOCH_MAX_AGE: Duration = Duration::from_secs(2);
/// TTL of results. A result never changes for its epoch, so this only
/// bounds memory.
pub const RESULT_TTL: Duration = Duration::from_secs(600);
/// How long the cache is skipped after a Redis error.
pub const BYPASS_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Minimum time between two warnings about Redis errors.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);
/// Keys per Redis DEL command, so one command never carries an unbounded list.
const KEYS_PER_DELETE: usize = 1_000;

/// A [`Cache`] with batch operations, epoch entries and the failure policy
/// above. Cloning is cheap and clones share state.
#[derive(Clone)]
pub struct EpochCache {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache,
    /// Prefix of the metric names, such as `rbac`.
    name: &'static str,
    /// Unix milliseconds until which the cache is skipped.
    bypass_until: AtomicU64,
    /// Unix milliseconds of the last warning about a Redis error.
    last_warning: AtomicU64,
}

impl std::fmt::Debug for EpochCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.inner.cache {
            Cache::InProcess(_) => "in-process",
            Cache::Redis(_) => "redis",
        };
        formatter
            .debug_struct("EpochCache")
            .field("name", &self.inner.name)
            .field("backend", &backend)
            .finish()
    }
}

/// The moment a database read started, to store with the epoch it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadStart(u64);

impl ReadStart {
    /// Takes the time now; call it just before the database read.
    pub fn now() -> Self {
        Self(unix_millis())
    }
}

impl EpochCache {
    /// Wraps `cache`. `name` prefixes the metric names, such as
    /// `rbac_cache_requests_total`.
    pub fn new(cache: Cache, name: &'static str) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                name,
                bypass_until: AtomicU64::new(0),
                last_warning: AtomicU64::new(0),
            }),
        }
    }

    /// Returns the epochs stored under `keys` whose read started less than
    /// [`EPOCH_MAX_AGE`] ago, in order; others are `None`.
    pub async fn epochs(&self, keys: &[String]) -> Vec<Option<i64>> {
        self.get_many(keys)
            .await
            .into_iter()
            .map(|value| value.as_deref().and_then(valid_epoch))
            .collect()
    }

    /// Returns the valid epoch stored under `key`, if any.
    pub async fn epoch(&self, key: &str) -> Option<i64> {
        self.epochs(&[key.to_owned()]).await.pop().flatten()
    }

    /// Builds the entry that stores `epoch` under `key`.
    pub fn epoch_entry(key: String, epoch: i64, read: ReadStart) -> (String, Vec<u8>, Duration) {
        (key, encode_epoch(epoch, read.0), EPOCH_MAX_AGE)
    }

    /// Builds the entry that stores a result under `key` for [`RESULT_TTL`].
    pub fn result_entry(key: String, value: Vec<u8>) -> (String, Vec<u8>, Duration) {
        (key, value, RESULT_TTL)
    }

    /// Counts cache hits and misses in `{name}_cache_requests_total`.
    pub fn count(&self, hits: u64, misses: u64) {
        let name = format!("{}_cache_requests_total", self.inner.name);
        if hits > 0 {
            metrics::counter!(name.clone(), "result" => "hit").increment(hits);
        }
        if misses > 0 {
            metrics::counter!(name, "result" => "miss").increment(misses);
        }
    }

    /// Reads keys; every key misses while the cache is failing.
    pub async fn get_many(&self, keys: &[String]) -> Vec<Option<Vec<u8>>> {
        if keys.is_empty() {
            return Vec::new();
        }
        if self.bypassed() {
            self.count_degraded("read");
            return vec![None; keys.len()];
        }
        match get_many(&self.inner.cache, keys).await {
            Ok(values) if values.len() == keys.len() => values,
            Ok(_) => vec![None; keys.len()],
            Err(error) => {
                self.degraded("read", &error);
                vec![None; keys.len()]
            }
        }
    }

    /// Stores entries; skipped while the cache is failing.
    pub async fn set_many(&self, entries: Vec<(String, Vec<u8>, Duration)>) {
        if entries.is_empty() {
            return;
        }
        if self.bypassed() {
            self.count_degraded("write");
            return;
        }
        if let Err(error) = set_many(&self.inner.cache, entries).await {
            self.degraded("write", &error);
        }
    }

    /// Stores an entry unless `key` contains one already. Skipped while the
    /// cache is failing.
    pub async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if self.bypassed() {
            self.count_degraded("write");
            return;
        }
        if let Err(error) = self.inner.cache.set_if_absent(key, value, ttl).await {
            self.degraded("write", &error);
        }
    }

    /// Deletes entries, such as the epoch entries a commit bumped.
    pub async fn delete_many(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        if self.bypassed() {
            self.count_degraded("invalidate");
            return;
        }
        if let Err(error) = delete_many(&self.inner.cache, keys).await {
            self.degraded("invalidate", &error);
        }
    }

    fn bypassed(&self) -> bool {
        unix_millis() < self.inner.bypass_until.load(Ordering::Relaxed)
    }

    /// Records a failed cache operation: skips the cache for a while, counts
    /// it and logs a warning unless one was logged recently.
    fn degraded(&self, operation: &'static str, error: &anyhow::Error) {
        let now = unix_millis();
        self.inner
            .bypass_until
            .store(now + millis(BYPASS_AFTER_ERROR), Ordering::Relaxed);
        self.count_degraded(operation);

        let last = self.inner.last_warning.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= millis(WARNING_INTERVAL);
        if due
            && self
                .inner
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = %format!("{error:#}"),
                cache = self.inner.name,
                operation,
                bypass_ms = millis(BYPASS_AFTER_ERROR),
                "cache failed; reading from the database"
            );
        }
    }

    fn count_degraded(&self, operation: &'static str) {
        let name = format!("{}_cache_degraded_total", self.inner.name);
        metrics::counter!(name, "operation" => operation).increment(1);
    }
}

/// Escapes an id for use inside a `:`-separated key, so that no two
/// different id tuples share a key.
pub fn key_part(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

/// Reads every key; the result has one entry per key, in order.
async fn get_many(cache: &Cache, keys: &[String]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    match cache {
        Cache::InProcess(_) => {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(cache.get(key).await?);
            }
            Ok(values)
        }
        Cache::Redis(manager) => {
            let mut connection = manager.clone();
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(keys)
                .query_async(&mut connection)
                .await
                .map_err(|error| anyhow::anyhow!("failed to read from the Redis cache: {error}"))?;
            Ok(values)
        }
    }
}

/// Stores every entry with its TTL, rounded up to whole milliseconds in Redis.
async fn set_many(cache: &Cache, entries: Vec<(String, Vec<u8>, Duration)>) -> anyhow::Result<()> {
    match cache {
        Cache::InProcess(_) => {
            for (key, value, ttl) in entries {
                cache.set(&key, value, ttl).await?;
            }
            Ok(())
        }
        Cache::Redis(manager) => {
            let mut pipeline = redis::pipe();
            for (key, value, ttl) in &entries {
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                pipeline
                    .cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(millis)
                    .ignore();
            }
            let mut connection = manager.clone();
            let () = pipeline
                .query_async(&mut connection)
                .await
                .map_err(|error| anyhow::anyhow!("failed to write to the Redis cache: {error}"))?;
            Ok(())
        }
    }
}

/// Removes every key; absent keys are fine.
async fn delete_many(cache: &Cache, keys: &[String]) -> anyhow::Result<()> {
    match cache {
        Cache::InProcess(_) => {
            for key in keys {
                cache.delete(key).await?;
            }
            Ok(())
        }
        Cache::Redis(manager) => {
            let mut connection = manager.clone();
            for chunk in keys.chunks(KEYS_PER_DELETE) {
                let _removed: i64 = redis::cmd("DEL")
                    .arg(chunk)
                    .query_async(&mut connection)
                    .await
                    .map_err(|error| {
                        anyhow::anyhow!("failed to delete from the Redis cache: {error}")
                    })?;
            }
            Ok(())
        }
    }
}

fn encode_epoch(epoch: i64, read_at: u64) -> Vec<u8> {
    format!("{epoch}:{read_at}").into_bytes()
}

/// Returns the epoch of an entry whose read started less than
/// [`EPOCH_MAX_AGE`] ago.
fn valid_epoch(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (epoch, read_at) = text.split_once(':')?;
    let read_at: u64 = read_at.parse().ok()?;
    let age = unix_millis().saturating_sub(read_at);
    (age < millis(EPOCH_MAX_AGE)).then_some(epoch.parse().ok()?)
}

fn unix_millis() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_epoch_is_valid() {
        let encoded = encode_epoch(7, unix_millis());

        assert_eq!(valid_epoch(&encoded), Some(7));
    }

    #[test]
    fn epoch_older_than_max_age_is_ignored() {
        let encoded = encode_epoch(7, unix_millis() - millis(EPOCH_MAX_AGE));

        assert_eq!(valid_epoch(&encoded), None);
    }

    #[test]
    fn malformed_epoch_is_ignored() {
        assert_eq!(valid_epoch(b"seven"), None);
    }

    #[test]
    fn key_parts_with_separators_do_not_collide() {
        assert_ne!(
            format!("{}:{}", key_part("a:b"), key_part("c")),
            format!("{}:{}", key_part("a"), key_part("b:c"))
        );
    }

    #[tokio::test]
    async fn stored_epoch_is_read_back() {
        let cache = EpochCache::new(Cache::in_process(100), "test");
        cache
            .set_many(vec![EpochCache::epoch_entry(
                "e".to_owned(),
                3,
                ReadStart::now(),
            )])
            .await;

        assert_eq!(cache.epoch("e").await, Some(3));
    }

    #[tokio::test]
    async fn deleted_epoch_misses() {
        let cache = EpochCache::new(Cache::in_process(100), "test");
        cache
            .set_many(vec![EpochCache::epoch_entry(
                "e".to_owned(),
                3,
                ReadStart::now(),
            )])
            .await;
        cache.delete_many(&["e".to_owned()]).await;

        assert_eq!(cache.epoch("e").await, None);
    }
}
