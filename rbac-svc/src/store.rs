//! Storage of rbac-svc: one implementation over sqlx's Any driver for both
//! engines. Each statement is written once, in SQL that PostgreSQL and
//! SQLite both accept, with `$N` placeholders, which SQLite reads as numbered
//! parameters. The few statements that differ branch on [`Engine`].
//!
//! Writes of a workspace are serialised. On PostgreSQL, every write
//! transaction first takes a transaction-level advisory lock on the
//! workspace id. On SQLite, writes go through a single writer connection
//! with `BEGIN IMMEDIATE`. Recomputing roles reads memberships and mappings and
//! then writes roles, so two writers of one workspace must never interleave.

use std::{collections::HashMap, str::FromStr, time::Duration};

use sqlx::{
    Any, AnyConnection, AnyPool, Executor as _, Row, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions, AnyRow},
};
use time::OffsetDateTime;

use crate::{
    catalogue::{BUILT_IN_ROLES, INITIAL_DEFAULT_ROLE},
    error::StoreError,
};

/// Ids bound per `IN (...)` list.
pub const IDS_PER_STATEMENT: usize = 500;
/// How long a SQLite statement waits for another process's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a PostgreSQL connection may take to be handed out.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The database engine behind the Any driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

/// Connection pools of the role database.
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engine,
    /// Pool of write transactions: one connection on SQLite.
    writer: AnyPool,
    /// Pool of reads; the writer pool itself on PostgreSQL and for an
    /// in-memory SQLite database.
    reader: AnyPool,
}

/// A write transaction holding the workspace's write lock.
pub type WriteTx = Transaction<'static, Any>;

impl Store {
    /// Opens `database_url` (`postgres://...`, `sqlite://path?mode=rwc` or
    /// `sqlite::memory:`) and applies the migrations.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = if database_url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(database_url)?;

        let store = match engine {
            Engine::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Self {
                    engine,
                    writer: pool.clone(),
                    reader: pool,
                }
            }
            Engine::Sqlite => {
                let in_memory =
                    database_url.contains(":memory:") || database_url.contains("mode=memory");
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
                Self {
                    engine,
                    writer,
                    reader,
                }
            }
        };
        Ok(store)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Pool for reads outside a write transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Pool for writes outside a write transaction, such as the outbox's
    /// delivery state.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Begins a write transaction and takes the write lock of `workspace_id`.
    pub async fn begin_write(&self, workspace_id: &str) -> Result<WriteTx, StoreError> {
        match self.engine {
            Engine::Postgres => {
                let mut transaction = self.writer.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(format!("rbac:{workspace_id}"))
                    .execute(&mut *transaction)
                    .await?;
                Ok(transaction)
            }
            // IMMEDIATE takes the write lock up front; a deferred transaction
            // that reads and then writes fails with SQLITE_BUSY when another
            // process writes in between.
            Engine::Sqlite => Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Deletes at most `limit` processed event ids recorded before
    /// `before_micros`, oldest first, and returns how many it deleted.
    pub async fn prune_processed_events(
        &self,
        before_micros: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM processed_events WHERE event_id IN (\
               SELECT event_id FROM processed_events WHERE processed < $1 \
               ORDER BY processed LIMIT $2)",
        )
        .bind(before_micros)
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }
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
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_timeout}"
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

/// Returns `$start, $start+1, ...` with `count` placeholders.
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Current time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    let now = OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Origin of a stored effective role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Default,
    Group,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Group => "group",
            Self::Manual => "manual",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "default" => Ok(Self::Default),
            "group" => Ok(Self::Group),
            "manual" => Ok(Self::Manual),
            other => Err(StoreError::InvalidRow(format!("role_source {other:?}"))),
        }
    }
}

/// A stored user with its effective role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub user_id: String,
    pub active: bool,
    pub scim_managed: bool,
    pub manual_role: Option<String>,
    pub role: String,
    pub source: Source,
    pub group_id: Option<String>,
    pub version: i64,
}

