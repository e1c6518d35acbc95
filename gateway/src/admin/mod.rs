//! Admin HTTP API under `/admin/v1/workspaces/{workspace_id}/...`: a
//! workspace's SCIM switches, setup, tokens, domains, users created
//! outside SCIM, roles and IdP group mappings, User Groups and their sync
//! from IdP groups, and the audit trail, as JSON. Callers authenticate with a platform-signed JWT
//! (see [`jwt`]); SCIM bearer tokens are never accepted here, and admin
//! tokens are never accepted on SCIM routes. docs/admin-api.md lists the
//! routes and their bodies.

mod audit;
mod directory;
pub mod error;
pub mod jwks;
pub mod jwt;
mod roles;
mod settings;
mod sync;
mod tokens;
mod user_groups;
mod views;

use std::{collections::HashMap, sync::Arc};

use axum::{
    Router,
    extract::{Path, Request, State, rejection::QueryRejection},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use plumbing::grpc::TracedChannel;
use proto::{
    audit::v1::audit_service_client::AuditServiceClient,
    groups::v1::user_group_service_client::UserGroupServiceClient,
    identity::v1::workspace_service_client::WorkspaceServiceClient,
    rbac::v1::{
        role_admin_service_client::RoleAdminServiceClient, role_service_client::RoleServiceClient,
    },
};
use serde::de::DeserializeOwned;

use self::{error::AdminError, jwt::AdminVerifier};
use crate::{AppState, MAX_GRPC_MESSAGE_BYTES, auth::bearer_token};

/// Settings of admin token verification. `Debug` leaves the key out.
#[derive(Clone, Default, clap::Args)]
pub struct AdminAuthConfig {
    /// Shared secret of HS256 admin tokens, at least 32 bytes of UTF-8.
    /// With neither this nor --admin-jwt-jwks, the launcher generates a key
    /// in the data directory on first start.
    #[arg(long, env = "ADMIN_JWT_HS256_KEY", hide_env_values = true)]
    pub admin_jwt_hs256_key: Option<String>,

    /// JWKS with the RS256 public keys of admin tokens: a file path, or an
    /// http(s) URL read at start and again for an unknown key id.
    #[arg(long, env = "ADMIN_JWT_JWKS")]
    pub admin_jwt_jwks: Option<String>,
}

impl std::fmt::Debug for AdminAuthConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AdminAuthConfig")
            .field(
                "admin_jwt_hs256_key",
                &self.admin_jwt_hs256_key.as_ref().map(|_| "<redacted>"),
            )
            .field("admin_jwt_jwks", &self.admin_jwt_jwks)
            .finish()
    }
}

/// Clients and the token verifier of the admin API.
#[derive(Clone)]
pub struct AdminState {
    inner: Arc<AdminInner>,
}

struct AdminInner {
    app: AppState,
    workspaces: WorkspaceServiceClient<TracedChannel>,
    user_groups: UserGroupServiceClient<TracedChannel>,
    role_admin: RoleAdminServiceClient<TracedChannel>,
    roles: RoleServiceClient<TracedChannel>,
    audit: AuditServiceClient<TracedChannel>,
    verifier: AdminVerifier,
}

impl AdminState {
    /// Builds the state from the SCIM state (for identity-svc clients and
    /// the public URL), channels to identity-svc, groups-svc, rbac-svc and
    /// audit-svc, and the verifier.
    pub fn new(
        app: AppState,
        identity: TracedChannel,
        groups: TracedChannel,
        rbac: TracedChannel,
        audit: TracedChannel,
        verifier: AdminVerifier,
    ) -> Self {
        Self {
            inner: Arc::new(AdminInner {
                app,
                workspaces: WorkspaceServiceClient::new(identity),
                user_groups: UserGroupServiceClient::new(groups),
                role_admin: RoleAdminServiceClient::new(rbac.clone()),
                roles: RoleServiceClient::new(rbac),
                // A page of 1,000 events, or an export chunk of as many,
                // can exceed tonic's default limit of 4 MiB.
                audit: AuditServiceClient::new(audit)
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES),
                verifier,
            }),
        }
    }

    fn app(&self) -> &AppState {
        &self.inner.app
    }

    fn workspaces(&self) -> WorkspaceServiceClient<TracedChannel> {
        self.inner.workspaces.clone()
    }

    fn user_groups(&self) -> UserGroupServiceClient<TracedChannel> {
        self.inner.user_groups.clone()
    }

    fn role_admin(&self) -> RoleAdminServiceClient<TracedChannel> {
        self.inner.role_admin.clone()
    }

    fn roles(&self) -> RoleServiceClient<TracedChannel> {
        self.inner.roles.clone()
    }

    fn audit(&self) -> AuditServiceClient<TracedChannel> {
        self.inner.audit.clone()
    }
}

