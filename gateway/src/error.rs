//! Maps every failure the gateway meets to an RFC 7644 section 3.12 error
//! response, once, at the HTTP edge.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use scim_protocol::error::{ScimError, ScimType};
use tonic::Code;
use tonic_types::StatusExt;

use crate::SCIM_CONTENT_TYPE;

/// `ErrorInfo.reason` identity-svc sends when a valid token's workspace has
/// SCIM turned off; its metadata `workspace_id` names that workspace.
pub const REASON_SCIM_DISABLED: &str = "SCIM_DISABLED";

/// A SCIM error on its way to the client, with the headers some errors need.
#[derive(Debug)]
pub struct ApiError {
    pub error: ScimError,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            error: ScimError {
                status,
                scim_type,
                detail: detail.into(),
            },
            retry_after_seconds: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            None,
            "Authentication failed: send a valid bearer token for this workspace.",
        )
    }

    pub fn not_found(resource: &str, id: &str) -> Self {
        Self::new(404, None, format!("{resource} {id} not found."))
    }

    pub fn version_mismatch() -> Self {
        Self::new(
            412,
            None,
            "The resource changed since the version in If-Match; read it again and retry.",
        )
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(retry_after_seconds.max(1)),
            ..Self::new(
                429,
                None,
                "Too many requests for this workspace; retry after the delay in Retry-After.",
            )
        }
    }

    pub fn unavailable() -> Self {
        Self::new(
            503,
            None,
            "The service is temporarily unavailable; retry later.",
        )
    }

    pub fn internal() -> Self {
        Self::new(500, None, "An internal error occurred.")
    }

    /// Maps a gRPC status from a service. Details written for end users
    /// (field violations) pass through; any other text stays in the log.
    pub fn from_status(status: &tonic::Status, resource: &str) -> Self {
        match status.code() {
            Code::NotFound => Self::new(404, None, format!("{resource} not found.")),
            Code::AlreadyExists => Self::new(
                409,
                Some(ScimType::Uniqueness),
                format!(
                    "A {resource} with the same unique attribute already exists in this workspace."
                ),
            ),
            Code::InvalidArgument => Self::invalid_argument(status),
            Code::Aborted => Self::version_mismatch(),
            Code::Unauthenticated => Self::unauthorized(),
            Code::FailedPrecondition => Self::failed_precondition(status),
            Code::ResourceExhausted => Self::too_many_requests(1),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                tracing::warn!(code = ?status.code(), "service call failed");
                Self::unavailable()
            }
            _ => {
                tracing::error!(code = ?status.code(), message = status.message(), "service call failed");
                Self::internal()
            }
        }
    }

    /// Returns the 403 of every SCIM request to a workspace with SCIM off.
    pub fn scim_disabled() -> Self {
        Self::new(
            403,
            None,
            "SCIM provisioning is disabled for this workspace; a workspace admin can enable it again.",
        )
    }

    /// Maps FAILED_PRECONDITION: reason SCIM_DISABLED is the 403 of a
    /// disabled workspace; any other precondition is a 409 with the
    /// description the service wrote for it.
    fn failed_precondition(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        if details
            .error_info()
            .is_some_and(|info| info.reason == REASON_SCIM_DISABLED)
        {
            return Self::scim_disabled();
        }
        let description = details
            .precondition_failure()
            .and_then(|failure| failure.violations.first())
            .map(|violation| violation.description.clone());
        tracing::info!(
            message = status.message(),
            "service reported a failed precondition"
        );
        match description {
            Some(description) => Self::new(409, None, description),
            None => Self::new(
                409,
                None,
                "The request conflicts with the workspace's current state.",
            ),
        }
    }

    fn invalid_argument(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let violation = details
            .bad_request()
            .and_then(|bad_request| bad_request.field_violations.first().cloned());
        match violation {
            Some(violation) => Self::new(
                400,
                Some(ScimType::InvalidValue),
                format!(
                    "Invalid value for {}: {}",
                    violation.field, violation.description
                ),
            ),
            None => Self::new(
                400,
                Some(ScimType::InvalidValue),
                "The request contains an invalid value.",
            ),
        }
    }
}

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> Self {
        Self {
            error,
            retry_after_seconds: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.error.to_json().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The unread rest of the body is not drained, so the connection
            // cannot carry another request.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
