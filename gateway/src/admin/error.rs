//! JSON errors of the admin API, mapped once from gRPC statuses.
//!
//! The body is `{"status", "code", "message"}`, plus `reason` for a failed
//! precondition or a role service error, `field` for an invalid value and
//! `pending_steps` for an unfinished reset. Messages written for admins by
//! the services (field violations, precondition descriptions, not-found
//! messages) pass through; other service text stays in the log.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

/// `ErrorInfo.domain` of rbac-svc's errors.
const RBAC_ERROR_DOMAIN: &str = "rbac.v1";
/// `ErrorInfo.domain` of groups-svc's errors.
const GROUPS_ERROR_DOMAIN: &str = "groups.v1";
/// Reason of a change of a User Group synced from an IdP group.
pub const REASON_IDP_MANAGED: &str = "IDP_MANAGED";
/// Reason of a user id that is not a user of the workspace.
pub const REASON_USER_NOT_FOUND: &str = "USER_NOT_FOUND";
/// Reason of a role that is not in the workspace's catalogue.
pub const REASON_UNKNOWN_ROLE: &str = "UNKNOWN_ROLE";

/// The service behind a gRPC status, named in logs and in 503 messages.
#[derive(Debug, Clone, Copy)]
enum Upstream {
    Identity,
    Rbac,
    Audit,
    Groups,
}

impl Upstream {
    fn log_name(self) -> &'static str {
        match self {
            Self::Identity => "identity-svc",
            Self::Rbac => "rbac-svc",
            Self::Audit => "audit-svc",
            Self::Groups => "groups-svc",
        }
    }

    fn unavailable_message(self) -> &'static str {
        match self {
            Self::Identity => "The identity service is temporarily unavailable; retry later.",
            Self::Rbac => "The role service is temporarily unavailable; retry later.",
            Self::Audit => "The audit service is temporarily unavailable; retry later.",
            Self::Groups => "The groups service is temporarily unavailable; retry later.",
        }
    }
}

/// An admin API error on its way to the client. Boxed, so results that
/// carry it stay small.
#[derive(Debug, Clone)]
pub struct AdminError(Box<ErrorBody>);

/// The JSON body of an [`AdminError`].
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    /// The HTTP status, repeated in the body for clients that only keep it.
    pub status: u16,
    /// A stable machine-readable code, such as `failed_precondition`.
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_steps: Vec<String>,
    #[serde(skip)]
    retry_after_seconds: Option<u64>,
}

