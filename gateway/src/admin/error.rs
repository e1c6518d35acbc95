//! JSON errors of the admin API, mapped once from gRPC statuses.
//!
//! The body is `{"status", "code", "message"}`, plus `reason` for a failed
//! precondition, `field` for an invalid value and `pending_steps` for an
//! unfinished reset. Messages written for admins by identity-svc (field
//! violations, precondition descriptions) pass through; other service text
//! stays in the log.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

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

    /// Maps a gRPC status from identity-svc.
    pub fn from_status(status: &tonic::Status) -> Self {
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
                tracing::warn!(code = ?status.code(), "identity-svc call failed");
                let mut error = Self::new(
                    503,
                    "unavailable",
                    "The identity service is temporarily unavailable; retry later.",
                );
                error.0.retry_after_seconds = Some(1);
                error
            }
            _ => {
                tracing::error!(code = ?status.code(), message = status.message(), "identity-svc call failed");
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
