//! Storage of the SCIM lifecycle: workspace switches, token rotation and
//! revocation, domains, and user writes that record events. Every write
//! here inserts its outbox events in the same transaction as the change.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{OutboxEvent, TokenRecord, UserRecord, WorkspaceRecord};
use crate::error::StoreError;

/// Result of [`AdminStore::rotate_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated,
    /// The previous token does not exist, is revoked or has expired.
    PreviousInactive,
    /// A reset of the workspace is in progress, so no token may be issued.
    ResetInProgress,
}

/// Writes of the SCIM lifecycle, part of every [`super::Store`].
#[async_trait]
pub trait AdminStore {
    /// Writes the workspace's switches (`sso_enabled`, `scim_entitled`,
    /// `scim_enabled`, `identity_provider`, `reset_pending`) and its
    /// `version`, only while the stored version is `expected_version`, and
    /// inserts `events`, in one transaction. With `remove_tokens` it also
    /// deletes every token of the workspace. Returns the number of tokens
    /// deleted, or `None`, writing nothing, when the version differed.
    async fn update_workspace_state(
        &self,
        workspace: &WorkspaceRecord,
        expected_version: i64,
        remove_tokens: bool,
        events: &[OutboxEvent],
    ) -> Result<Option<u64>, StoreError>;

    /// Returns every token of the workspace, revoked ones included, newest
    /// first.
    async fn list_tokens(&self, workspace_id: &str) -> Result<Vec<TokenRecord>, StoreError>;
    async fn get_token(
        &self,
        workspace_id: &str,
        token_id: &str,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Inserts `token` and `events` unless a reset of the workspace is in
    /// progress or the workspace is gone. Returns false, writing nothing,
    /// in those cases.
    async fn issue_token(
        &self,
        token: &TokenRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError>;

    /// Sets the expiry of token `previous_id` to `previous_expires` while
    /// it is neither revoked nor expired at `at`, inserts `token` and
    /// `events`, all in one transaction, unless a reset is in progress.
    async fn rotate_token(
        &self,
        previous_id: &str,
        previous_expires: OffsetDateTime,
        at: OffsetDateTime,
        token: &TokenRecord,
        events: &[OutboxEvent],
    ) -> Result<RotateOutcome, StoreError>;

    /// Marks a token revoked at `at` and inserts `event`, unless it is
    /// already revoked or missing. Returns whether it changed.
    async fn revoke_token_recorded(
        &self,
        workspace_id: &str,
        token_id: &str,
        at: OffsetDateTime,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError>;

    /// Adds a normalised domain and inserts `event`. Returns false, writing
    /// nothing, when the domain is already listed.
    async fn add_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError>;
    /// Removes a normalised domain and inserts `event`. Returns false,
    /// writing nothing, when the domain is not listed.
    async fn remove_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError>;

    /// Overwrites the user, `scim_managed` included, only while its stored
    /// version equals `expected_version`, and inserts `events` in the same
    /// transaction. Returns false, writing nothing, when no row matched.
    async fn update_user_recorded(
        &self,
        user: &UserRecord,
        expected_version: i64,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError>;
}

/// Encodes reset steps for the `scim_reset_pending` column.
pub(super) fn encode_steps(steps: &Option<Vec<String>>) -> Option<String> {
    steps
        .as_ref()
        .map(|steps| serde_json::Value::from(steps.clone()).to_string())
}

/// Decodes the `scim_reset_pending` column.
pub(super) fn decode_steps(text: Option<String>) -> Result<Option<Vec<String>>, StoreError> {
    text.map(|text| {
        serde_json::from_str(&text).map_err(|error| {
            StoreError::InvalidRow(format!(
                "scim_reset_pending is not a JSON list of names: {error}"
            ))
        })
    })
    .transpose()
}
