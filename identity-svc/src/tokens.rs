//! SCIM bearer tokens: issuing random secrets, storing their SHA-256
//! digests, and resolving a presented secret to its workspace.

use plumbing::token_cache::Authenticated;
pub use plumbing::token_cache::secret_digest;
use proto::events::v1::{TokenIssued, event::Payload};
use proto::identity::v1::{
    AuthenticateScimTokenRequest, AuthenticateScimTokenResponse, IssueScimTokenRequest,
    IssueScimTokenResponse,
};
use rand::{Rng, distr::Alphanumeric};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    IdentityService,
    convert::{timestamp, token_message},
    error::ServiceError,
    now,
    outbox::workspace_event,
    scim_lifecycle::require_no_reset,
    store::TokenRecord,
};

/// Every secret starts with this marker, so leaked tokens are easy to scan for.
pub const SECRET_PREFIX: &str = "scim_";
/// Random alphanumeric characters after the marker: 43 × log2(62) ≈ 256 bits.
const SECRET_RANDOM_CHARS: usize = 43;
/// Characters of the secret kept in clear as the token's `prefix`.
const DISPLAY_PREFIX_CHARS: usize = 12;
/// `last_used` is written at most this often per token.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);
/// Longest token name an admin may choose.
const MAX_NAME_CHARS: usize = 200;

impl IdentityService {
    /// Issues a token for a workspace. The secret is in this response only.
    /// Fails with RESET_IN_PROGRESS while a reset of the workspace is
    /// unfinished.
    pub async fn issue_scim_token(
        &self,
        request: IssueScimTokenRequest,
    ) -> Result<IssueScimTokenResponse, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        require_no_reset(&workspace)?;
        let (record, secret) = new_token(&workspace.id, request.name, request.ttl_seconds, now())?;
        let created = record.created;
        let event = workspace_event(
            &record.workspace_id,
            Payload::TokenIssued(TokenIssued {
                token_id: record.id.clone(),
                name: record.name.clone(),
                expires: record.expires.map(timestamp),
            }),
            created,
        );
        if !self.store.issue_token(&record, &[event]).await? {
            let workspace = self.require_workspace(&record.workspace_id).await?;
            require_no_reset(&workspace)?;
            // The reset finished between the insert and the read.
            return Err(ServiceError::ConcurrentChange(workspace.id));
        }
        self.outbox_signal.notify();
        tracing::info!(workspace_id = %record.workspace_id, token_id = %record.id, "scim token issued");

        Ok(IssueScimTokenResponse {
            token: Some(token_message(&record)),
            secret,
        })
    }

    /// Resolves a presented secret. Unknown, revoked and expired tokens all
    /// fail the same way, and a valid token of a workspace with SCIM off fails
    /// with [`ServiceError::ScimDisabled`].
    pub async fn authenticate_scim_token(
        &self,
        request: AuthenticateScimTokenRequest,
    ) -> Result<AuthenticateScimTokenResponse, ServiceError> {
        if !request.secret.starts_with(SECRET_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let digest = secret_digest(&request.secret);
        let cached = match &self.token_cache {
            Some(cache) => cache.get(&digest).await,
            None => None,
        };
        if let Some(cached) = cached {
            return Ok(AuthenticateScimTokenResponse {
                workspace_id: cached.workspace_id,
                token_id: cached.token_id,
                identity_provider: cached.identity_provider,
            });
        }
        let Some(found) = self.store.find_token(&digest).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        let token = found.token;

        // The lookup already matched the digest; the constant-time comparison
        // guards against an engine whose index comparison leaks timing.
        if !bool::from(token.digest.ct_eq(&digest)) {
            return Err(ServiceError::Unauthenticated);
        }
        let at = now();
        if token.revoked.is_some() {
            tracing::info!(workspace_id = %token.workspace_id, token_id = %token.id, "revoked scim token presented");
            return Err(ServiceError::Unauthenticated);
        }
        if token.expires.is_some_and(|expires| expires <= at) {
            tracing::info!(workspace_id = %token.workspace_id, token_id = %token.id, "expired scim token presented");
            return Err(ServiceError::Unauthenticated);
        }
        if !found.scim_enabled {
            return Err(ServiceError::ScimDisabled(token.workspace_id));
        }

        let stale_before = at - LAST_USED_RESOLUTION;
        if token
            .last_used
            .is_none_or(|last_used| last_used < stale_before)
        {
            // A failed bookkeeping write must not reject a valid token.
            if let Err(error) = self.store.touch_token(&token.id, at, stale_before).await {
                tracing::warn!(workspace_id = %token.workspace_id, token_id = %token.id, error = %error, "failed to record scim token use");
            }
        }

        let authenticated = Authenticated {
            workspace_id: token.workspace_id,
            token_id: token.id,
            identity_provider: found.identity_provider.unwrap_or_default(),
        };
        let valid_for = token.expires.map_or(Duration::MAX, |expires| expires - at);
        if let Some(cache) = &self.token_cache {
            let valid_for = valid_for.try_into().unwrap_or_default();
            cache.put(&digest, &authenticated, valid_for).await;
        }
        Ok(AuthenticateScimTokenResponse {
            workspace_id: authenticated.workspace_id,
            token_id: authenticated.token_id,
            identity_provider: authenticated.identity_provider,
        })
    }
}

/// Builds a token record and its secret. `ttl_seconds` 0 means the token
/// does not expire.
pub(crate) fn new_token(
    workspace_id: &str,
    name: String,
    ttl_seconds: i64,
    created: OffsetDateTime,
) -> Result<(TokenRecord, String), ServiceError> {
    if ttl_seconds < 0 {
        return Err(ServiceError::invalid(
            "ttl_seconds",
            "must be 0 (no expiry) or a positive number of seconds",
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let expires = match ttl_seconds {
        0 => None,
        ttl => Some(
            created
                .checked_add(Duration::seconds(ttl))
                .ok_or_else(|| ServiceError::invalid("ttl_seconds", "lifetime is too large"))?,
        ),
    };

    let secret = generate_secret();
    let record = TokenRecord {
        id: Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        name,
        prefix: secret.chars().take(DISPLAY_PREFIX_CHARS).collect(),
        digest: secret_digest(&secret),
        created,
        last_used: None,
        expires,
        revoked: None,
    };
    Ok((record, secret))
}

/// Generates `scim_` followed by 43 alphanumeric characters from the thread's
/// cryptographically secure generator.
pub fn generate_secret() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{SECRET_PREFIX}{random}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_has_marker_and_length() {
        let secret = generate_secret();

        assert!(secret.starts_with("scim_"));
        assert_eq!(secret.len(), 5 + 43);
    }

    #[test]
    fn secrets_differ() {
        assert_ne!(generate_secret(), generate_secret());
    }

    #[test]
    fn digest_is_sha256() {
        let digest = secret_digest("abc");

        assert_eq!(digest[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
