//! [`AdminStore`] of the PostgreSQL engine. Conditions live in the UPDATE
//! statements, and token inserts lock the workspace row first, so a token
//! cannot slip in while a concurrent reset removes the workspace's tokens.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction, types::Json};
use time::OffsetDateTime;

use super::admin::{AdminStore, RotateOutcome};
use super::postgres::token_from_row;
use super::postgres_outbox::insert_outbox_event;
use super::{OutboxEvent, PostgresStore, TokenRecord, UserRecord, WorkspaceRecord};
use crate::{error::StoreError, fold};

const TOKEN_COLUMNS: &str =
    "id, workspace_id, name, prefix, digest, created, last_used, expires, revoked";

#[async_trait]
impl AdminStore for PostgresStore {
    async fn update_workspace_state(
        &self,
        workspace: &WorkspaceRecord,
        expected_version: i64,
        remove_tokens: bool,
        events: &[OutboxEvent],
    ) -> Result<Option<u64>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query(
            "UPDATE workspaces SET sso_enabled = $1, scim_entitled = $2, scim_enabled = $3, identity_provider = $4, \
             scim_reset_pending = $5, version = $6 WHERE id = $7 AND version = $8",
        )
        .bind(workspace.sso_enabled)
        .bind(workspace.scim_entitled)
        .bind(workspace.scim_enabled)
        .bind(&workspace.identity_provider)
        .bind(workspace.reset_pending.as_ref().map(Json))
        .bind(workspace.version)
        .bind(&workspace.id)
        .bind(expected_version)
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }

        let mut removed = 0;
        if remove_tokens {
            removed = sqlx::query("DELETE FROM scim_tokens WHERE workspace_id = $1")
                .bind(&workspace.id)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        }
        insert_events(&mut transaction, events).await?;
        transaction.commit().await?;
        Ok(Some(removed))
    }

    async fn list_tokens(&self, workspace_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE workspace_id = $1 ORDER BY created DESC, id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn get_token(
        &self,
        workspace_id: &str,
        token_id: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE workspace_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(token_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn issue_token(
        &self,
        token: &TokenRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        if !insert_token_unless_resetting(&mut transaction, token).await? {
            return Ok(false);
        }
        insert_events(&mut transaction, events).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn rotate_token(
        &self,
        previous_id: &str,
        previous_expires: OffsetDateTime,
        at: OffsetDateTime,
        token: &TokenRecord,
        events: &[OutboxEvent],
    ) -> Result<RotateOutcome, StoreError> {
        let mut transaction = self.pool.begin().await?;
        if !insert_token_unless_resetting(&mut transaction, token).await? {
            return Ok(RotateOutcome::ResetInProgress);
        }
        // LEAST keeps an earlier expiry, so rotating never extends a token.
        let updated = sqlx::query(
            "UPDATE scim_tokens SET expires = LEAST(COALESCE(expires, $1), $1) \
             WHERE id = $2 AND workspace_id = $3 AND revoked IS NULL AND (expires IS NULL OR expires > $4)",
        )
        .bind(previous_expires)
        .bind(previous_id)
        .bind(&token.workspace_id)
        .bind(at)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(RotateOutcome::PreviousInactive);
        }
        insert_events(&mut transaction, events).await?;
        transaction.commit().await?;
        Ok(RotateOutcome::Rotated)
    }

    async fn revoke_token_recorded(
        &self,
        workspace_id: &str,
        token_id: &str,
        at: OffsetDateTime,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result =
            sqlx::query("UPDATE scim_tokens SET revoked = $1 WHERE id = $2 AND workspace_id = $3 AND revoked IS NULL")
                .bind(at)
                .bind(token_id)
                .bind(workspace_id)
                .execute(&mut *transaction)
                .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        insert_outbox_event(&mut transaction, event).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn add_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO workspace_domains (workspace_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(workspace_id)
        .bind(domain)
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        insert_outbox_event(&mut transaction, event).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn remove_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result =
            sqlx::query("DELETE FROM workspace_domains WHERE workspace_id = $1 AND domain = $2")
                .bind(workspace_id)
                .bind(domain)
                .execute(&mut *transaction)
                .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        insert_outbox_event(&mut transaction, event).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn update_user_recorded(
        &self,
        user: &UserRecord,
        expected_version: i64,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query(
            "UPDATE users SET user_name = $1, user_name_folded = $2, external_id = $3, active = $4, version = $5, \
             last_modified = $6, attributes = $7, attributes_folded = $8, scim_managed = $9 \
             WHERE id = $10 AND workspace_id = $11 AND version = $12",
        )
        .bind(&user.user_name)
        .bind(fold::fold_str(&user.user_name))
        .bind(&user.external_id)
        .bind(user.active)
        .bind(user.version)
        .bind(user.last_modified)
        .bind(Json(&user.attributes))
        .bind(Json(fold::fold_json(&user.attributes)))
        .bind(user.scim_managed)
        .bind(&user.id)
        .bind(&user.workspace_id)
        .bind(expected_version)
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        insert_events(&mut transaction, events).await?;
        transaction.commit().await?;
        Ok(true)
    }
}

/// Inserts `token` when its workspace exists and has no reset in progress.
/// `FOR SHARE` waits for a concurrent reset of the workspace to commit, so
/// the check reads the reset's outcome and not the state before it.
async fn insert_token_unless_resetting(
    transaction: &mut Transaction<'_, Postgres>,
    token: &TokenRecord,
) -> Result<bool, StoreError> {
    let pending: Option<Option<Json<Vec<String>>>> =
        sqlx::query_scalar("SELECT scim_reset_pending FROM workspaces WHERE id = $1 FOR SHARE")
            .bind(&token.workspace_id)
            .fetch_optional(&mut **transaction)
            .await?;
    if !matches!(pending, Some(None)) {
        return Ok(false);
    }

    sqlx::query(
        "INSERT INTO scim_tokens (id, workspace_id, name, prefix, digest, created, last_used, expires, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&token.id)
    .bind(&token.workspace_id)
    .bind(&token.name)
    .bind(&token.prefix)
    .bind(token.digest.as_slice())
    .bind(token.created)
    .bind(token.last_used)
    .bind(token.expires)
    .bind(token.revoked)
    .execute(&mut **transaction)
    .await?;
    Ok(true)
}

async fn insert_events(
    transaction: &mut Transaction<'_, Postgres>,
    events: &[OutboxEvent],
) -> Result<(), StoreError> {
    for event in events {
        insert_outbox_event(transaction, event).await?;
    }
    Ok(())
}