impl AdminError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorBody {
            status,
            code,
            message: message.into(),
            reason: None,
            field: None,
            pending_steps: Vec::new(),
            retry_after_seconds: None,
        }))
    }

    /// Returns the body, for callers and tests that inspect it.
    pub fn body(&self) -> &ErrorBody {
        &self.0
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "unauthenticated",
            "Authentication failed: send a valid, unexpired admin token as `Authorization: Bearer <jwt>`.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            403,
            "permission_denied",
            "This token does not grant the admin role for this workspace.",
        )
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(400, "invalid_argument", message);
        error.0.field = Some(field.to_owned());
        error
    }

    pub fn internal() -> Self {
        Self::new(500, "internal", "An internal error occurred.")
    }

    /// Returns a 503 for a reset that left `pending_steps`.
    pub fn reset_pending(message: String, pending_steps: Vec<String>) -> Self {
        let mut error = Self::new(503, "reset_pending", message);
        error.0.pending_steps = pending_steps;
        error.0.retry_after_seconds = Some(5);
        error
    }

    /// Sets `reason`, the stable name of the failed check.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.0.reason = Some(reason.to_owned());
        self
    }

    /// Names `field` as the invalid value of an `UNKNOWN_ROLE` error, for a
    /// request that sends the role under another name than `role`.
    pub fn with_role_field(mut self, field: &str) -> Self {
        if self.0.reason.as_deref() == Some(REASON_UNKNOWN_ROLE) {
            self.0.field = Some(field.to_owned());
        }
        self
    }

    /// Puts `context` before the message.
    pub fn with_context(mut self, context: &str) -> Self {
        self.0.message = format!("{context} {}", self.0.message);
        self
    }

    /// Maps a gRPC status from identity-svc.
    pub fn from_status(status: &tonic::Status) -> Self {
        Self::map_status(status, Upstream::Identity)
    }

    /// Maps a gRPC status from rbac-svc. Its error reasons become `reason`
    /// beside the usual status and code: `UNKNOWN_ROLE` is 400 on `role`,
    /// `GROUP_NOT_FOUND`, `MAPPING_NOT_FOUND` and `USER_NOT_FOUND` are 404,
    /// and `ROLE_MANAGED_BY_SCIM` is 409.
    pub fn from_rbac_status(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let Some(info) = details
            .error_info()
            .filter(|info| info.domain == RBAC_ERROR_DOMAIN)
        else {
            return Self::map_status(status, Upstream::Rbac);
        };
        let mut error = match info.reason.as_str() {
            REASON_UNKNOWN_ROLE => Self::invalid(
                "role",
                format!(
                    "{}. List the workspace's roles with `GET roles` or `scimctl roles list`.",
                    capitalize(status.message())
                ),
            ),
            "GROUP_NOT_FOUND" => Self::new(
                404,
                "not_found",
                format!(
                    "{}. The role service receives a group a moment after the identity provider creates it, so retry if the group is new.",
                    capitalize(status.message())
                ),
            ),
            "MAPPING_NOT_FOUND" | "USER_NOT_FOUND" => Self::new(
                404,
                "not_found",
                format!("{}.", capitalize(status.message())),
            ),
            "ROLE_MANAGED_BY_SCIM" => Self::new(
                409,
                "failed_precondition",
                "This user is managed by SCIM, so its role comes from the identity provider's group mappings. \
                 Map one of the user's groups to the role, or change the user's groups in the identity provider.",
            ),
            _ => return Self::map_status(status, Upstream::Rbac),
        };
        error.0.reason = Some(info.reason.clone());
        error
    }

    /// Maps a gRPC status from audit-svc. An invalid filter names the query
    /// parameter (`since`, `actor`) instead of the request field
    /// (`filter.since`, `filter.actor_id`).
    pub fn from_audit_status(status: &tonic::Status) -> Self {
        let mut error = Self::map_status(status, Upstream::Audit);
        if let Some(field) = error.0.field.take() {
            let parameter = match field.trim_start_matches("filter.") {
                "actor_id" => "actor",
                "target_id" => "target",
                other => other,
            };
            error.0.message = error.0.message.replace(&field, parameter);
            error.0.field = Some(parameter.to_owned());
        }
        error
    }

    /// Maps a gRPC status from groups-svc. Its error reasons become `reason`
    /// beside the usual status and code: `USER_GROUP_NOT_FOUND` and
    /// `GROUP_NOT_FOUND` are 404, and `IDP_MANAGED` and `SYNC_ALREADY_ON`
    /// are 409.
    pub fn from_groups_status(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let Some(info) = details
            .error_info()
            .filter(|info| info.domain == GROUPS_ERROR_DOMAIN)
        else {
            return Self::map_status(status, Upstream::Groups);
        };
        let mut error = match info.reason.as_str() {
            "USER_GROUP_NOT_FOUND" => Self::new(
                404,
                "not_found",
                format!(
                    "{}. List the workspace's User Groups with `GET user-groups` or `scimctl user-groups list`.",
                    capitalize(status.message())
                ),
            ),
            "GROUP_NOT_FOUND" => Self::new(
                404,
                "not_found",
                format!(
                    "{}. List the identity provider's groups with `GET sync` or `scimctl sync list`.",
                    capitalize(status.message())
                ),
            ),
            REASON_IDP_MANAGED => Self::new(
                409,
                "failed_precondition",
                "The identity provider manages this group: it is synced from an IdP group, so its name and members follow that group. \
                 Change the group's members in the identity provider, or switch its sync off, which deletes this User Group.",
            ),
            "SYNC_ALREADY_ON" => Self::new(
                409,
                "failed_precondition",
                "Sync is already on for this IdP group. `GET sync` or `scimctl sync list` shows its User Group.",
            ),
            _ => return Self::map_status(status, Upstream::Groups),
        };
        error.0.reason = Some(info.reason.clone());
        error
    }

    fn map_status(status: &tonic::Status, upstream: Upstream) -> Self {
        let details = status.get_error_details();
        match status.code() {
            Code::InvalidArgument => match details
                .bad_request()
                .and_then(|request| request.field_violations.first())
            {
                Some(violation) => Self::invalid(
                    &violation.field,
                    format!(
                        "Invalid value for {}: {}",
                        violation.field, violation.description
                    ),
                ),
                None => Self::new(
                    400,
                    "invalid_argument",
                    "The request contains an invalid value.",
                ),
            },
            Code::NotFound => Self::new(
                404,
                "not_found",
                format!("{}.", capitalize(status.message())),
            ),
            Code::AlreadyExists => Self::new(
                409,
                "already_exists",
                format!("{}.", capitalize(status.message())),
            ),
            Code::FailedPrecondition => {
                let mut error = Self::new(409, "failed_precondition", status.message());
                error.0.reason = details.error_info().map(|info| info.reason.clone());
                error
            }
            Code::Aborted => Self::new(
                409,
                "aborted",
                "The workspace changed during the request; retry it.",
            ),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                tracing::warn!(code = ?status.code(), service = upstream.log_name(), "service call failed");
                let mut error = Self::new(503, "unavailable", upstream.unavailable_message());
                error.0.retry_after_seconds = Some(1);
                error
            }
            _ => {
                tracing::error!(
                    code = ?status.code(),
                    message = status.message(),
                    service = upstream.log_name(),
                    "service call failed"
                );
                Self::internal()
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after_seconds;
        let mut response = (status, Json(*self.0)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"admin\""),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}