const USER_COLUMNS: &str =
    "user_id, active, scim_managed, manual_role, role, role_source, role_group_id, version";

fn user_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    let source: String = row.try_get("role_source")?;
    Ok(UserRow {
        user_id: row.try_get("user_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
        scim_managed: row.try_get::<i64, _>("scim_managed")? != 0,
        manual_role: row.try_get("manual_role")?,
        role: row.try_get("role")?,
        source: Source::parse(&source)?,
        group_id: row.try_get("role_group_id")?,
        version: row.try_get("version")?,
    })
}

/// A role of a workspace's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub name: String,
    pub rank: i32,
    pub description: String,
}

/// Roles and default role of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Highest rank first.
    pub roles: Vec<RoleRow>,
    pub default_role: String,
}

impl Catalogue {
    /// Returns the built-in catalogue, for a workspace the service has not
    /// stored yet.
    pub fn built_in() -> Self {
        let mut roles: Vec<RoleRow> = BUILT_IN_ROLES
            .iter()
            .map(|role| RoleRow {
                name: role.name.to_owned(),
                rank: role.rank,
                description: role.description.to_owned(),
            })
            .collect();
        roles.sort_by_key(|role| std::cmp::Reverse(role.rank));
        Self {
            roles,
            default_role: INITIAL_DEFAULT_ROLE.to_owned(),
        }
    }

    pub fn rank(&self, role: &str) -> Option<i32> {
        self.roles
            .iter()
            .find(|candidate| candidate.name == role)
            .map(|candidate| candidate.rank)
    }
}

/// Reads the catalogue of `workspace_id`, or the built-in one when the
/// workspace has none stored.
pub async fn catalogue(
    connection: &mut AnyConnection,
    workspace_id: &str,
) -> Result<Catalogue, StoreError> {
    let default_role: Option<String> =
        sqlx::query_scalar("SELECT default_role FROM rbac_workspaces WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(&mut *connection)
            .await?;
    let Some(default_role) = default_role else {
        return Ok(Catalogue::built_in());
    };
    let rows = sqlx::query(
        "SELECT name, rank, description FROM roles WHERE workspace_id = $1 ORDER BY rank DESC",
    )
    .bind(workspace_id)
    .fetch_all(&mut *connection)
    .await?;
    let roles = rows
        .iter()
        .map(|row| {
            let rank: i64 = row.try_get("rank")?;
            Ok(RoleRow {
                name: row.try_get("name")?,
                rank: i32::try_from(rank)
                    .map_err(|_| StoreError::InvalidRow(format!("rank {rank}")))?,
                description: row.try_get("description")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Catalogue {
        roles,
        default_role,
    })
}

/// Stores the workspace and its built-in catalogue when missing.
pub async fn ensure_workspace(
    connection: &mut AnyConnection,
    workspace_id: &str,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO rbac_workspaces (workspace_id, default_role, created) VALUES ($1, $2, $3) \
         ON CONFLICT (workspace_id) DO NOTHING",
    )
    .bind(workspace_id)
    .bind(INITIAL_DEFAULT_ROLE)
    .bind(now_micros())
    .execute(&mut *connection)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(());
    }
    for role in BUILT_IN_ROLES {
        sqlx::query(
            "INSERT INTO roles (workspace_id, name, rank, description) VALUES ($1, $2, $3, $4)",
        )
        .bind(workspace_id)
        .bind(role.name)
        .bind(i64::from(role.rank))
        .bind(role.description)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

pub async fn set_default_role(
    connection: &mut AnyConnection,
    workspace_id: &str,
    role: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE rbac_workspaces SET default_role = $2 WHERE workspace_id = $1")
        .bind(workspace_id)
        .bind(role)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Records `event_id` as applied. Returns false when it was applied before.
pub async fn mark_processed(
    connection: &mut AnyConnection,
    event_id: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO processed_events (event_id, processed) VALUES ($1, $2) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(now_micros())
    .execute(&mut *connection)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Reads the stored users among `user_ids`, in no particular order.
pub async fn users(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_ids: &[String],
) -> Result<Vec<UserRow>, StoreError> {
    let mut users = Vec::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND user_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace_id);
        for user_id in chunk {
            query = query.bind(user_id);
        }
        for row in query.fetch_all(&mut *connection).await? {
            users.push(user_row(&row)?);
        }
    }
    Ok(users)
}

/// Reads one stored user.
pub async fn user(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_id: &str,
) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND user_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(user_row).transpose()
}

/// Returns the groups of each of `user_ids`, as (user id, group id) pairs.
pub async fn memberships_of(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut pairs = Vec::new();
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT user_id, group_id FROM group_members WHERE workspace_id = $1 AND user_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace_id);
        for user_id in chunk {
            query = query.bind(user_id);
        }
        for row in query.fetch_all(&mut *connection).await? {
            pairs.push((row.try_get("user_id")?, row.try_get("group_id")?));
        }
    }
    Ok(pairs)
}

/// Returns every mapping of the workspace as group id to role.
pub async fn mappings(
    connection: &mut AnyConnection,
    workspace_id: &str,
) -> Result<HashMap<String, String>, StoreError> {
    let rows = sqlx::query("SELECT group_id, role FROM group_mappings WHERE workspace_id = $1")
        .bind(workspace_id)
        .fetch_all(&mut *connection)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("group_id")?, row.try_get("role")?)))
        .collect()
}

