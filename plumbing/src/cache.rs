//! Key-value cache with a TTL per entry: in-process for a single replica,
//! Redis when replicas share it.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use moka::Expiry;
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Time allowed to open a Redis connection.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed for one Redis command before it fails.
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Reconnection attempts the connection manager makes before a command fails.
const REDIS_RETRIES: usize = 2;

/// Cached bytes with the TTL they were stored with.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Vec<u8>,
    pub ttl: Duration,
}

/// Byte-value cache keyed by string.
#[derive(Clone)]
pub enum Cache {
    InProcess(moka::future::Cache<String, Entry>),
    Redis(ConnectionManager),
}

impl Cache {
    /// Builds an in-process cache holding at most `max_entries` entries; the
    /// least recently used are evicted first.
    pub fn in_process(max_entries: u64) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(max_entries)
            .expire_after(EntryExpiry)
            .build();
        Self::InProcess(cache)
    }

    pub fn redis(manager: ConnectionManager) -> Self {
        Self::Redis(manager)
    }

    /// Returns the value stored under `key`, or `None` when it is absent or expired.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Self::InProcess(cache) => Ok(cache.get(key).await.map(|entry| entry.value)),
            Self::Redis(manager) => {
                let mut connection = manager.clone();
                let value: Option<Vec<u8>> = connection
                    .get(key)
                    .await
                    .context("failed to read from the Redis cache")?;
                Ok(value)
            }
        }
    }

    /// Stores `value` under `key` for `ttl`, which is rounded up to whole
    /// milliseconds (at least 1 ms) in Redis.
    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> anyhow::Result<()> {
        match self {
            Self::InProcess(cache) => {
                cache.insert(key.to_owned(), Entry { value, ttl }).await;
                Ok(())
            }
            Self::Redis(manager) => {
                let mut connection = manager.clone();
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let options =
                    redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(millis));
                let () = connection
                    .set_options(key, value, options)
                    .await
                    .context("failed to write to the Redis cache")?;
                Ok(())
            }
        }
    }

    /// Stores `value` under `key` for `ttl` unless the key contains an entry
    /// that has not expired. An existing entry is kept as it is.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> anyhow::Result<()> {
        match self {
            Self::InProcess(cache) => {
                cache
                    .entry(key.to_owned())
                    .or_insert(Entry { value, ttl })
                    .await;
                Ok(())
            }
            Self::Redis(manager) => {
                let mut connection = manager.clone();
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let options = redis::SetOptions::default()
                    .conditional_set(redis::ExistenceCheck::NX)
                    .with_expiration(redis::SetExpiry::PX(millis));
                let _stored: Option<String> = connection
                    .set_options(key, value, options)
                    .await
                    .context("failed to write to the Redis cache")?;
                Ok(())
            }
        }
    }

    /// Removes `key`; removing an absent key succeeds.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Self::InProcess(cache) => {
                cache.invalidate(key).await;
                Ok(())
            }
            Self::Redis(manager) => {
                let mut connection = manager.clone();
                let _removed: u64 = connection
                    .del(key)
                    .await
                    .context("failed to delete from the Redis cache")?;
                Ok(())
            }
        }
    }
}

/// Connects to Redis at `url` (such as `redis://127.0.0.1:6379/0`).
///
/// Fails within a few seconds when Redis is unreachable. Errors never
/// contain the password from the URL.
pub async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let redacted = redact_url(url);
    let client = redis::Client::open(url).map_err(|_| {
        anyhow::anyhow!("invalid Redis URL {redacted}: expected redis://host:port/db")
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_CONNECT_TIMEOUT))
        .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
        .set_number_of_retries(REDIS_RETRIES);
    ConnectionManager::new_with_config(client, config)
        .await
        .with_context(|| format!("failed to connect to Redis at {redacted}"))
}

/// Replaces the user information of a URL with `***`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        entry: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _updated_at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
