//! SCIM 2.0 HTTP gateway. It authenticates workspace bearer tokens, parses
//! SCIM requests with `scim-protocol`, calls the services over gRPC and
//! composes SCIM responses. It keeps nothing durable.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod auth;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod groups;
pub mod json;
pub mod list;
pub mod mapping;
pub mod rejections;
pub mod request;
pub mod search;
pub mod users;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderMap, header},
    middleware,
    routing::{get, post},
};
use plumbing::grpc::TracedChannel;
use plumbing::ratelimit::RateLimiter;
use plumbing::token_cache::TokenCache;
use proto::{
    groups::v1::{
        group_service_client::GroupServiceClient,
        membership_service_client::MembershipServiceClient,
    },
    identity::v1::{
        token_service_client::TokenServiceClient, user_service_client::UserServiceClient,
    },
};

use crate::error::ApiError;

/// Content type of every SCIM response (RFC 7644 section 3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Largest gRPC message the gateway sends or accepts, in bytes: a page of
/// 1,000 users at their size limit, or a group PATCH of 10,000 members, fits.
pub const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Gateway settings that shape SCIM responses.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "SCIM_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Page size of a list without `count`.
    #[arg(long, env = "SCIM_DEFAULT_PAGE_SIZE", default_value_t = 100)]
    pub default_page_size: i64,

    /// Largest page a list returns; a larger `count` is lowered to it.
    #[arg(long, env = "SCIM_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: i64,

    /// Base URL clients reach the gateway at, used in `Location` and
    /// `meta.location`, such as `https://scim.example.com`. When unset, it is
    /// built from the request's `Host` header over plain HTTP.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Failed SCIM authentications allowed per client address, per second.
    /// Past this rate and the burst, that client gets 429, and other clients
    /// and the workspace's own identity provider are unaffected.
    #[arg(long, env = "AUTH_FAILURES_PER_SECOND", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failures_per_second: u32,

    /// Failed SCIM authentications a client may make at once before the
    /// per-second limit applies.
    #[arg(long, env = "AUTH_FAILURE_BURST", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_burst: u32,

    /// Deadline of each gRPC call to a service.
    #[arg(long, env = "GRPC_TIMEOUT", default_value = "10s", value_parser = plumbing::config::parse_duration)]
    pub grpc_timeout: Duration,
}

/// gRPC clients and settings shared by every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub tokens: TokenServiceClient<TracedChannel>,
    pub users: UserServiceClient<TracedChannel>,
    pub groups: GroupServiceClient<TracedChannel>,
    pub memberships: MembershipServiceClient<TracedChannel>,
    pub limiter: RateLimiter,
    pub auth_failures: RateLimiter,
    pub settings: GatewayConfig,
    /// Rejected requests, reported to audit-svc once a minute by
    /// [`rejections::RejectionCounter::run_reporter`].
    pub rejections: rejections::RejectionCounter,
    /// Token authentications cached by identity-svc, read before asking it:
    /// the process's own cache when identity-svc runs here, else Redis.
    /// `None` without either, because identity-svc could not fill it.
    pub token_cache: Option<TokenCache>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl AppState {
    /// Builds the state from channels to identity-svc and groups-svc.
    pub fn new(
        identity: TracedChannel,
        groups: TracedChannel,
        limiter: RateLimiter,
        auth_failures: RateLimiter,
        token_cache: Option<TokenCache>,
        settings: GatewayConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                tokens: TokenServiceClient::new(identity.clone()),
                users: UserServiceClient::new(identity)
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES),
                groups: GroupServiceClient::new(groups.clone())
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES),
                memberships: MembershipServiceClient::new(groups),
                limiter,
                auth_failures,
                settings,
                rejections: rejections::RejectionCounter::new(),
                token_cache,
            }),
        }
    }

    /// Returns the workspace's SCIM base URL, without a trailing slash.
    pub fn base_url(&self, headers: &HeaderMap, workspace_id: &str) -> String {
        let origin = match &self.settings.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        format!("{origin}/scim/v2/{workspace_id}")
    }

    /// Returns the URL of one user.
    pub fn location(&self, headers: &HeaderMap, workspace_id: &str, user_id: &str) -> String {
        format!("{}/Users/{user_id}", self.base_url(headers, workspace_id))
    }
}

/// Builds the SCIM router, served under `/scim/v2/{workspace_id}`.
pub fn router(state: AppState) -> Router {
    let read_only = || axum::routing::any(discovery::method_not_allowed);
    let scim = Router::new()
        .route("/.search", post(search::search))
        .route(
            "/Users",
            get(users::list)
                .post(users::create)
                .fallback(discovery::method_not_allowed),
        )
        .route("/Users/.search", post(users::search))
        .route(
            "/Users/{user_id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete)
                .fallback(discovery::method_not_allowed),
        )
        .route(
            "/Groups",
            get(groups::list)
                .post(groups::create)
                .fallback(discovery::method_not_allowed),
        )
        .route("/Groups/.search", post(groups::search))
        .route(
            "/Groups/{group_id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete)
                .fallback(discovery::method_not_allowed),
        )
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(discovery::method_not_allowed),
        )
        .route(
            "/Schemas",
            get(discovery::schemas).fallback(discovery::method_not_allowed),
        )
        .route(
            "/Schemas/{id}",
            get(discovery::schema_by_id).fallback(discovery::method_not_allowed),
        )
        .route(
            "/ResourceTypes",
            get(discovery::resource_types).fallback(discovery::method_not_allowed),
        )
        .route(
            "/ResourceTypes/{id}",
            get(discovery::resource_type_by_id).fallback(discovery::method_not_allowed),
        )
        .route("/Bulk", read_only())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state);

    Router::new()
        .nest("/scim/v2/{workspace_id}", scim)
        .fallback(not_found)
}

/// Builds the SCIM router with the admin API (`/admin/v1/...`) beside it.
pub fn router_with_admin(state: AppState, admin: admin::AdminState) -> Router {
    router(state).merge(admin::router(admin))
}

async fn not_found() -> ApiError {
    ApiError::new(
        404,
        None,
        "No such endpoint. SCIM endpoints are under /scim/v2/{workspace_id}/.",
    )
}