/// Returns the stored users who are members of the group, ordered by id.
pub async fn known_members(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<Vec<String>, StoreError> {
    let ids = sqlx::query_scalar(
        "SELECT m.user_id FROM group_members m JOIN users u \
           ON u.workspace_id = m.workspace_id AND u.user_id = m.user_id \
         WHERE m.workspace_id = $1 AND m.group_id = $2 ORDER BY m.user_id",
    )
    .bind(workspace_id)
    .bind(group_id)
    .fetch_all(&mut *connection)
    .await?;
    Ok(ids)
}

/// Stored users chosen by a condition, read with joins so that a group of
/// any size costs one statement per read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSet<'a> {
    /// The stored users who are members of the group.
    GroupMembers(&'a str),
    /// The users whose role is the default role.
    OnDefaultRole,
}

impl<'a> UserSet<'a> {
    /// Returns the FROM and WHERE clauses that select the set's users as
    /// `u`, with the workspace id as `$1` and the group id, if any, as `$2`.
    fn clauses(self) -> &'static str {
        match self {
            Self::GroupMembers(_) => {
                "FROM group_members s JOIN users u \
                   ON u.workspace_id = s.workspace_id AND u.user_id = s.user_id \
                 WHERE s.workspace_id = $1 AND s.group_id = $2"
            }
            Self::OnDefaultRole => {
                "FROM users u WHERE u.workspace_id = $1 AND u.role_source = 'default'"
            }
        }
    }

    /// Runs `sql`, built on [`Self::clauses`], with the set's parameters
    /// bound.
    async fn fetch(
        self,
        connection: &mut AnyConnection,
        workspace_id: &str,
        sql: String,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace_id);
        let query = match self {
            Self::GroupMembers(group_id) => query.bind(group_id),
            Self::OnDefaultRole => query,
        };
        Ok(query.fetch_all(&mut *connection).await?)
    }
}

/// Reads the stored users of the set, in no particular order.
pub async fn users_in(
    connection: &mut AnyConnection,
    workspace_id: &str,
    set: UserSet<'_>,
) -> Result<Vec<UserRow>, StoreError> {
    let columns = USER_COLUMNS
        .split(", ")
        .map(|column| format!("u.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {columns} {}", set.clauses());
    set.fetch(connection, workspace_id, sql)
        .await?
        .iter()
        .map(user_row)
        .collect()
}

/// Returns every group of each stored user of the set, as (user id, group
/// id) pairs.
pub async fn memberships_in(
    connection: &mut AnyConnection,
    workspace_id: &str,
    set: UserSet<'_>,
) -> Result<Vec<(String, String)>, StoreError> {
    let sql = format!(
        "SELECT g.user_id, g.group_id FROM group_members g \
         JOIN (SELECT u.user_id {}) chosen ON chosen.user_id = g.user_id \
         WHERE g.workspace_id = $1",
        set.clauses()
    );
    set.fetch(connection, workspace_id, sql)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("user_id")?, row.try_get("group_id")?)))
        .collect()
}

