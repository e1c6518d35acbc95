//! PostgreSQL engine. Timestamps are TIMESTAMPTZ, and id lists are bound as
//! one `text[]` parameter, so no statement needs chunking.

mod outbox;
mod user_groups;
mod write;

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    AssertSqlSafe, PgConnection, Postgres, Row,
    postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow},
    query::Query,
};
use time::OffsetDateTime;

use super::{
    GroupEpoch, GroupPage, GroupQuery, GroupRecord, MemberRecord, MembershipSnapshot, Store,
    UserGroups, WriteTx,
    render::{Dialect, GROUP_COLUMNS, SqlValue, render_group_query},
};
use crate::error::StoreError;

/// How long a request waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL engine.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
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

    /// Begins a read-only transaction whose statements share one snapshot.
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *transaction)
            .await?;
        Ok(transaction)
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

    async fn prune_processed_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM processed_events WHERE event_id IN (\
               SELECT event_id FROM processed_events WHERE processed_at < $1 \
               ORDER BY processed_at LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn begin_write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let transaction = self.pool.begin().await?;
        Ok(Box::new(write::PostgresWrite::new(transaction)))
    }

    async fn get_group(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        select_group(&mut connection, workspace_id, group_id, "").await
    }

    async fn get_group_with_members(
        &self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<(GroupRecord, Vec<MemberRecord>)>, StoreError> {
        let mut transaction = self.begin_snapshot().await?;
        let Some(group) = select_group(&mut transaction, workspace_id, group_id, "").await? else {
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
        let rendered = render_group_query(Dialect::Postgres, workspace_id, query);

        // One snapshot for the count and the page, so the total matches the rows.
        let mut transaction = self.begin_snapshot().await?;
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
            "SELECT g.version, EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.id AND m.user_id = $1) \
             FROM groups AS g WHERE g.workspace_id = $2 AND g.id = $3",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(group_id)
        .fetch_optional(&self.pool)
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
        let group_ids: Vec<&str> = pairs
            .iter()
            .map(|(group_id, _)| group_id.as_str())
            .collect();
        let user_ids: Vec<&str> = pairs.iter().map(|(_, user_id)| user_id.as_str()).collect();
        let mut snapshot = MembershipSnapshot::default();

        let mut transaction = self.begin_snapshot().await?;
        let groups =
            sqlx::query("SELECT id, version FROM groups WHERE workspace_id = $1 AND id = ANY($2)")
                .bind(workspace_id)
                .bind(&group_ids)
                .fetch_all(&mut *transaction)
                .await?;
        for row in groups {
            snapshot
                .epochs
                .insert(row.try_get("id")?, row.try_get("version")?);
        }
        let members = sqlx::query(
            "SELECT m.group_id, m.user_id FROM group_members AS m \
             JOIN UNNEST($2::text[], $3::text[]) AS p (group_id, user_id) \
             ON m.group_id = p.group_id AND m.user_id = p.user_id WHERE m.workspace_id = $1",
        )
        .bind(workspace_id)
        .bind(&group_ids)
        .bind(&user_ids)
        .fetch_all(&mut *transaction)
        .await?;
        for row in members {
            snapshot
                .members
                .insert((row.try_get("group_id")?, row.try_get("user_id")?));
        }
        transaction.commit().await?;
        Ok(snapshot)
    }

    async fn groups_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<UserGroups, StoreError> {
        let mut transaction = self.begin_snapshot().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "SELECT epoch FROM user_membership_epochs WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let rows = sqlx::query(
            "SELECT g.id, g.display_name FROM group_members AS m JOIN groups AS g ON g.id = m.group_id \
             WHERE m.workspace_id = $1 AND m.user_id = $2 ORDER BY g.id",
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
        let mut transaction = self.begin_snapshot().await?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM groups WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id)
                .bind(group_id)
                .fetch_optional(&mut *transaction)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        // user_id is never empty, so '' starts at the first member.
        let rows = sqlx::query(
            "SELECT user_id, display, type FROM group_members WHERE group_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
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

/// Reads one group; `suffix` may add a locking clause such as `FOR UPDATE`.
async fn select_group(
    connection: &mut PgConnection,
    workspace_id: &str,
    group_id: &str,
    suffix: &'static str,
) -> Result<Option<GroupRecord>, StoreError> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM groups AS g WHERE g.workspace_id = $1 AND g.id = $2{suffix}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(group_id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(group_from_row).transpose()
}

async fn select_members(
    connection: &mut PgConnection,
    group_id: &str,
) -> Result<Vec<MemberRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id, display, type FROM group_members WHERE group_id = $1 ORDER BY user_id",
    )
    .bind(group_id)
    .fetch_all(&mut *connection)
    .await?;
    rows.iter().map(member_from_row).collect()
}

fn bind_values<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    values: &[SqlValue],
) -> Query<'q, Postgres, PgArguments> {
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::Int(number) => query.bind(*number),
            SqlValue::Timestamp(at) => query.bind(*at),
        };
    }
    query
}

fn group_from_row(row: &PgRow) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        version: row.try_get("version")?,
        member_count: row.try_get("member_count")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
    })
}

fn member_from_row(row: &PgRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        user_id: row.try_get("user_id")?,
        display: row.try_get("display")?,
        kind: row.try_get("type")?,
    })
}
