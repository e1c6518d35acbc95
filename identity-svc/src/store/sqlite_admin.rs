//! [`AdminStore`] of the SQLite engine. Every write runs on the single
//! write connection, so the checks inside a transaction cannot race with
//! another writer.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};
use time::OffsetDateTime;

use super::admin::{AdminStore, RotateOutcome, encode_steps};
use super::sqlite::{to_micros, token_from_row};
use super::sqlite_outbox::insert_outbox_event;
use super::{OutboxEvent, SqliteStore, TokenRecord, UserRecord, WorkspaceRecord};
use crate::{error::StoreError, fold};

const TOKEN_COLUMNS: &str =
    "id, workspace_id, name, prefix, digest, created, last_used, expires, revoked";

#[async_trait]
impl AdminStore for SqliteStore {
    async fn update_workspace_state(
        &self,
        workspace: &WorkspaceRecord,
        expected_version: i64,
        remove_tokens: bool,
        events: &[OutboxEvent],
    ) -> Result<Option<u64>, StoreError> {
        let mut transaction = self.writer.begin().await?;
        let result = sqlx::query(
            "UPDATE workspaces SET sso_enabled = ?, scim_entitled = ?, scim_enabled = ?, identity_provider = ?, \
             scim_reset_pending = ?, version = ? WHERE id = ? AND version = ?",
        )
        .bind(workspace.sso_enabled)
        .bind(workspace.scim_entitled)
        .bind(workspace.scim_enabled)
        .bind(&workspace.identity_provider)
        .bind(encode_steps(&workspace.reset_pending))
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
            removed = sqlx::query("DELETE FROM scim_tokens WHERE workspace_id = ?")
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
            "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE workspace_id = ? ORDER BY created DESC, id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn get_token(
        &self,
        workspace_id: &str,
        token_id: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE workspace_id = ? AND id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(token_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn issue_token(
        &self,
        token: &TokenRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.writer.begin().await?;
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
        let mut transaction = self.writer.begin().await?;
        if !insert_token_unless_resetting(&mut transaction, token).await? {
            return Ok(RotateOutcome::ResetInProgress);
        }
        // MIN keeps an earlier expiry, so rotating never extends a token.
        let updated = sqlx::query(
            "UPDATE scim_tokens SET expires = MIN(COALESCE(expires, ?1), ?1) \
             WHERE id = ?2 AND workspace_id = ?3 AND revoked IS NULL AND (expires IS NULL OR expires > ?4)",
        )
        .bind(to_micros(previous_expires))
        .bind(previous_id)
        .bind(&token.workspace_id)
        .bind(to_micros(at))
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
        let mut transaction = self.writer.begin().await?;
        let result =
            sqlx::query("UPDATE scim_tokens SET revoked = ? WHERE id = ? AND workspace_id = ? AND revoked IS NULL")
                .bind(to_micros(at))
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
        let mut transaction = self.writer.begin().await?;
        let result = sqlx::query(
            "INSERT INTO workspace_domains (workspace_id, domain) VALUES (?, ?) ON CONFLICT DO NOTHING",
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
        let mut transaction = self.writer.begin().await?;
        let result =
            sqlx::query("DELETE FROM workspace_domains WHERE workspace_id = ? AND domain = ?")
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
        let mut transaction = self.writer.begin().await?;
        let result = sqlx::query(
            "UPDATE users SET user_name = ?, user_name_folded = ?, external_id = ?, active = ?, version = ?, \
             last_modified = ?, attributes = ?, attributes_folded = ?, scim_managed = ? \
             WHERE id = ? AND workspace_id = ? AND version = ?",
        )
        .bind(&user.user_name)
        .bind(fold::fold_str(&user.user_name))
        .bind(&user.external_id)
        .bind(user.active)
        .bind(user.version)
        .bind(to_micros(user.last_modified))
        .bind(user.attributes.to_string())
        .bind(fold::fold_json(&user.attributes).to_string())
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
async fn insert_token_unless_resetting(
    transaction: &mut Transaction<'_, Sqlite>,
    token: &TokenRecord,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO scim_tokens (id, workspace_id, name, prefix, digest, created, last_used, expires, revoked) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS \
         (SELECT 1 FROM workspaces WHERE id = ? AND scim_reset_pending IS NULL)",
    )
    .bind(&token.id)
    .bind(&token.workspace_id)
    .bind(&token.name)
    .bind(&token.prefix)
    .bind(token.digest.as_slice())
    .bind(to_micros(token.created))
    .bind(token.last_used.map(to_micros))
    .bind(token.expires.map(to_micros))
    .bind(token.revoked.map(to_micros))
    .bind(&token.workspace_id)
    .execute(&mut **transaction)
    .await?;
    Ok(result.rows_affected() > 0)
}

async fn insert_events(
    transaction: &mut Transaction<'_, Sqlite>,
    events: &[OutboxEvent],
) -> Result<(), StoreError> {
    for event in events {
        insert_outbox_event(transaction, event).await?;
    }
    Ok(())
}
