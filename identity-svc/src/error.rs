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
pub const REASON_SCIM_DISABLED: &str = "SCIM_DISABLED";

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
            ServiceError::WorkspaceNotFound(_) | ServiceError::UserNotFound(_) => Status::not_found(message),
            ServiceError::UserNameTaken => with_reason(Code::AlreadyExists, message, REASON_USER_NAME_TAKEN),
            ServiceError::VersionMismatch { .. } => with_reason(Code::Aborted, message, REASON_VERSION_MISMATCH),
            ServiceError::Unauthenticated => Status::unauthenticated(message),
            ServiceError::ScimDisabled(_) => with_reason(Code::FailedPrecondition, message, REASON_SCIM_DISABLED),
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