/// A group with its mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMappingRow {
    pub group_id: String,
    pub display_name: String,
    pub member_count: i64,
    pub role: Option<String>,
}

/// Returns the group, whether or not it is mapped.
pub async fn group(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<Option<GroupMappingRow>, StoreError> {
    let rows = group_mappings(connection, workspace_id, false, Some(group_id), None, 1).await?;
    Ok(rows.into_iter().next())
}

/// Returns groups with their mapping, ordered by group id: those after
/// `after`, or only `exact`, up to `limit`.
pub async fn group_mappings(
    connection: &mut AnyConnection,
    workspace_id: &str,
    mapped_only: bool,
    exact: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<GroupMappingRow>, StoreError> {
    let join = if mapped_only { "JOIN" } else { "LEFT JOIN" };
    let sql = format!(
        "SELECT g.group_id, g.display_name, g.member_count, mp.role FROM idp_groups g \
         {join} group_mappings mp ON mp.workspace_id = g.workspace_id AND mp.group_id = g.group_id \
         WHERE g.workspace_id = $1 AND ($2 = '' OR g.group_id = $2) AND g.group_id > $3 \
         ORDER BY g.group_id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(exact.unwrap_or(""))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(GroupMappingRow {
                group_id: row.try_get("group_id")?,
                display_name: row.try_get("display_name")?,
                member_count: row.try_get("member_count")?,
                role: row.try_get("role")?,
            })
        })
        .collect()
}

/// Returns active users whose role is `role`, ordered by id, after `after`.
pub async fn users_with_role(
    connection: &mut AnyConnection,
    workspace_id: &str,
    role: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let ids = sqlx::query_scalar(
        "SELECT user_id FROM users WHERE workspace_id = $1 AND role = $2 AND active = 1 \
         AND user_id > $3 ORDER BY user_id LIMIT $4",
    )
    .bind(workspace_id)
    .bind(role)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *connection)
    .await?;
    Ok(ids)
}

