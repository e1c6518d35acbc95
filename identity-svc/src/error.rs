//! Errors of the storage and service layers, and their single mapping to
//! gRPC statuses with google.rpc error details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "identity.v1";

/// `ErrorInfo.reason` when a folded `userName` is already taken.
pub const REASON_USER_NAME_TAKEN: &str = "USER_NAME_TAKEN";
/// `ErrorInfo.reason` when the stored version differs from the expected one.
pub const REASON_VERSION_MISMATCH: &str = "VERSION_MISMATCH";
/// `ErrorInfo.reason` when a token is valid but its workspace has SCIM off.
/// Its metadata `workspace_id` names the token's workspace.
pub const REASON_SCIM_DISABLED: &str = "SCIM_DISABLED";
/// `ErrorInfo.reason` when SCIM cannot be enabled because SAML SSO is off.
pub const REASON_SSO_NOT_ENABLED: &str = "SSO_NOT_ENABLED";
/// `ErrorInfo.reason` when SCIM cannot be enabled because the workspace's
/// plan does not include it.
pub const REASON_SCIM_NOT_ENTITLED: &str = "SCIM_NOT_ENTITLED";
/// `ErrorInfo.reason` when a change must wait for an unfinished reset.
pub const REASON_RESET_IN_PROGRESS: &str = "RESET_IN_PROGRESS";
/// `ErrorInfo.reason` when a revoked or expired token is rotated.
pub const REASON_TOKEN_INACTIVE: &str = "TOKEN_INACTIVE";
/// `ErrorInfo.reason` when a workspace kept changing under a write.
pub const REASON_CONCURRENT_CHANGE: &str = "CONCURRENT_CHANGE";

/// Failures of a storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write, e.g. a taken folded userName.
    #[error("unique constraint violated")]
    UniqueViolation,
    #[error("unsupported database URL scheme; use sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("stored row is invalid: {0}")]
    InvalidRow(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
                Self::UniqueViolation
            }
            _ => Self::Database(error),
        }
    }
}

/// Failures of an RPC, independent of the transport.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A request field is missing or invalid. `field` is the SCIM attribute
    /// or request field name a client can act on.
    #[error("invalid {field}: {description}")]
    InvalidArgument { field: String, description: String },
    #[error("workspace {0} not found")]
    WorkspaceNotFound(String),
    /// The user does not exist in the request's workspace. The message is
    /// the same whether the id is unknown or belongs to another workspace.
    #[error("user {0} not found")]
    UserNotFound(String),
    #[error("userName is already taken in this workspace")]
    UserNameTaken,
    #[error("version mismatch: the user changed since version {expected}")]
    VersionMismatch { expected: i64 },
    #[error("invalid, revoked or expired SCIM token")]
    Unauthenticated,
    #[error("SCIM is disabled for workspace {0}")]
    ScimDisabled(String),
    /// Prerequisites of the request are missing. Each violation is a
    /// PreconditionFailure type (also the ErrorInfo reason of the first)
    /// and its description; `subject` names what they are about.
    #[error("{}", .violations.iter().map(|(_, description)| description.as_str()).collect::<Vec<_>>().join(" "))]
    PreconditionFailed {
        subject: String,
        violations: Vec<(&'static str, String)>,
    },
    #[error("SCIM token {0} not found")]
    TokenNotFound(String),
    #[error("domain {0} is not one of the workspace's domains")]
    DomainNotFound(String),
    /// Other writers kept changing the workspace; the caller may retry.
    #[error("workspace {0} changed during the request; retry it")]
    ConcurrentChange(String),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// Builds an [`ServiceError::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            description: description.into(),
        }
    }

    /// Builds a [`ServiceError::PreconditionFailed`] with one violation
    /// about a workspace.
    pub fn precondition(
        reason: &'static str,
        workspace_id: &str,
        description: impl Into<String>,
    ) -> Self {
        Self::PreconditionFailed {
            subject: format!("workspaces/{workspace_id}"),
            violations: vec![(reason, description.into())],
        }
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        match error {
            ServiceError::InvalidArgument { field, description } => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, description),
            ),
            ServiceError::WorkspaceNotFound(_) | ServiceError::UserNotFound(_) => {
                Status::not_found(message)
            }
            ServiceError::UserNameTaken => {
                with_reason(Code::AlreadyExists, message, REASON_USER_NAME_TAKEN)
            }
            ServiceError::VersionMismatch { .. } => {
                with_reason(Code::Aborted, message, REASON_VERSION_MISMATCH)
            }
            ServiceError::Unauthenticated => Status::unauthenticated(message),
            ServiceError::ScimDisabled(workspace_id) => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_error_info(
                    REASON_SCIM_DISABLED,
                    ERROR_DOMAIN,
                    HashMap::from([("workspace_id".to_owned(), workspace_id)]),
                ),
            ),
            ServiceError::PreconditionFailed {
                subject,
                violations,
            } => {
                let reason = violations
                    .first()
                    .map_or("FAILED_PRECONDITION", |(reason, _)| *reason);
                let mut details =
                    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
                for (kind, description) in violations {
                    details.add_precondition_failure_violation(kind, subject.clone(), description);
                }
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            ServiceError::TokenNotFound(_) | ServiceError::DomainNotFound(_) => {
                Status::not_found(message)
            }
            ServiceError::ConcurrentChange(_) => {
                with_reason(Code::Aborted, message, REASON_CONCURRENT_CHANGE)
            }
            ServiceError::Store(store_error) => {
                // The current RPC span carries the workspace and user ids.
                tracing::error!(error = %store_error, "storage failed");
                Status::internal("internal storage error")
            }
        }
    }
}

fn with_reason(code: Code, message: String, reason: &str) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
    )
}
