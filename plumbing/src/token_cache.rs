//! Successful SCIM token authentications, cached in Redis or in process so
//! that most SCIM requests skip identity-svc's token lookup.
//!
//! # The scheme
//!
//! Entries are keyed by the SHA-256 digest of the secret, the digest
//! identity-svc stores, so the secret itself is never a key or a value.
//! identity-svc is the only writer:
//!
//! - After a successful lookup it stores the workspace, token id and
//!   identity provider for [`ENTRY_TTL`] (less when the token expires
//!   sooner), unless the key contains an entry already.
//! - After a commit that can reject a token (revocation, rotation, a change
//!   of the workspace's SCIM state, a reset) it overwrites the entries of
//!   the tokens concerned with a tombstone that lives [`TOMBSTONE_TTL`].
//!   Because fills never overwrite, a lookup that read the token before the
//!   commit and stores its result after it finds the tombstone and stores
//!   nothing, so the next request is rejected.
//!
//! Readers (the gateway and identity-svc) treat a tombstone like a miss and
//! ask identity-svc, which reads the database.
//!
//! # Failures
//!
//! Redis errors make every operation a miss for a second, as in
//! [`EpochCache`]. A tombstone lost that way leaves an entry that outlives
//! the change by at most [`ENTRY_TTL`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{cache::Cache, epoch_cache::EpochCache};

/// Lifetime of a cached authentication. Bounds how long a token stays
/// accepted when its tombstone is lost.
pub const ENTRY_TTL: Duration = Duration::from_secs(2);
/// Lifetime of a tombstone. A lookup takes milliseconds from its database
/// read to its cache write, so one that read before the change finds the
/// tombstone and cannot store a stale entry.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(10);
/// Value that marks a token whose cached authentication is withdrawn.
const TOMBSTONE: &[u8] = b"withdrawn";
/// Prefix of the metric names: `scim_token_cache_requests_total` and
/// `scim_token_cache_degraded_total`.
const METRIC_NAME: &str = "scim_token";

/// Returns the SHA-256 digest of a token secret, as identity-svc stores it.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The result of a successful authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub workspace_id: String,
    pub token_id: String,
    /// `entra`, `okta`, or empty before SCIM is set up.
    pub identity_provider: String,
}

/// Cache of successful token authentications. Cloning is cheap and clones
/// share state.
#[derive(Clone, Debug)]
pub struct TokenCache {
    cache: EpochCache,
}

impl TokenCache {
    pub fn new(cache: Cache) -> Self {
        Self {
            cache: EpochCache::new(cache, METRIC_NAME),
        }
    }

    /// Returns the cached authentication of the secret with `digest`, or
    /// `None` on a miss, a tombstone or a cache failure.
    pub async fn get(&self, digest: &[u8; 32]) -> Option<Authenticated> {
        let value = self.cache.get_many(&[key(digest)]).await.pop().flatten();
        let found = value
            .filter(|bytes| bytes != TOMBSTONE)
            .and_then(|bytes| serde_json::from_slice::<Authenticated>(&bytes).ok());
        match found {
            Some(_) => self.cache.count(1, 0),
            None => self.cache.count(0, 1),
        }
        found
    }

    /// Stores a successful authentication of a token that expires in
    /// `valid_for`, unless the key contains an entry or a tombstone.
    pub async fn put(&self, digest: &[u8; 32], authenticated: &Authenticated, valid_for: Duration) {
        let ttl = ENTRY_TTL.min(valid_for);
        if ttl.is_zero() {
            return;
        }
        let Ok(value) = serde_json::to_vec(authenticated) else {
            return;
        };
        self.cache.set_if_absent(&key(digest), value, ttl).await;
    }

    /// Withdraws the cached authentications of the tokens with `digests`.
    /// Call it after the commit that changed them.
    pub async fn withdraw(&self, digests: &[[u8; 32]]) {
        let entries = digests
            .iter()
            .map(|digest| (key(digest), TOMBSTONE.to_vec(), TOMBSTONE_TTL))
            .collect();
        self.cache.set_many(entries).await;
    }
}

/// Cache key of a digest: `scim-token:` and 64 lowercase hex digits.
fn key(digest: &[u8; 32]) -> String {
    let mut key = String::with_capacity(11 + 64);
    key.push_str("scim-token:");
    for byte in digest {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    key
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
#[path = "token_cache_tests.rs"]
mod tests;