/// Builds the admin router, served under `/admin/v1`.
pub fn router(state: AdminState) -> Router {
    let workspace = Router::new()
        .route("/", get(settings::show).fallback(method_not_allowed))
        .route(
            "/scim/enable",
            post(settings::enable).fallback(method_not_allowed),
        )
        .route(
            "/scim/disable",
            post(settings::disable).fallback(method_not_allowed),
        )
        .route(
            "/scim/reset",
            post(settings::reset).fallback(method_not_allowed),
        )
        .route(
            "/scim/setup",
            put(settings::setup).fallback(method_not_allowed),
        )
        .route(
            "/scim/tokens",
            get(tokens::list)
                .post(tokens::issue)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/tokens/{token_id}",
            delete(tokens::revoke).fallback(method_not_allowed),
        )
        .route(
            "/scim/tokens/{token_id}/rotate",
            post(tokens::rotate).fallback(method_not_allowed),
        )
        .route(
            "/domains",
            get(directory::list_domains)
                .post(directory::add_domain)
                .fallback(method_not_allowed),
        )
        .route(
            "/domains/{domain}",
            delete(directory::remove_domain).fallback(method_not_allowed),
        )
        .route(
            "/users",
            post(directory::create_user).fallback(method_not_allowed),
        )
        .route(
            "/users/{user_id}",
            get(directory::get_user).fallback(method_not_allowed),
        )
        .route(
            "/users/{user_id}/role",
            get(roles::user_role)
                .put(roles::set_user_role)
                .fallback(method_not_allowed),
        )
        .route("/roles", get(roles::list).fallback(method_not_allowed))
        .route(
            "/roles/default",
            put(roles::set_default).fallback(method_not_allowed),
        )
        .route(
            "/mappings",
            get(roles::list_mappings).fallback(method_not_allowed),
        )
        .route(
            "/mappings/preview",
            post(roles::preview).fallback(method_not_allowed),
        )
        .route(
            "/mappings/{group_id}",
            put(roles::set_mapping)
                .delete(roles::remove_mapping)
                .fallback(method_not_allowed),
        )
        .route("/sync", get(sync::list).fallback(method_not_allowed))
        .route(
            "/sync/{group_id}",
            put(sync::switch_on)
                .delete(sync::switch_off)
                .fallback(method_not_allowed),
        )
        .route(
            "/user-groups",
            get(user_groups::list)
                .post(user_groups::create)
                .fallback(method_not_allowed),
        )
        .route(
            "/user-groups/{user_group_id}",
            get(user_groups::show)
                .delete(user_groups::delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/user-groups/{user_group_id}/members",
            get(user_groups::members).fallback(method_not_allowed),
        )
        .route(
            "/user-groups/{user_group_id}/members/{user_id}",
            put(user_groups::add_member)
                .delete(user_groups::remove_member)
                .fallback(method_not_allowed),
        )
        .route(
            "/audit/events",
            get(audit::list).fallback(method_not_allowed),
        )
        .route(
            "/audit/export",
            get(audit::export).fallback(method_not_allowed),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state);

    let api = Router::new()
        .nest("/workspaces/{workspace_id}", workspace)
        .fallback(not_found);
    Router::new().nest("/admin/v1", api)
}

/// Verifies the admin token and that it grants the admin role for the
/// workspace in the path: 401 for a missing, invalid or expired token, 403
/// for a valid token of another role or workspace. The accepted token's
/// [`AdminClaims`](jwt::AdminClaims) go into the request's extensions, and
/// the rest of the request runs with the token's subject as its actor.
async fn authorize(
    State(state): State<AdminState>,
    Path(path): Path<HashMap<String, String>>,
    mut request: Request,
    next: Next,
) -> Response {
    let workspace_id = path.get("workspace_id").cloned().unwrap_or_default();
    plumbing::http::record_workspace_id(&workspace_id);

    let Some(token) = bearer_token(request.headers()) else {
        metrics::counter!("admin_rejected_requests_total", "reason" => "missing_token")
            .increment(1);
        return AdminError::unauthorized().into_response();
    };
    let claims = match state.inner.verifier.verify(token).await {
        Ok(claims) => claims,
        Err(error) => {
            metrics::counter!("admin_rejected_requests_total", "reason" => "invalid_token")
                .increment(1);
            tracing::info!(workspace_id = %workspace_id, error = %error, "admin token rejected");
            return AdminError::unauthorized().into_response();
        }
    };
    if !claims.may_administer(&workspace_id) {
        metrics::counter!("admin_rejected_requests_total", "reason" => "forbidden").increment(1);
        tracing::info!(workspace_id = %workspace_id, "admin token lacks the admin role for this workspace");
        return AdminError::forbidden().into_response();
    }
    // Every service call of the request carries the admin as its actor, so
    // the events the services write name who made the change.
    let actor = plumbing::actor::admin(&claims.sub);
    request.extensions_mut().insert(claims);
    plumbing::actor::with_actor(actor, next.run(request)).await
}

/// Parses a JSON request body; an empty body is `T::default()`.
fn parse_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        AdminError::new(
            400,
            "invalid_argument",
            format!("The request body is not valid: {error}."),
        )
    })
}

