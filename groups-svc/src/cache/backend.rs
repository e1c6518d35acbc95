//! Batch operations over `plumbing::cache::Cache`: one MGET, pipeline or
//! DEL per batch on Redis, a loop over the entries in process.

use std::time::Duration;

use plumbing::cache::Cache;

/// Keys per DEL command, so one command never carries an unbounded list.
const KEYS_PER_DELETE: usize = 1_000;

/// Reads every key; the result has one entry per key, in order.
pub async fn get_many(cache: &Cache, keys: &[String]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
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
pub async fn set_many(
    cache: &Cache,
    entries: Vec<(String, Vec<u8>, Duration)>,
) -> anyhow::Result<()> {
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
pub async fn delete_many(cache: &Cache, keys: &[String]) -> anyhow::Result<()> {
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
