//! Token administration: listing, rotation with an overlap window, and
//! revocation. Each change writes its event to the outbox in the same
//! transaction. Authentication reads the token row on every request, so a
//! revoked or expired token fails on the very next request.

use proto::events::v1::{TokenRevoked, TokenRotated, event::Payload};
use proto::identity::v1::{
    ListScimTokensRequest, ListScimTokensResponse, RevokeScimTokenRequest, RevokeScimTokenResponse,
    RotateScimTokenRequest, RotateScimTokenResponse,
};
use time::Duration;

use crate::{
    IdentityService,
    convert::{timestamp, token_message},
    error::{REASON_TOKEN_INACTIVE, ServiceError},
    now,
    outbox::workspace_event,
    scim_lifecycle::require_no_reset,
    store::{RotateOutcome, TokenRecord},
    tokens::new_token,
};

impl IdentityService {
    /// Lists a workspace's tokens, newest first: the active ones, or all
    /// of them with `include_inactive`.
    pub async fn list_scim_tokens(
        &self,
        request: ListScimTokensRequest,
    ) -> Result<ListScimTokensResponse, ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let at = now();
        let tokens = self
            .store
            .list_tokens(&request.workspace_id)
            .await?
            .iter()
            .filter(|token| request.include_inactive || is_active(token, at))
            .map(token_message)
            .collect();
        Ok(ListScimTokensResponse { tokens })
    }

    /// Issues a token named like the old one and makes the old one expire
    /// `overlap_seconds` from now, unless it expires sooner.
    pub async fn rotate_scim_token(
        &self,
        request: RotateScimTokenRequest,
    ) -> Result<RotateScimTokenResponse, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        require_no_reset(&workspace)?;
        if request.overlap_seconds < 0 {
            return Err(ServiceError::invalid(
                "overlap_seconds",
                "must be 0 or a positive number of seconds",
            ));
        }
        let previous = self
            .store
            .get_token(&workspace.id, &request.token_id)
            .await?
            .ok_or_else(|| ServiceError::TokenNotFound(request.token_id.clone()))?;

        let at = now();
        let overlap_end = at
            .checked_add(Duration::seconds(request.overlap_seconds))
            .ok_or_else(|| ServiceError::invalid("overlap_seconds", "overlap is too large"))?;
        let previous_expires = previous
            .expires
            .map_or(overlap_end, |expires| expires.min(overlap_end));
        let (token, secret) = new_token(
            &workspace.id,
            previous.name.clone(),
            request.ttl_seconds,
            at,
        )?;
        let event = workspace_event(
            &workspace.id,
            Payload::TokenRotated(TokenRotated {
                previous_token_id: previous.id.clone(),
                token_id: token.id.clone(),
                previous_expires: Some(timestamp(previous_expires)),
            }),
            at,
        );

        let outcome = self
            .store
            .rotate_token(&previous.id, previous_expires, at, &token, &[event])
            .await?;
        match outcome {
            RotateOutcome::Rotated => {}
            RotateOutcome::PreviousInactive => {
                return Err(ServiceError::precondition(
                    REASON_TOKEN_INACTIVE,
                    &workspace.id,
                    format!(
                        "SCIM token {} is revoked or expired; issue a new token instead.",
                        previous.id
                    ),
                ));
            }
            RotateOutcome::ResetInProgress => {
                let workspace = self.require_workspace(&workspace.id).await?;
                require_no_reset(&workspace)?;
                return Err(ServiceError::ConcurrentChange(workspace.id));
            }
        }
        self.withdraw_tokens(&[previous.digest]).await;
        self.outbox_signal.notify();
        tracing::info!(
            workspace_id = %workspace.id,
            token_id = %token.id,
            previous_token_id = %previous.id,
            overlap_seconds = request.overlap_seconds,
            "scim token rotated"
        );

        let previous = TokenRecord {
            expires: Some(previous_expires),
            ..previous
        };
        Ok(RotateScimTokenResponse {
            token: Some(token_message(&token)),
            secret,
            previous: Some(token_message(&previous)),
        })
    }

    /// Revokes a token at once. Revoking a revoked token changes nothing.
    pub async fn revoke_scim_token(
        &self,
        request: RevokeScimTokenRequest,
    ) -> Result<RevokeScimTokenResponse, ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let at = now();
        let event = workspace_event(
            &request.workspace_id,
            Payload::TokenRevoked(TokenRevoked {
                token_id: request.token_id.clone(),
            }),
            at,
        );
        let revoked = self
            .store
            .revoke_token_recorded(&request.workspace_id, &request.token_id, at, &event)
            .await?;
        if revoked {
            self.outbox_signal.notify();
            tracing::info!(workspace_id = %request.workspace_id, token_id = %request.token_id, "scim token revoked");
        }

        let token = self
            .store
            .get_token(&request.workspace_id, &request.token_id)
            .await?
            .ok_or_else(|| ServiceError::TokenNotFound(request.token_id.clone()))?;
        self.withdraw_tokens(&[token.digest]).await;
        Ok(RevokeScimTokenResponse {
            token: Some(token_message(&token)),
        })
    }
}

fn is_active(token: &TokenRecord, at: time::OffsetDateTime) -> bool {
    token.revoked.is_none() && token.expires.is_none_or(|expires| expires > at)
}
