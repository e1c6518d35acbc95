use super::*;
use crate::test_support::redis_or_skip;

async fn caches() -> Vec<(&'static str, TokenCache)> {
    let mut caches = vec![("in-process", TokenCache::new(Cache::in_process(100)))];
    if let Some(manager) = redis_or_skip().await {
        caches.push(("redis", TokenCache::new(Cache::redis(manager))));
    }
    caches
}

/// Digest of a secret no other test uses.
fn fresh_digest() -> [u8; 32] {
    secret_digest(&format!("scim_test{}", uuid::Uuid::now_v7().simple()))
}

fn authenticated(token_id: &str) -> Authenticated {
    Authenticated {
        workspace_id: "ws-1".to_owned(),
        token_id: token_id.to_owned(),
        identity_provider: "entra".to_owned(),
    }
}

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn put_then_get_returns_entry() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();

        cache.put(&digest, &authenticated("t-1"), LONG).await;

        assert_eq!(
            cache.get(&digest).await,
            Some(authenticated("t-1")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn unknown_digest_misses() {
    for (name, cache) in caches().await {
        assert_eq!(cache.get(&fresh_digest()).await, None, "{name}");
    }
}

#[tokio::test]
async fn withdraw_makes_entry_miss() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();
        cache.put(&digest, &authenticated("t-1"), LONG).await;

        cache.withdraw(&[digest]).await;

        assert_eq!(cache.get(&digest).await, None, "{name}");
    }
}

#[tokio::test]
async fn put_after_withdraw_stores_nothing() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();
        cache.withdraw(&[digest]).await;

        // A lookup that read the token before the withdrawal stores late.
        cache.put(&digest, &authenticated("t-1"), LONG).await;

        assert_eq!(cache.get(&digest).await, None, "{name}");
    }
}

#[tokio::test]
async fn put_keeps_existing_entry() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();
        cache.put(&digest, &authenticated("t-1"), LONG).await;

        cache.put(&digest, &authenticated("t-2"), LONG).await;

        assert_eq!(
            cache.get(&digest).await,
            Some(authenticated("t-1")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn entry_ends_when_token_expires() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();
        cache
            .put(&digest, &authenticated("t-1"), Duration::from_millis(50))
            .await;

        tokio::time::sleep(Duration::from_millis(200)).await;

        assert_eq!(cache.get(&digest).await, None, "{name}");
    }
}

#[tokio::test]
async fn expired_token_is_not_stored() {
    for (name, cache) in caches().await {
        let digest = fresh_digest();

        cache
            .put(&digest, &authenticated("t-1"), Duration::ZERO)
            .await;

        assert_eq!(cache.get(&digest).await, None, "{name}");
    }
}

#[test]
fn digest_is_sha256_of_secret() {
    // SHA-256 of "abc" from FIPS 180-2, appendix B.1.
    let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    assert_eq!(key(&secret_digest("abc")), format!("scim-token:{expected}"));
}
