//! PostgreSQL engine. Documents are JSONB and timestamps TIMESTAMPTZ.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{
    AssertSqlSafe, Postgres, Row,
    postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow},
    query::Query,
    types::Json,
};

use super::postgres_outbox::insert_outbox_event;
use time::OffsetDateTime;

use super::{
    OutboxEvent, Store, TokenMatch, TokenRecord, UserPage, UserQuery, UserRecord, WorkspaceRecord,
    render::{Dialect, SqlValue, USER_COLUMNS, placeholder, render_user_query},
};
use crate::{error::StoreError, fold};

/// How long a request waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL engine.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    /// Connects to `database_url` and applies the migrations.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(database_url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn insert_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO workspaces (id, name, sso_enabled, scim_enabled, created, scim_entitled, identity_provider, \
             scim_reset_pending, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&workspace.id)
        .bind(&workspace.name)
        .bind(workspace.sso_enabled)
        .bind(workspace.scim_enabled)
        .bind(workspace.created)
        .bind(workspace.scim_entitled)
        .bind(&workspace.identity_provider)
        .bind(workspace.reset_pending.as_ref().map(Json))
        .bind(workspace.version)
        .execute(&mut *transaction)
        .await?;
        for domain in &workspace.domains {
            sqlx::query("INSERT INTO workspace_domains (workspace_id, domain) VALUES ($1, $2)")
                .bind(&workspace.id)
                .bind(domain)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn get_workspace(
        &self,
        workspace_id: &str,
    ) -> Result<Option<WorkspaceRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, sso_enabled, scim_enabled, created, scim_entitled, identity_provider, \
             scim_reset_pending, version FROM workspaces WHERE id = $1",
        )
            .bind(workspace_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let domains: Vec<String> = sqlx::query_scalar(
            "SELECT domain FROM workspace_domains WHERE workspace_id = $1 ORDER BY domain COLLATE \"C\"",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(WorkspaceRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            domains,
            sso_enabled: row.try_get("sso_enabled")?,
            scim_enabled: row.try_get("scim_enabled")?,
            created: row.try_get("created")?,
            scim_entitled: row.try_get("scim_entitled")?,
            identity_provider: row.try_get("identity_provider")?,
            reset_pending: row
                .try_get::<Option<Json<Vec<String>>>, _>("scim_reset_pending")?
                .map(|Json(steps)| steps),
            version: row.try_get("version")?,
        }))
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenMatch>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.workspace_id, t.name, t.prefix, t.digest, t.created, t.last_used, t.expires, t.revoked, \
             w.scim_enabled, w.identity_provider FROM scim_tokens AS t JOIN workspaces AS w ON w.id = t.workspace_id WHERE t.digest = $1",
        )
        .bind(digest.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(TokenMatch {
            token: token_from_row(&row)?,
            scim_enabled: row.try_get("scim_enabled")?,
            identity_provider: row.try_get("identity_provider")?,
        }))
    }

    async fn touch_token(
        &self,
        token_id: &str,
        used_at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE scim_tokens SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $3)")
            .bind(used_at)
            .bind(token_id)
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_token(
        &self,
        workspace_id: &str,
        token_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE scim_tokens SET revoked = COALESCE(revoked, $1) WHERE id = $2 AND workspace_id = $3",
        )
        .bind(at)
        .bind(token_id)
        .bind(workspace_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn insert_user(
        &self,
        user: &UserRecord,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, workspace_id, user_name, user_name_folded, external_id, active, version, \
             created, last_modified, attributes, attributes_folded, scim_managed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&user.id)
        .bind(&user.workspace_id)
        .bind(&user.user_name)
        .bind(fold::fold_str(&user.user_name))
        .bind(&user.external_id)
        .bind(user.active)
        .bind(user.version)
        .bind(user.created)
        .bind(user.last_modified)
        .bind(Json(&user.attributes))
        .bind(Json(fold::fold_json(&user.attributes)))
        .bind(user.scim_managed)
        .execute(&mut *transaction)
        .await?;
        for event in events {
            insert_outbox_event(&mut transaction, event).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn get_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users AS u WHERE u.workspace_id = $1 AND u.id = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn get_users(
        &self,
        workspace_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<UserRecord>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..user_ids.len())
            .map(|index| placeholder(Dialect::Postgres, index + 2))
            .collect();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users AS u WHERE u.workspace_id = $1 AND u.id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace_id);
        for user_id in user_ids {
            query = query.bind(user_id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn list_users(
        &self,
        workspace_id: &str,
        query: &UserQuery,
    ) -> Result<UserPage, StoreError> {
        let rendered = render_user_query(Dialect::Postgres, workspace_id, query);

        // One snapshot for the count and the page, so the total matches the rows.
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *transaction)
            .await?;

        let count_query = bind_values(
            sqlx::query(AssertSqlSafe(rendered.count_sql)),
            &rendered.count_binds,
        );
        let total: i64 = count_query.fetch_one(&mut *transaction).await?.try_get(0)?;
        let mut users = Vec::new();
        if query.limit > 0 {
            let select_query = bind_values(
                sqlx::query(AssertSqlSafe(rendered.select_sql)),
                &rendered.select_binds,
            );
            let rows = select_query.fetch_all(&mut *transaction).await?;
            users = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
        }
        transaction.commit().await?;
        Ok(UserPage { users, total })
    }

    async fn delete_user(
        &self,
        workspace_id: &str,
        user_id: &str,
        expected_version: Option<i64>,
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query(
            "DELETE FROM users WHERE id = $1 AND workspace_id = $2 AND ($3::BIGINT IS NULL OR version = $3)",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(expected_version)
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 0 {
            // Dropping the transaction rolls it back; there is nothing to undo.
            return Ok(false);
        }

        insert_outbox_event(&mut transaction, event).await?;
        transaction.commit().await?;
        Ok(true)
    }
}

fn bind_values<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    values: &[SqlValue],
) -> Query<'q, Postgres, PgArguments> {
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::Int(number) => query.bind(*number),
            SqlValue::Bool(flag) => query.bind(*flag),
            SqlValue::Timestamp(at) => query.bind(*at),
        };
    }
    query
}

pub(super) fn token_from_row(row: &PgRow) -> Result<TokenRecord, StoreError> {
    let stored_digest: Vec<u8> = row.try_get("digest")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        digest: stored_digest
            .try_into()
            .map_err(|_| StoreError::InvalidRow("token digest is not 32 bytes".to_owned()))?,
        created: row.try_get("created")?,
        last_used: row.try_get("last_used")?,
        expires: row.try_get("expires")?,
        revoked: row.try_get("revoked")?,
    })
}

pub(super) fn user_from_row(row: &PgRow) -> Result<UserRecord, StoreError> {
    let Json(attributes): Json<Value> = row.try_get("attributes")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        user_name: row.try_get("user_name")?,
        external_id: row.try_get("external_id")?,
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
        attributes,
        scim_managed: row.try_get("scim_managed")?,
    })
}
