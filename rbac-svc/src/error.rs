//! Errors of the storage and service layers, and their single mapping to
//! gRPC statuses with google.rpc error details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "rbac.v1";

pub const REASON_UNKNOWN_ROLE: &str = "UNKNOWN_ROLE";
pub const REASON_GROUP_NOT_FOUND: &str = "GROUP_NOT_FOUND";
pub const REASON_MAPPING_NOT_FOUND: &str = "MAPPING_NOT_FOUND";
pub const REASON_USER_NOT_FOUND: &str = "USER_NOT_FOUND";
pub const REASON_ROLE_MANAGED_BY_SCIM: &str = "ROLE_MANAGED_BY_SCIM";

/// Failures of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL scheme; use sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("stored row is invalid: {0}")]
    InvalidRow(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Failures of an RPC, independent of the transport.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A request field is missing or invalid.
    #[error("invalid {field}: {description}")]
    InvalidArgument { field: String, description: String },
    #[error("role {0:?} is not in this workspace's catalogue")]
    UnknownRole(String),
    /// The group is not known to the role service in this workspace.
    #[error("group {0} not found")]
    GroupNotFound(String),
    #[error("group {0} has no role mapping")]
    MappingNotFound(String),
    #[error("user {0} not found")]
    UserNotFound(String),
    #[error(
        "user {0} is managed by SCIM: its role comes from the identity provider's group mappings; \
         change the mapping or the user's groups instead"
    )]
    RoleManagedByScim(String),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(error))
    }
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
            ServiceError::UnknownRole(_) => {
                with_reason(Code::InvalidArgument, message, REASON_UNKNOWN_ROLE)
            }
            ServiceError::GroupNotFound(_) => {
                with_reason(Code::NotFound, message, REASON_GROUP_NOT_FOUND)
            }
            ServiceError::MappingNotFound(_) => {
                with_reason(Code::NotFound, message, REASON_MAPPING_NOT_FOUND)
            }
            ServiceError::UserNotFound(_) => {
                with_reason(Code::NotFound, message, REASON_USER_NOT_FOUND)
            }
            ServiceError::RoleManagedByScim(_) => with_reason(
                Code::FailedPrecondition,
                message,
                REASON_ROLE_MANAGED_BY_SCIM,
            ),
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
