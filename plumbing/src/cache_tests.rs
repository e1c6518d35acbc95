use super::*;
use crate::test_support::{redis_or_skip, unique_prefix};

async fn caches() -> Vec<(&'static str, Cache)> {
    let mut caches = vec![("in-process", Cache::in_process(100))];
    if let Some(manager) = redis_or_skip().await {
        caches.push(("redis", Cache::redis(manager)));
    }
    caches
}

#[tokio::test]
async fn set_then_get_returns_value() {
    let prefix = unique_prefix("cache-set");
    for (name, cache) in caches().await {
        let key = format!("{prefix}{name}");

        cache
            .set(&key, b"value".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();

        assert_eq!(
            cache.get(&key).await.unwrap(),
            Some(b"value".to_vec()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn missing_key_returns_none() {
    let prefix = unique_prefix("cache-missing");
    for (name, cache) in caches().await {
        assert_eq!(
            cache.get(&format!("{prefix}{name}")).await.unwrap(),
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn delete_removes_value() {
    let prefix = unique_prefix("cache-delete");
    for (name, cache) in caches().await {
        let key = format!("{prefix}{name}");
        cache
            .set(&key, b"value".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();

        cache.delete(&key).await.unwrap();

        assert_eq!(cache.get(&key).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn entry_expires_after_ttl() {
    let prefix = unique_prefix("cache-ttl");
    for (name, cache) in caches().await {
        let key = format!("{prefix}{name}");
        cache
            .set(&key, b"value".to_vec(), Duration::from_millis(50))
            .await
            .unwrap();

        tokio::time::sleep(Duration::from_millis(150)).await;

        assert_eq!(cache.get(&key).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn unreachable_redis_fails_fast() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);

    let started = std::time::Instant::now();
    let result = connect_redis(&format!("redis://{closed}")).await;

    assert!(result.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn redact_hides_password() {
    assert_eq!(
        redact_url("redis://user:secret@host:6379"),
        "redis://***@host:6379"
    );
    assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
}

#[tokio::test]
async fn set_if_absent_keeps_existing_value() {
    let prefix = unique_prefix("cache-set-if-absent");
    for (name, cache) in caches().await {
        let key = format!("{prefix}{name}");
        cache
            .set_if_absent(&key, b"first".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();

        cache
            .set_if_absent(&key, b"second".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();

        assert_eq!(
            cache.get(&key).await.unwrap(),
            Some(b"first".to_vec()),
            "{name}"
        );
    }
}
