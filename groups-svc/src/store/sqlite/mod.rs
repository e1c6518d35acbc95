//! SQLite engine. Timestamps are INTEGER microseconds since the Unix epoch.
//!
//! SQLite allows one writer at a time. Writes go through a pool of one
//! connection and start with `BEGIN IMMEDIATE`, so concurrent writers queue
//! inside the process instead of failing with SQLITE_BUSY; reads use a
//! separate pool and run concurrently under WAL. The busy timeout covers
//! other processes that open the same file.

mod outbox;
mod user_groups;
mod write;

use std::{collections::HashSet, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    AssertSqlSafe, Row, Sqlite, SqliteConnection,
    query::Query,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
        SqliteRow, SqliteSynchronous,
    },
};
use time::OffsetDateTime;

use super::{
    GroupEpoch, GroupPage, GroupQuery, GroupRecord, MemberRecord, MembershipSnapshot, Store,
    UserGroups, WriteTx,
    render::{Dialect, GROUP_COLUMNS, SqlValue, render_group_query},
};
use crate::error::StoreError;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Ids per `IN (...)` list. SQLite allows 32,766 bound parameters per
/// statement, but sqlx binds long lists slowly, so lists are kept short.
const IDS_PER_STATEMENT: usize = 500;
/// (group, user) pairs per membership lookup, two parameters each.
const PAIRS_PER_STATEMENT: usize = 250;

