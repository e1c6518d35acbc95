//! SQLite engine. Timestamps are INTEGER microseconds since the Unix epoch.
//!
//! SQLite allows one writer at a time. Writes go through a pool of one
//! connection, so they queue inside the process instead of failing with
//! SQLITE_BUSY; reads use a separate pool and run concurrently under WAL.
//! The busy timeout covers other processes that open the same file.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    AssertSqlSafe, Row, Sqlite,
    query::Query,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
        SqliteRow, SqliteSynchronous,
    },
};
use time::OffsetDateTime;

use super::admin::{decode_steps, encode_steps};
use super::sqlite_outbox::insert_outbox_event;
use super::{
    OutboxEvent, Store, TokenMatch, TokenRecord, UserPage, UserQuery, UserRecord, WorkspaceRecord,
    render::{Dialect, SqlValue, USER_COLUMNS, render_user_query},
};
use crate::{error::StoreError, fold};

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite engine.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) reader: SqlitePool,
    pub(super) writer: SqlitePool,
}

impl SqliteStore {
    /// Opens `database_url` (`sqlite://path?mode=rwc` or `sqlite::memory:`)
    /// and applies the migrations. `max_connections` sizes the read pool.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // LIKE implements the case-exact SCIM operators co, sw and ew;
            // case-insensitive attributes are compared in folded form.
            .pragma("case_sensitive_like", "ON");

        let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(u32::from(in_memory))
            // Each in-memory connection is its own database, so the only
            // connection must never be closed for being idle or old.
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options.clone())
            .await?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(options)
                .await?
        };

        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        Ok(Self { reader, writer })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn insert_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), StoreError> {
        let mut transaction = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO workspaces (id, name, sso_enabled, scim_enabled, created, scim_entitled, identity_provider, \
             scim_reset_pending, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&workspace.id)
        .bind(&workspace.name)
        .bind(workspace.sso_enabled)
        .bind(workspace.scim_enabled)
        .bind(to_micros(workspace.created))
        .bind(workspace.scim_entitled)
        .bind(&workspace.identity_provider)
        .bind(encode_steps(&workspace.reset_pending))
        .bind(workspace.version)
        .execute(&mut *transaction)
        .await?;
        for domain in &workspace.domains {
            sqlx::query("INSERT INTO workspace_domains (workspace_id, domain) VALUES (?, ?)")
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
             scim_reset_pending, version FROM workspaces WHERE id = ?",
        )
            .bind(workspace_id)
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let domains: Vec<String> = sqlx::query_scalar(
            "SELECT domain FROM workspace_domains WHERE workspace_id = ? ORDER BY domain",
        )
        .bind(workspace_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(Some(WorkspaceRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            domains,
            sso_enabled: row.try_get("sso_enabled")?,
            scim_enabled: row.try_get("scim_enabled")?,
            created: from_micros(row.try_get("created")?)?,
            scim_entitled: row.try_get("scim_entitled")?,
            identity_provider: row.try_get("identity_provider")?,
            reset_pending: decode_steps(row.try_get("scim_reset_pending")?)?,
            version: row.try_get("version")?,
        }))
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scim_tokens (id, workspace_id, name, prefix, digest, created, last_used, expires, revoked) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenMatch>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.workspace_id, t.name, t.prefix, t.digest, t.created, t.last_used, t.expires, t.revoked, \
             w.scim_enabled, w.identity_provider FROM scim_tokens AS t JOIN workspaces AS w ON w.id = t.workspace_id WHERE t.digest = ?",
        )
        .bind(digest.as_slice())
        .fetch_optional(&self.reader)
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
        sqlx::query("UPDATE scim_tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)")
            .bind(to_micros(used_at))
            .bind(token_id)
            .bind(to_micros(stale_before))
            .execute(&self.writer)
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
            "UPDATE scim_tokens SET revoked = COALESCE(revoked, ?) WHERE id = ? AND workspace_id = ?",
        )
        .bind(to_micros(at))
        .bind(token_id)
        .bind(workspace_id)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn insert_user(
        &self,
        user: &UserRecord,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError> {
        let mut transaction = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, workspace_id, user_name, user_name_folded, external_id, active, version, \
             created, last_modified, attributes, attributes_folded, scim_managed) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.workspace_id)
        .bind(&user.user_name)
        .bind(fold::fold_str(&user.user_name))
        .bind(&user.external_id)
        .bind(user.active)
        .bind(user.version)
        .bind(to_micros(user.created))
        .bind(to_micros(user.last_modified))
        .bind(user.attributes.to_string())
        .bind(fold::fold_json(&user.attributes).to_string())
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
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users AS u WHERE u.workspace_id = ? AND u.id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(user_id)
            .fetch_optional(&self.reader)
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
        let placeholders = vec!["?"; user_ids.len()].join(", ");
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users AS u WHERE u.workspace_id = ? AND u.id IN ({placeholders})"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace_id);
        for user_id in user_ids {
            query = query.bind(user_id);
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn list_users(
        &self,
        workspace_id: &str,
        query: &UserQuery,
    ) -> Result<UserPage, StoreError> {
        let rendered = render_user_query(Dialect::Sqlite, workspace_id, query);

        // One read transaction is one WAL snapshot, so the total matches the rows.
        let mut transaction = self.reader.begin().await?;
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
        let mut transaction = self.writer.begin().await?;
        let result = sqlx::query(
            "DELETE FROM users WHERE id = ? AND workspace_id = ? AND (? IS NULL OR version = ?)",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(expected_version)
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
    mut query: Query<'q, Sqlite, SqliteArguments>,
    values: &[SqlValue],
) -> Query<'q, Sqlite, SqliteArguments> {
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::Int(number) => query.bind(*number),
            SqlValue::Bool(flag) => query.bind(*flag),
            SqlValue::Timestamp(at) => query.bind(to_micros(*at)),
        };
    }
    query
}

pub(super) fn token_from_row(row: &SqliteRow) -> Result<TokenRecord, StoreError> {
    let stored_digest: Vec<u8> = row.try_get("digest")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        digest: stored_digest
            .try_into()
            .map_err(|_| StoreError::InvalidRow("token digest is not 32 bytes".to_owned()))?,
        created: from_micros(row.try_get("created")?)?,
        last_used: optional_from_micros(row.try_get("last_used")?)?,
        expires: optional_from_micros(row.try_get("expires")?)?,
        revoked: optional_from_micros(row.try_get("revoked")?)?,
    })
}

pub(super) fn user_from_row(row: &SqliteRow) -> Result<UserRecord, StoreError> {
    let attributes: String = row.try_get("attributes")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        user_name: row.try_get("user_name")?,
        external_id: row.try_get("external_id")?,
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        created: from_micros(row.try_get("created")?)?,
        last_modified: from_micros(row.try_get("last_modified")?)?,
        attributes: serde_json::from_str(&attributes).map_err(|error| {
            StoreError::InvalidRow(format!("user attributes are not JSON: {error}"))
        })?,
        scim_managed: row.try_get("scim_managed")?,
    })
}

pub(super) fn to_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(i64::MAX)
}

pub(super) fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::InvalidRow(format!("timestamp out of range: {error}")))
}

pub(super) fn optional_from_micros(
    micros: Option<i64>,
) -> Result<Option<OffsetDateTime>, StoreError> {
    micros.map(from_micros).transpose()
}