/// Inserts a user with its first effective role.
pub async fn insert_user(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user: &UserRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (workspace_id, user_id, active, scim_managed, manual_role, role, role_source, \
         role_group_id, version, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(workspace_id)
    .bind(&user.user_id)
    .bind(i64::from(user.active))
    .bind(i64::from(user.scim_managed))
    .bind(user.manual_role.as_deref())
    .bind(&user.role)
    .bind(user.source.as_str())
    .bind(user.group_id.as_deref())
    .bind(user.version)
    .bind(now_micros())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Writes every field of a stored user and bumps its version.
pub async fn update_user(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user: &UserRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET active = $3, scim_managed = $4, manual_role = $5, role = $6, role_source = $7, \
         role_group_id = $8, version = version + 1, updated = $9 WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(workspace_id)
    .bind(&user.user_id)
    .bind(i64::from(user.active))
    .bind(i64::from(user.scim_managed))
    .bind(user.manual_role.as_deref())
    .bind(&user.role)
    .bind(user.source.as_str())
    .bind(user.group_id.as_deref())
    .bind(now_micros())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Stores the role, its source and its group of each user in `users`,
/// bumping each version, in one statement per [`IDS_PER_STATEMENT`] users.
/// The other columns of `users` are not written.
pub async fn update_roles(
    connection: &mut AnyConnection,
    workspace_id: &str,
    users: &[UserRow],
) -> Result<(), StoreError> {
    let updated = now_micros();
    for chunk in users.chunks(IDS_PER_STATEMENT) {
        let rows = (0..chunk.len())
            .map(|row| {
                let first = 3 + row * 4;
                format!("({})", placeholders(first, 4))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "WITH changed (user_id, role, role_source, role_group_id) AS (VALUES {rows}) \
             UPDATE users SET role = changed.role, role_source = changed.role_source, \
             role_group_id = changed.role_group_id, version = users.version + 1, updated = $2 \
             FROM changed WHERE users.workspace_id = $1 AND users.user_id = changed.user_id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(updated);
        for user in chunk {
            query = query
                .bind(&user.user_id)
                .bind(&user.role)
                .bind(user.source.as_str())
                .bind(user.group_id.as_deref());
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Deletes a user and its memberships. Returns the groups it was in.
pub async fn delete_user(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_id: &str,
) -> Result<Vec<String>, StoreError> {
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(workspace_id)
    .bind(user_id)
    .fetch_all(&mut *connection)
    .await?;
    for group_id in &groups {
        remove_members(connection, workspace_id, group_id, &[user_id.to_owned()]).await?;
    }
    sqlx::query("DELETE FROM users WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .execute(&mut *connection)
        .await?;
    Ok(groups)
}

/// Stores a group or renames it.
pub async fn upsert_group(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    display_name: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idp_groups (workspace_id, group_id, display_name, member_count) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (workspace_id, group_id) DO UPDATE SET display_name = excluded.display_name",
    )
    .bind(workspace_id)
    .bind(group_id)
    .bind(display_name)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Adds members; ones already present are skipped. Returns the number added.
pub async fn add_members(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    user_ids: &[String],
) -> Result<i64, StoreError> {
    let mut added = 0;
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let values = (0..chunk.len())
            .map(|index| format!("($1, $2, ${})", index + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO group_members (workspace_id, group_id, user_id) VALUES {values} \
             ON CONFLICT (workspace_id, group_id, user_id) DO NOTHING"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(group_id);
        for user_id in chunk {
            query = query.bind(user_id);
        }
        let result = query.execute(&mut *connection).await?;
        added += i64::try_from(result.rows_affected()).unwrap_or(0);
    }
    adjust_member_count(connection, workspace_id, group_id, added).await?;
    Ok(added)
}

/// Removes members; absent ones are skipped. Returns the number removed.
pub async fn remove_members(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    user_ids: &[String],
) -> Result<i64, StoreError> {
    let mut removed = 0;
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2 AND user_id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(group_id);
        for user_id in chunk {
            query = query.bind(user_id);
        }
        let result = query.execute(&mut *connection).await?;
        removed += i64::try_from(result.rows_affected()).unwrap_or(0);
    }
    adjust_member_count(connection, workspace_id, group_id, -removed).await?;
    Ok(removed)
}

async fn adjust_member_count(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    delta: i64,
) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE idp_groups SET member_count = member_count + $3 WHERE workspace_id = $1 AND group_id = $2",
    )
    .bind(workspace_id)
    .bind(group_id)
    .bind(delta)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Deletes a group with its members and mapping.
pub async fn delete_group(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<(), StoreError> {
    for table in ["group_members", "group_mappings", "idp_groups"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND group_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(group_id)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Maps a group to a role, replacing its previous mapping.
pub async fn set_mapping(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    role: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO group_mappings (workspace_id, group_id, role, updated) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, group_id) DO UPDATE SET role = excluded.role, updated = excluded.updated",
    )
    .bind(workspace_id)
    .bind(group_id)
    .bind(role)
    .bind(now_micros())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

pub async fn remove_mapping(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM group_mappings WHERE workspace_id = $1 AND group_id = $2")
        .bind(workspace_id)
        .bind(group_id)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Returns the role a group maps to, if any.
pub async fn mapping(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
) -> Result<Option<String>, StoreError> {
    let role = sqlx::query_scalar(
        "SELECT role FROM group_mappings WHERE workspace_id = $1 AND group_id = $2",
    )
    .bind(workspace_id)
    .bind(group_id)
    .fetch_optional(&mut *connection)
    .await?;
    Ok(role)
}
