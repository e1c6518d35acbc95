//! RS256 public keys of admin tokens, from a JWKS (RFC 7517) file or URL.
//!
//! The set is loaded at start, and a failed load stops the start. A URL is
//! fetched again when a token names a key id the set lacks, at most once
//! per [`REFRESH_INTERVAL`], so the platform can add a key without a
//! restart and unknown key ids cannot make the gateway flood the URL.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use jsonwebtoken::{
    DecodingKey,
    jwk::{Jwk, JwkSet, KeyAlgorithm},
};
use tokio::sync::{Mutex, RwLock};

/// Minimum time between two fetches of a JWKS URL.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Deadline of one JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Url(String),
}

/// The RS256 keys of one JWKS. Cloning is cheap and clones share the set.
#[derive(Debug, Clone)]
pub struct JwksKeys {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: Source,
    keys: RwLock<JwkSet>,
    last_fetch: Mutex<Instant>,
    http: reqwest::Client,
}

impl JwksKeys {
    /// Loads the set from `location`: an `http://` or `https://` URL, a
    /// `file://` URL, or a file path.
    pub async fn load(location: &str) -> anyhow::Result<Self> {
        let source = if location.starts_with("http://") || location.starts_with("https://") {
            Source::Url(location.to_owned())
        } else {
            Source::File(PathBuf::from(
                location.strip_prefix("file://").unwrap_or(location),
            ))
        };
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .context("failed to build the JWKS HTTP client")?;
        let keys = fetch(&source, &http).await?;
        tracing::info!(keys = keys.keys.len(), "admin token JWKS loaded");
        Ok(Self {
            inner: Arc::new(Inner {
                source,
                keys: RwLock::new(keys),
                last_fetch: Mutex::new(Instant::now()),
                http,
            }),
        })
    }

    /// Returns the RS256 key with id `kid`, or the only RS256 key when the
    /// token names none. Refetches a URL source once when the id is unknown.
    pub async fn key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        if let Some(key) = select(&*self.inner.keys.read().await, kid) {
            return Some(key);
        }
        if !self.refresh().await {
            return None;
        }
        select(&*self.inner.keys.read().await, kid)
    }

    /// Fetches a URL source again unless it was fetched recently. Returns
    /// whether the set changed.
    async fn refresh(&self) -> bool {
        let Source::Url(url) = &self.inner.source else {
            return false;
        };
        let mut last_fetch = self.inner.last_fetch.lock().await;
        if last_fetch.elapsed() < REFRESH_INTERVAL {
            return false;
        }
        *last_fetch = Instant::now();
        match fetch(&self.inner.source, &self.inner.http).await {
            Ok(keys) => {
                tracing::info!(keys = keys.keys.len(), "admin token JWKS refreshed");
                *self.inner.keys.write().await = keys;
                true
            }
            Err(error) => {
                tracing::warn!(url = %url, error = %format!("{error:#}"), "admin token JWKS refresh failed; keeping the old keys");
                false
            }
        }
    }
}

async fn fetch(source: &Source, http: &reqwest::Client) -> anyhow::Result<JwkSet> {
    let text = match source {
        Source::File(path) => tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("failed to read the admin JWKS file {}", path.display()))?,
        Source::Url(url) => http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("failed to fetch the admin JWKS from {url}"))?
            .text()
            .await
            .with_context(|| format!("failed to read the admin JWKS from {url}"))?,
    };
    serde_json::from_str(&text)
        .context("the admin JWKS is not a valid JWK set (RFC 7517 section 5)")
}

/// Picks the key for `kid` among the set's RSA keys usable with RS256.
fn select(set: &JwkSet, kid: Option<&str>) -> Option<DecodingKey> {
    let usable = |jwk: &&Jwk| {
        matches!(
            jwk.algorithm,
            jsonwebtoken::jwk::AlgorithmParameters::RSA(_)
        ) && jwk
            .common
            .key_algorithm
            .is_none_or(|algorithm| algorithm == KeyAlgorithm::RS256)
    };
    let jwk = match kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(usable)
            .find(|jwk| jwk.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut candidates = set.keys.iter().filter(usable);
            let only = candidates.next();
            // Without a key id, a choice among several keys would be a guess.
            if candidates.next().is_some() {
                None
            } else {
                only
            }
        }
    }?;
    DecodingKey::from_jwk(jwk).ok()
}