/// The SQLite engine.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
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

    async fn prune_processed_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM processed_events WHERE event_id IN (\
               SELECT event_id FROM processed_events WHERE processed_at < ? \
               ORDER BY processed_at LIMIT ?)",
        )
        .bind(to_micros(before))
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn begin_write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // IMMEDIATE takes the write lock up front, waiting up to the busy
        // timeout. A deferred transaction that reads and then writes would
        // need a lock upgrade, which fails at once with SQLITE_BUSY when
        // another connection is writing.
        let transaction = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(write::SqliteWrite::new(transaction)))
    }

    async fn get_group(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let mut connection = self.reader.acquire().await?;
        select_group(&mut connection, workspace_id, group_id).await
    }

    async fn get_group_with_members(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<(GroupRecord, Vec<MemberRecord>)>, StoreError> {
        // One read transaction is one WAL snapshot, so the members match the group row.
        let mut transaction = self.reader.begin().await?;
        let Some(group) = select_group(&mut transaction, workspace_id, group_id).await? else {
            return Ok(None);
        };
        let members = select_members(&mut transaction, group_id).await?;
        transaction.commit().await?;
        Ok(Some((group, members)))
    }

    async fn list_groups(
        &self,
        workspace_id: &str,
        query: &GroupQuery,
        include_members: bool,
    ) -> Result<GroupPage, StoreError> {
        let rendered = render_group_query(Dialect::Sqlite, workspace_id, query);

        let mut transaction = self.reader.begin().await?;
        let count_query = bind_values(
            sqlx::query(AssertSqlSafe(rendered.count_sql)),
            &rendered.count_binds,
        );
        let total: i64 = count_query.fetch_one(&mut *transaction).await?.try_get(0)?;
        let mut groups = Vec::new();
        if query.limit > 0 {
            let select_query = bind_values(
                sqlx::query(AssertSqlSafe(rendered.select_sql)),
                &rendered.select_binds,
            );
            let rows = select_query.fetch_all(&mut *transaction).await?;
            for row in &rows {
                let group = group_from_row(row)?;
                let members = match include_members {
                    true => Some(select_members(&mut transaction, &group.id).await?),
                    false => None,
                };
                groups.push((group, members));
            }
        }
        transaction.commit().await?;
        Ok(GroupPage { groups, total })
    }

    async fn check_membership(
        &self,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<(GroupEpoch, bool), StoreError> {
        let row = sqlx::query(
            "SELECT g.version, EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.id AND m.user_id = ?) \
             FROM groups AS g WHERE g.workspace_id = ? AND g.id = ?",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(group_id)
        .fetch_optional(&self.reader)
        .await?;
        match row {
            None => Ok((GroupEpoch::Absent, false)),
            Some(row) => Ok((GroupEpoch::Version(row.try_get(0)?), row.try_get(1)?)),
        }
    }

    async fn check_memberships(
        &self,
        workspace_id: &str,
        pairs: &[(String, String)],
    ) -> Result<MembershipSnapshot, StoreError> {
        let group_ids: Vec<&str> = distinct(pairs.iter().map(|(group_id, _)| group_id.as_str()));
        let mut snapshot = MembershipSnapshot::default();

        let mut transaction = self.reader.begin().await?;
        for chunk in group_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT id, version FROM groups WHERE workspace_id = ? AND id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace_id);
            for group_id in chunk {
                query = query.bind(*group_id);
            }
            for row in query.fetch_all(&mut *transaction).await? {
                snapshot
                    .epochs
                    .insert(row.try_get("id")?, row.try_get("version")?);
            }
        }
        for chunk in pairs.chunks(PAIRS_PER_STATEMENT) {
            // Row values use the primary key (group_id, user_id) directly.
            let sql = format!(
                "SELECT group_id, user_id FROM group_members WHERE workspace_id = ? AND (group_id, user_id) IN (VALUES {})",
                vec!["(?, ?)"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace_id);
            for (group_id, user_id) in chunk {
                query = query.bind(group_id).bind(user_id);
            }
            for row in query.fetch_all(&mut *transaction).await? {
                snapshot
                    .members
                    .insert((row.try_get("group_id")?, row.try_get("user_id")?));
            }
        }
        transaction.commit().await?;
        Ok(snapshot)
    }

    async fn groups_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<UserGroups, StoreError> {
        let mut transaction = self.reader.begin().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "SELECT epoch FROM user_membership_epochs WHERE workspace_id = ? AND user_id = ?",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let rows = sqlx::query(
            "SELECT g.id, g.display_name FROM group_members AS m JOIN groups AS g ON g.id = m.group_id \
             WHERE m.workspace_id = ? AND m.user_id = ? ORDER BY g.id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;

        let groups = rows
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("display_name")?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(UserGroups {
            epoch: epoch.unwrap_or(0),
            groups,
        })
    }

    async fn list_members(
        &self,
        workspace_id: &str,
        group_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Option<Vec<MemberRecord>>, StoreError> {
        let mut transaction = self.reader.begin().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM groups WHERE workspace_id = ? AND id = ?")
                .bind(workspace_id)
                .bind(group_id)
                .fetch_optional(&mut *transaction)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        // user_id is never empty, so '' starts at the first member.
        let rows = sqlx::query(
            "SELECT user_id, display, type FROM group_members WHERE group_id = ? AND user_id > ? \
             ORDER BY user_id LIMIT ?",
        )
        .bind(group_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Some(
            rows.iter().map(member_from_row).collect::<Result<_, _>>()?,
        ))
    }
}

async fn select_group(
    connection: &mut SqliteConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<Option<GroupRecord>, StoreError> {
    let sql =
        format!("SELECT {GROUP_COLUMNS} FROM groups AS g WHERE g.workspace_id = ? AND g.id = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(group_id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(group_from_row).transpose()
}

async fn select_members(
    connection: &mut SqliteConnection,
    group_id: &str,
) -> Result<Vec<MemberRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id, display, type FROM group_members WHERE group_id = ? ORDER BY user_id",
    )
    .bind(group_id)
    .fetch_all(&mut *connection)
    .await?;
    rows.iter().map(member_from_row).collect()
}

fn bind_values<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments>,
    values: &[SqlValue],
) -> Query<'q, Sqlite, SqliteArguments> {
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::Int(number) => query.bind(*number),
            SqlValue::Timestamp(at) => query.bind(to_micros(*at)),
        };
    }
    query
}

fn group_from_row(row: &SqliteRow) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        version: row.try_get("version")?,
        member_count: row.try_get("member_count")?,
        created: from_micros(row.try_get("created")?)?,
        last_modified: from_micros(row.try_get("last_modified")?)?,
    })
}

fn member_from_row(row: &SqliteRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        user_id: row.try_get("user_id")?,
        display: row.try_get("display")?,
        kind: row.try_get("type")?,
    })
}

/// Returns the distinct items in first-seen order.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

fn to_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::InvalidRow(format!("timestamp out of range: {error}")))
}
