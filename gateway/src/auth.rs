//! Bearer token authentication and per-workspace rate limiting for the SCIM
//! routes.

use axum::{
    extract::{ConnectInfo, Path, Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use plumbing::{ratelimit::Decision, request_target::ClientAddr, token_cache};
use proto::identity::v1::{AuthenticateScimTokenRequest, AuthenticateScimTokenResponse};
use serde::Deserialize;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    AppState,
    error::{ApiError, REASON_SCIM_DISABLED},
};

/// The workspace and token a request was authenticated as. Handlers read it
/// from the request extensions.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub workspace_id: String,
    pub token_id: String,
}

#[derive(Debug, Deserialize)]
pub struct WorkspacePath {
    workspace_id: String,
}

/// Authenticates the bearer token, checks that it belongs to the workspace
/// named in the path, then applies the workspace's rate limit.
///
/// Failed authentications count against a separate limit per client
/// address, so a flood of bad tokens from one client gets 429 without using
/// up the workspace's own limit, which only authenticated requests consume.
pub async fn authenticate(
    State(state): State<AppState>,
    Path(path): Path<WorkspacePath>,
    mut request: Request,
    next: Next,
) -> Response {
    let workspace_id = path.workspace_id;
    plumbing::http::record_workspace_id(&workspace_id);
    let client = client_key(&request);

    let Some(secret) = bearer_token(request.headers()) else {
        return reject_unauthenticated(&state, &client, &workspace_id, "missing_token").await;
    };

    let tenant = match cached_authentication(&state, secret).await {
        Some(tenant) => Ok(tenant),
        None => {
            let mut tokens = state.tokens.clone();
            tokens
                .authenticate_scim_token(AuthenticateScimTokenRequest {
                    secret: secret.to_owned(),
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let tenant = match tenant {
        Ok(tenant) => tenant,
        Err(status) if status.code() == Code::Unauthenticated => {
            return reject_unauthenticated(&state, &client, &workspace_id, "invalid_token").await;
        }
        Err(status) if status.code() == Code::FailedPrecondition => {
            return precondition_response(&state, &status, &workspace_id);
        }
        Err(status) => return ApiError::from_status(&status, "Workspace").into_response(),
    };

    // A token reaches its own workspace only, and the response for another
    // workspace is the same as for an unknown token.
    if tenant.workspace_id != workspace_id {
        return reject_unauthenticated(&state, &client, &workspace_id, "wrong_workspace").await;
    }

    if let Decision::Limited { retry_after } = state.limiter.check(&workspace_id).await {
        metrics::counter!("scim_rejected_requests_total", "reason" => "rate_limited").increment(1);
        return ApiError::too_many_requests(retry_after.as_secs_f64().ceil() as u64)
            .into_response();
    }

    let actor = plumbing::actor::scim_token(&tenant.token_id, &tenant.identity_provider);
    request.extensions_mut().insert(Tenant {
        workspace_id: tenant.workspace_id,
        token_id: tenant.token_id,
    });
    plumbing::actor::with_actor(actor, next.run(request)).await
}

/// Returns the authentication identity-svc cached for `secret`, if any.
async fn cached_authentication(
    state: &AppState,
    secret: &str,
) -> Option<AuthenticateScimTokenResponse> {
    let cache = state.token_cache.as_ref()?;
    let cached = cache.get(&token_cache::secret_digest(secret)).await?;
    Some(AuthenticateScimTokenResponse {
        workspace_id: cached.workspace_id,
        token_id: cached.token_id,
        identity_provider: cached.identity_provider,
    })
}

/// Answers a token that is valid but fails a precondition. SCIM_DISABLED is
/// the 403 of a disabled workspace, but only for the token's own workspace:
/// elsewhere the token is as unknown as any other, so the answer does not
/// reveal that it is valid.
fn precondition_response(state: &AppState, status: &tonic::Status, workspace_id: &str) -> Response {
    let details = status.get_error_details();
    let disabled_workspace = details
        .error_info()
        .filter(|info| info.reason == REASON_SCIM_DISABLED)
        .map(|info| {
            info.metadata
                .get("workspace_id")
                .cloned()
                .unwrap_or_default()
        });
    match disabled_workspace {
        Some(token_workspace) if token_workspace == workspace_id => {
            metrics::counter!("scim_rejected_requests_total", "reason" => "scim_disabled")
                .increment(1);
            state.rejections.record(workspace_id, "scim_disabled");
            ApiError::scim_disabled().into_response()
        }
        Some(_) => {
            metrics::counter!("scim_rejected_requests_total", "reason" => "wrong_workspace")
                .increment(1);
            state.rejections.record(workspace_id, "wrong_workspace");
            ApiError::unauthorized().into_response()
        }
        None => ApiError::from_status(status, "Workspace").into_response(),
    }
}

/// Returns the rate-limit key of the request's client: its IP address, or
/// `unknown` when the server was not started with connection info.
fn client_key(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.0.ip().to_string())
}

/// Responds to a failed authentication with 401, or with 429 once the client has
/// failed more often than its limit allows, and counts it by `reason`.
async fn reject_unauthenticated(
    state: &AppState,
    client: &str,
    workspace_id: &str,
    reason: &'static str,
) -> Response {
    metrics::counter!("scim_rejected_requests_total", "reason" => reason).increment(1);
    state.rejections.record(workspace_id, reason);
    if let Decision::Limited { retry_after } = state.auth_failures.check(client).await {
        metrics::counter!("scim_rejected_requests_total", "reason" => "auth_failures_limited")
            .increment(1);
        return ApiError::too_many_requests(retry_after.as_secs_f64().ceil() as u64)
            .into_response();
    }
    ApiError::unauthorized().into_response()
}

/// Extracts the token from a single `Authorization: Bearer <token>` header.
/// The scheme name is case-insensitive (RFC 7235 section 2.1); a missing,
/// repeated, empty or non-Bearer header yields `None`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }

    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_start_matches(' ');
    let well_formed =
        !token.is_empty() && !token.contains(|c: char| c.is_whitespace() || c.is_control());
    well_formed.then_some(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn bearer_scheme_ignores_case() {
        assert_eq!(bearer_token(&headers(&["bearer abc"])), Some("abc"));
    }

    #[test]
    fn empty_bearer_is_rejected() {
        assert_eq!(bearer_token(&headers(&["Bearer "])), None);
        assert_eq!(bearer_token(&headers(&["Bearer    "])), None);
    }

    #[test]
    fn basic_scheme_is_rejected() {
        assert_eq!(bearer_token(&headers(&["Basic YWJjOmRlZg=="])), None);
    }

    #[test]
    fn two_authorization_headers_are_rejected() {
        assert_eq!(bearer_token(&headers(&["Bearer a", "Bearer b"])), None);
    }

    #[test]
    fn token_with_inner_space_is_rejected() {
        assert_eq!(bearer_token(&headers(&["Bearer a b"])), None);
    }

    #[test]
    fn missing_header_is_rejected() {
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
