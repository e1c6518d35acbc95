//! Admin bearer tokens: JWTs signed by the platform with a shared HS256
//! key or with RS256 keys published as a JWKS.
//!
//! A token is accepted when its signature, `exp` (30 seconds of leeway)
//! and `sub` are valid. Whether it may act on a workspace is decided by
//! [`AdminClaims::may_administer`]: `role` must be `admin` and
//! `workspace_id` the workspace in the path.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};

use super::jwks::JwksKeys;

/// `role` claim of a workspace admin.
pub const ADMIN_ROLE: &str = "admin";
/// Shortest accepted HS256 key, in bytes (RFC 7518 section 3.2 requires a
/// key at least as long as the hash output).
pub const MIN_HS256_KEY_BYTES: usize = 32;
/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// Claims of an admin token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminClaims {
    /// The platform user the token was issued to.
    pub sub: String,
    /// The workspace the user administers.
    #[serde(default)]
    pub workspace_id: String,
    /// `admin` for a workspace admin.
    #[serde(default)]
    pub role: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
}

impl AdminClaims {
    /// Returns whether the token's holder may administer `workspace_id`.
    pub fn may_administer(&self, workspace_id: &str) -> bool {
        self.role == ADMIN_ROLE
            && !self.workspace_id.is_empty()
            && self.workspace_id == workspace_id
    }
}

/// Reason a token was rejected. The text goes to the log, never to the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not configured for admin tokens")]
    AlgorithmNotAccepted(Algorithm),
    #[error("no configured key matches key id {0:?}")]
    UnknownKey(Option<String>),
    #[error("the token failed validation: {0}")]
    Invalid(jsonwebtoken::errors::Error),
}

/// Checks admin tokens against the configured keys.
#[derive(Debug, Clone)]
pub struct AdminVerifier {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksKeys>,
}

impl AdminVerifier {
    /// Builds a verifier. At least one of the key sources must be set.
    pub fn new(hs256_key: Option<&[u8]>, jwks: Option<JwksKeys>) -> anyhow::Result<Self> {
        if let Some(key) = hs256_key
            && key.len() < MIN_HS256_KEY_BYTES
        {
            anyhow::bail!(
                "the admin HS256 key has {} bytes; use at least {MIN_HS256_KEY_BYTES} random bytes",
                key.len()
            );
        }
        if hs256_key.is_none() && jwks.is_none() {
            anyhow::bail!(
                "no admin token key configured; set ADMIN_JWT_HS256_KEY or ADMIN_JWT_JWKS"
            );
        }
        Ok(Self {
            hs256: hs256_key.map(DecodingKey::from_secret),
            jwks,
        })
    }

    /// Verifies a token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<AdminClaims, TokenError> {
        let header = decode_header(token).map_err(TokenError::Malformed)?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .clone()
                .ok_or(TokenError::AlgorithmNotAccepted(header.alg))?,
            Algorithm::RS256 => {
                let Some(jwks) = &self.jwks else {
                    return Err(TokenError::AlgorithmNotAccepted(header.alg));
                };
                jwks.key(header.kid.as_deref())
                    .await
                    .ok_or(TokenError::UnknownKey(header.kid))?
            }
            other => return Err(TokenError::AlgorithmNotAccepted(other)),
        };

        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = decode::<AdminClaims>(token, &key, &validation).map_err(TokenError::Invalid)?;
        Ok(data.claims)
    }
}

/// Signs an HS256 admin token for `workspace_id`, valid for `lifetime_seconds`.
pub fn sign_hs256(
    key: &[u8],
    subject: &str,
    workspace_id: &str,
    role: &str,
    lifetime_seconds: u64,
) -> anyhow::Result<String> {
    let claims = AdminClaims {
        sub: subject.to_owned(),
        workspace_id: workspace_id.to_owned(),
        role: role.to_owned(),
        exp: unix_now().saturating_add(lifetime_seconds),
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )?)
}

/// Returns the current time in seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
