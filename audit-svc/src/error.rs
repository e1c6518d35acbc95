//! Errors of the storage and service layers, and their single mapping to
//! gRPC statuses with google.rpc error details.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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
            ServiceError::Store(store_error) => {
                tracing::error!(error = %store_error, "storage failed");
                Status::internal("internal storage error")
            }
        }
    }
}
