//! Handlers of SCIM tokens: list, issue, rotate and revoke. The secret of a
//! new token is in the issue or rotate response only, as `token`.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use proto::identity::v1::{
    IssueScimTokenRequest, ListScimTokensRequest, RevokeScimTokenRequest, RotateScimTokenRequest,
    ScimToken,
};
use serde::{Deserialize, Serialize};

use super::{AdminState, error::AdminError, parse_body, views::TokenView};

/// How long the old token keeps working after a rotation without
/// `overlap_seconds`: one hour, time to paste the new token into the
/// identity provider.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 3600;

/// Body of `POST .../scim/tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    #[serde(default)]
    name: String,
    /// Lifetime in seconds; absent or 0 means no expiry.
    #[serde(default)]
    expires_in_seconds: i64,
}

/// Body of `POST .../scim/tokens/{token_id}/rotate`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old token keeps working, in seconds.
    overlap_seconds: Option<i64>,
    /// Lifetime of the new token in seconds; absent or 0 means no expiry.
    #[serde(default)]
    expires_in_seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct TokenList {
    tokens: Vec<TokenView>,
}

/// A new token with its secret.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    /// The bearer secret, shown once.
    token: String,
    #[serde(flatten)]
    details: TokenView,
    /// The rotated token with its new expiry; only in rotate responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<TokenView>,
}

/// `GET .../scim/tokens`: the active tokens, newest first.
pub async fn list(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
) -> Result<Json<TokenList>, AdminError> {
    let response = state
        .app()
        .tokens
        .clone()
        .list_scim_tokens(ListScimTokensRequest {
            workspace_id,
            include_inactive: false,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    Ok(Json(TokenList {
        tokens: response.tokens.iter().map(TokenView::from).collect(),
    }))
}

/// `POST .../scim/tokens`.
pub async fn issue(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedToken>), AdminError> {
    let body: IssueBody = parse_body(&body)?;
    if body.expires_in_seconds < 0 {
        return Err(AdminError::invalid(
            "expires_in_seconds",
            "expires_in_seconds must be 0 (no expiry) or positive.",
        ));
    }
    let name = if body.name.trim().is_empty() {
        "scim".to_owned()
    } else {
        body.name.trim().to_owned()
    };

    let response = state
        .app()
        .tokens
        .clone()
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.clone(),
            name,
            ttl_seconds: body.expires_in_seconds,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    let token = response.token.ok_or_else(AdminError::internal)?;
    tracing::info!(workspace_id = %workspace_id, token_id = %token.id, "scim token issued through the admin api");
    Ok((
        StatusCode::CREATED,
        Json(issued(&token, response.secret, None)),
    ))
}

/// `POST .../scim/tokens/{token_id}/rotate`.
pub async fn rotate(
    State(state): State<AdminState>,
    Path((workspace_id, token_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedToken>), AdminError> {
    let body: RotateBody = parse_body(&body)?;
    let overlap_seconds = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    if overlap_seconds < 0 {
        return Err(AdminError::invalid(
            "overlap_seconds",
            "overlap_seconds must be 0 or positive.",
        ));
    }
    if body.expires_in_seconds < 0 {
        return Err(AdminError::invalid(
            "expires_in_seconds",
            "expires_in_seconds must be 0 (no expiry) or positive.",
        ));
    }

    let response = state
        .app()
        .tokens
        .clone()
        .rotate_scim_token(RotateScimTokenRequest {
            workspace_id: workspace_id.clone(),
            token_id,
            overlap_seconds,
            ttl_seconds: body.expires_in_seconds,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    let token = response.token.ok_or_else(AdminError::internal)?;
    let previous = response.previous.as_ref().map(TokenView::from);
    tracing::info!(workspace_id = %workspace_id, token_id = %token.id, "scim token rotated through the admin api");
    Ok((
        StatusCode::CREATED,
        Json(issued(&token, response.secret, previous)),
    ))
}

/// `DELETE .../scim/tokens/{token_id}`: revokes the token at once.
pub async fn revoke(
    State(state): State<AdminState>,
    Path((workspace_id, token_id)): Path<(String, String)>,
) -> Result<Json<TokenView>, AdminError> {
    let response = state
        .app()
        .tokens
        .clone()
        .revoke_scim_token(RevokeScimTokenRequest {
            workspace_id: workspace_id.clone(),
            token_id,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    let token = response.token.ok_or_else(AdminError::internal)?;
    tracing::info!(workspace_id = %workspace_id, token_id = %token.id, "scim token revoked through the admin api");
    Ok(Json(TokenView::from(&token)))
}

fn issued(token: &ScimToken, secret: String, previous: Option<TokenView>) -> IssuedToken {
    IssuedToken {
        token: secret,
        details: TokenView::from(token),
        previous,
    }
}