/// Largest `page_size` of the paged routes, which is also the largest
/// groups-svc, rbac-svc and audit-svc accept.
pub const MAX_PAGE_SIZE: i32 = 1_000;

/// Parses a `page_size` query parameter, 1 to [`MAX_PAGE_SIZE`]. Absent is
/// 0, which selects the service's default.
fn page_size(text: Option<&str>) -> Result<i32, AdminError> {
    let Some(text) = text else {
        return Ok(0);
    };
    match text.parse::<i32>() {
        Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(size),
        _ => Err(AdminError::invalid(
            "page_size",
            format!("Invalid page_size {text:?}: use a whole number from 1 to {MAX_PAGE_SIZE}."),
        )),
    }
}

/// Returns the 400 of a query string that does not parse, such as one with
/// an unknown parameter, listing the route's `parameters`.
fn query_rejected(rejection: &QueryRejection, parameters: &str) -> AdminError {
    AdminError::new(
        400,
        "invalid_argument",
        format!(
            "The query string is not valid: {}. The parameters are {parameters}.",
            rejection.body_text()
        ),
    )
}

/// Maps the empty string, which proto3 uses for "none", to `None`.
fn non_empty(value: String) -> Option<String> {
    if value.is_empty() { None } else { Some(value) }
}

async fn not_found() -> AdminError {
    AdminError::new(
        404,
        "not_found",
        "No such endpoint. Admin endpoints are under /admin/v1/workspaces/{workspace_id}/.",
    )
}

async fn method_not_allowed() -> AdminError {
    AdminError::new(
        405,
        "method_not_allowed",
        "This method is not supported on this endpoint.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_key() {
        let config = AdminAuthConfig {
            admin_jwt_hs256_key: Some("super-secret-admin-key-0123456789".to_owned()),
            admin_jwt_jwks: None,
        };

        let printed = format!("{config:?}");

        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn empty_body_is_default() {
        let parsed: Result<settings::SetupBody, _> = parse_body(b" \n");

        assert!(parsed.is_ok());
    }

    #[test]
    fn unknown_body_field_rejected() {
        let parsed: Result<tokens::IssueBody, _> = parse_body(br#"{"nmae": "typo"}"#);

        let error = parsed.unwrap_err();
        assert_eq!(error.body().status, 400);
        assert!(
            error.body().message.contains("nmae"),
            "{}",
            error.body().message
        );
    }
}
