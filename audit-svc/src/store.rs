//! Storage of audit-svc over sqlx's Any driver: one implementation for
//! PostgreSQL and SQLite, with `$N` placeholders in SQL both accept.
//!
//! The trail is append-only: the store inserts rows and the retention job
//! deletes old ones; nothing updates a row.

use std::{str::FromStr, time::Duration};

use proto::audit::v1::Change;
use sqlx::{
    AnyPool, Executor as _, Row,
    any::{AnyConnectOptions, AnyPoolOptions, AnyRow},
};

use crate::{error::StoreError, record::AuditRecord};

/// How long a SQLite statement waits for another process's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a PostgreSQL connection may take to be handed out.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows deleted per retention statement.
const RETENTION_BATCH: i64 = 5_000;

/// Connection pools of the audit database.
#[derive(Debug, Clone)]
pub struct Store {
    /// Pool of writes: one connection on SQLite.
    writer: AnyPool,
    /// Pool of reads; the writer pool itself on PostgreSQL and for an
    /// in-memory SQLite database.
    reader: AnyPool,
}

/// Filter of a query, with times in microseconds since the Unix epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub workspace_id: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub action: String,
    pub actor_id: String,
    pub target_id: String,
}

/// Direction of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

impl Store {
    /// Opens `database_url` (`postgres://...`, `sqlite://path?mode=rwc` or
    /// `sqlite::memory:`) and applies the migrations.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(database_url)?;
        if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            return Ok(Self {
                writer: pool.clone(),
                reader: pool,
            });
        }
        if !database_url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl);
        }
        let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let writer = sqlite_pool(1, in_memory)
            .connect_with(options.clone())
            .await?;
        let reader = if in_memory {
            writer.clone()
        } else {
            sqlite_pool(max_connections.max(1), false)
                .connect_with(options)
                .await?
        };
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        Ok(Self { writer, reader })
    }

    /// Stores records whose id is not stored yet, in one transaction.
    /// Returns the number stored now.
    pub async fn insert(&self, records: &[AuditRecord]) -> Result<u64, StoreError> {
        let mut transaction = self.writer.begin().await?;
        let mut stored = 0;
        for record in records {
            let changes = serde_json::to_string(
                &record
                    .changes
                    .iter()
                    .map(|change| {
                        serde_json::json!({
                            "attribute": change.attribute,
                            "before": change.before,
                            "after": change.after,
                        })
                    })
                    .collect::<Vec<_>>(),
            )
            .map_err(|error| StoreError::InvalidRow(error.to_string()))?;
            let result = sqlx::query(
                "INSERT INTO audit_events (id, workspace_id, time, actor_type, actor_id, identity_provider, \
                 action, target_type, target_id, target_name, changes, details, request_id, trace_id, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&record.id)
            .bind(&record.workspace_id)
            .bind(record.time)
            .bind(&record.actor_type)
            .bind(&record.actor_id)
            .bind(&record.identity_provider)
            .bind(&record.action)
            .bind(&record.target_type)
            .bind(&record.target_id)
            .bind(&record.target_name)
            .bind(changes)
            .bind(record.details.to_string())
            .bind(&record.request_id)
            .bind(&record.trace_id)
            .bind(&record.outcome)
            .execute(&mut *transaction)
            .await?;
            stored += result.rows_affected();
        }
        transaction.commit().await?;
        Ok(stored)
    }

    /// Stores a rejected-request report once. Returns false when the report
    /// id was stored before, and then stores nothing.
    pub async fn insert_report(
        &self,
        report_id: &str,
        received: i64,
        records: &[AuditRecord],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO rejection_reports (report_id, received) VALUES ($1, $2) \
             ON CONFLICT (report_id) DO NOTHING",
        )
        .bind(report_id)
        .bind(received)
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            transaction.rollback().await?;
            return Ok(false);
        }
        transaction.commit().await?;
        self.insert(records).await?;
        Ok(true)
    }

    /// Returns up to `limit` records matching `query`, after the record
    /// with id `after` in `order` (from the start when empty).
    pub async fn page(
        &self,
        query: &Query,
        order: Order,
        after: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let (cursor, direction) = match order {
            Order::NewestFirst => ("($7 = '' OR id < $7)", "DESC"),
            Order::OldestFirst => ("($7 = '' OR id > $7)", "ASC"),
        };
        let sql = format!(
            "SELECT id, workspace_id, time, actor_type, actor_id, identity_provider, action, target_type, \
             target_id, target_name, changes, details, request_id, trace_id, outcome FROM audit_events \
             WHERE workspace_id = $1 AND time >= $2 AND time < $3 \
               AND ($4 = '' OR action = $4) AND ($5 = '' OR actor_id = $5) AND ($6 = '' OR target_id = $6) \
               AND {cursor} ORDER BY id {direction} LIMIT $8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&query.workspace_id)
            .bind(query.since.unwrap_or(i64::MIN))
            .bind(query.until.unwrap_or(i64::MAX))
            .bind(&query.action)
            .bind(&query.actor_id)
            .bind(&query.target_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(record).collect()
    }

    /// Deletes up to one batch of records older than `before`. Returns the
    /// number deleted.
    pub async fn delete_older_than(&self, before: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE time < $1 ORDER BY time LIMIT $2)",
        )
        .bind(before)
        .bind(RETENTION_BATCH)
        .execute(&self.writer)
        .await?;
        sqlx::query("DELETE FROM rejection_reports WHERE received < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

fn record(row: &AnyRow) -> Result<AuditRecord, StoreError> {
    let changes: String = row.try_get("changes")?;
    let changes: Vec<serde_json::Value> = serde_json::from_str(&changes)
        .map_err(|error| StoreError::InvalidRow(format!("changes: {error}")))?;
    let details: String = row.try_get("details")?;
    let text =
        |value: &serde_json::Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    Ok(AuditRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        time: row.try_get("time")?,
        actor_type: row.try_get("actor_type")?,
        actor_id: row.try_get("actor_id")?,
        identity_provider: row.try_get("identity_provider")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        target_name: row.try_get("target_name")?,
        changes: changes
            .iter()
            .map(|change| Change {
                attribute: text(change, "attribute"),
                before: text(change, "before"),
                after: text(change, "after"),
            })
            .collect(),
        details: serde_json::from_str(&details)
            .map_err(|error| StoreError::InvalidRow(format!("details: {error}")))?,
        request_id: row.try_get("request_id")?,
        trace_id: row.try_get("trace_id")?,
        outcome: row.try_get("outcome")?,
    })
}

/// Pool options of a SQLite pool, with the pragmas every connection needs.
fn sqlite_pool(max_connections: u32, in_memory: bool) -> AnyPoolOptions {
    let busy_timeout = SQLITE_BUSY_TIMEOUT.as_millis();
    let options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                connection
                    .execute(sqlx::AssertSqlSafe(format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = {busy_timeout}"
                    )))
                    .await?;
                Ok(())
            })
        });
    if in_memory {
        // Each in-memory connection is its own database, so the only
        // connection must never be closed for being idle or old.
        options
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        options
    }
}
