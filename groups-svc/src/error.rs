//! Errors of the storage and service layers, and their single mapping to
//! gRPC statuses with google.rpc error details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "groups.v1";

/// `ErrorInfo.reason` when another group of the workspace has the same
/// folded displayName.
pub const REASON_DISPLAY_NAME_TAKEN: &str = "DISPLAY_NAME_TAKEN";
/// `ErrorInfo.reason` when the stored version differs from the expected one.
pub const REASON_VERSION_MISMATCH: &str = "VERSION_MISMATCH";
/// `ErrorInfo.reason` when the workspace has no IdP group with the id.
pub const REASON_GROUP_NOT_FOUND: &str = "GROUP_NOT_FOUND";
/// `ErrorInfo.reason` when the workspace has no User Group with the id.
pub const REASON_USER_GROUP_NOT_FOUND: &str = "USER_GROUP_NOT_FOUND";
/// `ErrorInfo.reason` when a request would change a User Group synced from
/// an IdP group, whose name and members only the identity provider sets.
pub const REASON_IDP_MANAGED: &str = "IDP_MANAGED";
/// `ErrorInfo.reason` when sync is switched on for an IdP group that
/// already syncs to a User Group.
pub const REASON_SYNC_ALREADY_ON: &str = "SYNC_ALREADY_ON";

/// Failures of a storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write, e.g. a taken folded displayName.
    #[error("unique constraint violated")]
    UniqueViolation,
    /// PostgreSQL aborted the transaction to break a deadlock or a
    /// serialization conflict; running it again may succeed.
    #[error("transaction aborted by a concurrent one: {0}")]
    Conflict(sqlx::Error),
    #[error("unsupported database URL scheme; use sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("stored row is invalid: {0}")]
    InvalidRow(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLSTATE of a detected deadlock.
const DEADLOCK_DETECTED: &str = "40P01";
/// SQLSTATE of a serialization failure.
const SERIALIZATION_FAILURE: &str = "40001";

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
                Self::UniqueViolation
            }
            sqlx::Error::Database(database_error)
                if matches!(
                    database_error.code().as_deref(),
                    Some(DEADLOCK_DETECTED | SERIALIZATION_FAILURE)
                ) =>
            {
                Self::Conflict(error)
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
    /// The group does not exist in the request's workspace. The message is
    /// the same whether the id is unknown or belongs to another workspace.
    #[error("group {0} not found")]
    GroupNotFound(String),
    /// The User Group does not exist in the request's workspace, with the
    /// same message for an unknown id and one of another workspace.
    #[error("user group {0} not found")]
    UserGroupNotFound(String),
    #[error(
        "user group {0} is synced from an IdP group, and the identity provider manages its name and members. To delete it, switch sync off for that IdP group"
    )]
    IdpManaged(String),
    #[error("sync is already on for group {0}")]
    SyncAlreadyOn(String),
    #[error("displayName is already taken in this workspace")]
    DisplayNameTaken,
    #[error("version mismatch: the group changed since version {expected}")]
    VersionMismatch { expected: i64 },
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
            ServiceError::GroupNotFound(group_id) => with_reason_and_metadata(
                Code::NotFound,
                message,
                REASON_GROUP_NOT_FOUND,
                [("group_id", group_id)],
            ),
            ServiceError::UserGroupNotFound(user_group_id) => with_reason_and_metadata(
                Code::NotFound,
                message,
                REASON_USER_GROUP_NOT_FOUND,
                [("user_group_id", user_group_id)],
            ),
            ServiceError::IdpManaged(user_group_id) => with_reason_and_metadata(
                Code::FailedPrecondition,
                message,
                REASON_IDP_MANAGED,
                [("user_group_id", user_group_id)],
            ),
            ServiceError::SyncAlreadyOn(group_id) => with_reason_and_metadata(
                Code::FailedPrecondition,
                message,
                REASON_SYNC_ALREADY_ON,
                [("group_id", group_id)],
            ),
            ServiceError::DisplayNameTaken => {
                with_reason(Code::AlreadyExists, message, REASON_DISPLAY_NAME_TAKEN)
            }
            ServiceError::VersionMismatch { .. } => {
                with_reason(Code::Aborted, message, REASON_VERSION_MISMATCH)
            }
            ServiceError::Store(store_error) => {
                // The current RPC span carries the workspace, group and user ids.
                tracing::error!(error = %store_error, "storage failed");
                Status::internal("internal storage error")
            }
        }
    }
}

fn with_reason(code: Code, message: String, reason: &str) -> Status {
    with_reason_and_metadata(code, message, reason, [])
}

/// Builds a status with an `ErrorInfo` whose metadata names the ids involved.
fn with_reason_and_metadata<const N: usize>(
    code: Code,
    message: String,
    reason: &str,
    metadata: [(&str, String); N],
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}
