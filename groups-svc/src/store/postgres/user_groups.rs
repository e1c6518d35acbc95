//! User Group reads and write steps of the PostgreSQL engine. Writers of
//! one User Group serialize on its row lock. Id lists are bound as
//! `text[]`, so each step is one statement whatever the list's size.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, PgConnection, Row, postgres::PgRow};
use time::OffsetDateTime;

use super::{PostgresStore, write::PostgresWrite};
use crate::{
    error::StoreError,
    store::{
        GroupEpoch, SyncableGroupRecord, UserGroupEntry, UserGroupRead, UserGroupRecord,
        UserGroupSource, UserGroupSummary, UserGroupWrite, UserGroupsOfUser,
    },
};

/// Columns read for every User Group row.
const USER_GROUP_COLUMNS: &str = "u.id, u.workspace_id, u.name, u.source, u.idp_group_id, u.member_count, u.version, u.created, u.last_modified";

#[async_trait]
impl UserGroupRead for PostgresStore {
    async fn get_user_group(
        &self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        select_user_group(&mut connection, workspace_id, user_group_id, "").await
    }

    async fn list_user_groups(
        &self,
        workspace_id: &str,
        source: Option<UserGroupSource>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserGroupRecord>, StoreError> {
        // Ids are never empty, so '' starts at the first User Group.
        let sql = format!(
            "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u WHERE u.workspace_id = $1 AND u.id > $2 \
             AND ($3::text IS NULL OR u.source = $3) ORDER BY u.id LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(after.unwrap_or(""))
            .bind(source.map(UserGroupSource::as_str))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_group_from_row).collect()
    }

    async fn check_user_group_membership(
        &self,
        workspace_id: &str,
        user_group_id: &str,
        user_id: &str,
    ) -> Result<(GroupEpoch, bool), StoreError> {
        let row = sqlx::query(
            "SELECT u.version, EXISTS (SELECT 1 FROM user_group_members AS m \
             WHERE m.user_group_id = u.id AND m.user_id = $1) \
             FROM user_groups AS u WHERE u.workspace_id = $2 AND u.id = $3",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(user_group_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok((GroupEpoch::Absent, false)),
            Some(row) => Ok((GroupEpoch::Version(row.try_get(0)?), row.try_get(1)?)),
        }
    }

    async fn user_groups_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<UserGroupsOfUser, StoreError> {
        let mut transaction = self.begin_snapshot().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "SELECT epoch FROM user_membership_epochs WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.source FROM user_group_members AS m \
             JOIN user_groups AS u ON u.id = m.user_group_id \
             WHERE m.workspace_id = $1 AND m.user_id = $2 ORDER BY u.id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;

        let user_groups = rows
            .iter()
            .map(|row| {
                let source: String = row.try_get("source")?;
                Ok(UserGroupEntry {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    source: UserGroupSource::parse(&source)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(UserGroupsOfUser {
            epoch: epoch.unwrap_or(0),
            user_groups,
        })
    }

    async fn list_user_group_members(
        &self,
        workspace_id: &str,
        user_group_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut transaction = self.begin_snapshot().await?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM user_groups WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id)
                .bind(user_group_id)
                .fetch_optional(&mut *transaction)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        // user_id is never empty, so '' starts at the first member.
        let user_ids = sqlx::query_scalar(
            "SELECT user_id FROM user_group_members WHERE user_group_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(user_group_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Some(user_ids))
    }

    async fn list_syncable_groups(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SyncableGroupRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.id, g.display_name, g.member_count, u.id AS user_group_id \
             FROM groups AS g LEFT JOIN user_groups AS u ON u.idp_group_id = g.id \
             WHERE g.workspace_id = $1 AND g.id > $2 ORDER BY g.id LIMIT $3",
        )
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SyncableGroupRecord {
                    group_id: row.try_get("id")?,
                    display_name: row.try_get("display_name")?,
                    member_count: row.try_get("member_count")?,
                    user_group_id: row.try_get("user_group_id")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl UserGroupWrite for PostgresWrite {
    async fn insert_user_group(&mut self, user_group: &UserGroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_groups (id, workspace_id, name, source, idp_group_id, member_count, version, \
             created, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&user_group.id)
        .bind(&user_group.workspace_id)
        .bind(&user_group.name)
        .bind(user_group.source.as_str())
        .bind(&user_group.idp_group_id)
        .bind(user_group.member_count)
        .bind(user_group.version)
        .bind(user_group.created)
        .bind(user_group.last_modified)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn lock_user_group(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        select_user_group(
            &mut self.transaction,
            workspace_id,
            user_group_id,
            " FOR UPDATE",
        )
        .await
    }

    async fn lock_synced_user_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u \
             WHERE u.workspace_id = $1 AND u.idp_group_id = $2 FOR UPDATE"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(group_id)
            .fetch_optional(&mut *self.transaction)
            .await?;
        row.as_ref().map(user_group_from_row).transpose()
    }

    async fn update_user_group(&mut self, user_group: &UserGroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE user_groups SET name = $1, version = $2, member_count = $3, last_modified = $4 \
             WHERE workspace_id = $5 AND id = $6",
        )
        .bind(&user_group.name)
        .bind(user_group.version)
        .bind(user_group.member_count)
        .bind(user_group.last_modified)
        .bind(&user_group.workspace_id)
        .bind(&user_group.id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn delete_user_group(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_groups WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id)
            .bind(user_group_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    async fn insert_user_group_members(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
        user_ids: &[String],
        added: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = sqlx::query_scalar(
            "INSERT INTO user_group_members (workspace_id, user_group_id, user_id, added) \
             SELECT $1, $2, u.user_id, $4 FROM UNNEST($3::text[]) AS u (user_id) \
             ON CONFLICT (user_group_id, user_id) DO NOTHING RETURNING user_id",
        )
        .bind(workspace_id)
        .bind(user_group_id)
        .bind(user_ids)
        .bind(added)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn delete_user_group_members(
        &mut self,
        user_group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = sqlx::query_scalar(
            "DELETE FROM user_group_members WHERE user_group_id = $1 AND user_id = ANY($2) RETURNING user_id",
        )
        .bind(user_group_id)
        .bind(user_ids)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn copy_group_members(
        &mut self,
        workspace_id: &str,
        group_id: &str,
        user_group_id: &str,
        added: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let result = sqlx::query(
            "INSERT INTO user_group_members (workspace_id, user_group_id, user_id, added) \
             SELECT $1::text, $2::text, m.user_id, $4 FROM group_members AS m \
             WHERE m.workspace_id = $1 AND m.group_id = $3",
        )
        .bind(workspace_id)
        .bind(user_group_id)
        .bind(group_id)
        .bind(added)
        .execute(&mut *self.transaction)
        .await?;
        Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
    }

    async fn user_group_member_ids(
        &mut self,
        user_group_id: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar(
            "SELECT user_id FROM user_group_members WHERE user_group_id = $1 ORDER BY user_id LIMIT $2",
        )
        .bind(user_group_id)
        .bind(limit)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn bump_user_group_member_epochs(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<(), StoreError> {
        // Ordered by user id, as bump_user_epochs is, so concurrent bumps
        // lock the epoch rows in the same order.
        sqlx::query(
            "INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) \
             SELECT $1::text, m.user_id, 1 FROM user_group_members AS m WHERE m.user_group_id = $2 \
             ORDER BY m.user_id \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET epoch = user_membership_epochs.epoch + 1",
        )
        .bind(workspace_id)
        .bind(user_group_id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn delete_synced_user_groups(
        &mut self,
        workspace_id: &str,
    ) -> Result<Vec<UserGroupSummary>, StoreError> {
        let rows = sqlx::query(
            "DELETE FROM user_groups WHERE workspace_id = $1 AND source = 'idp' \
             RETURNING id, name, member_count, idp_group_id",
        )
        .bind(workspace_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        let mut deleted: Vec<UserGroupSummary> = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        deleted.sort_unstable_by(|left, right| left.id.cmp(&right.id));
        Ok(deleted)
    }

    async fn lock_user_groups_of_user(
        &mut self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        // Locking in id order keeps two removals from deadlocking each other.
        let ids = sqlx::query_scalar(
            "SELECT u.id FROM user_groups AS u WHERE u.workspace_id = $1 AND u.id IN \
             (SELECT m.user_group_id FROM user_group_members AS m WHERE m.workspace_id = $1 AND m.user_id = $2) \
             ORDER BY u.id FOR UPDATE",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn remove_user_from_user_groups(
        &mut self,
        workspace_id: &str,
        user_id: &str,
        user_group_ids: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<UserGroupSummary>, StoreError> {
        if user_group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "WITH removed AS (DELETE FROM user_group_members WHERE workspace_id = $1 AND user_id = $2 \
             AND user_group_id = ANY($3) RETURNING user_group_id) \
             UPDATE user_groups AS u SET version = u.version + 1, member_count = u.member_count - 1, \
             last_modified = $4 FROM removed WHERE u.id = removed.user_group_id \
             RETURNING u.id, u.name, u.member_count, u.idp_group_id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(user_group_ids)
        .bind(at)
        .fetch_all(&mut *self.transaction)
        .await?;
        let mut removed: Vec<UserGroupSummary> = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        removed.sort_unstable_by(|left, right| left.id.cmp(&right.id));
        Ok(removed)
    }
}

/// Reads one User Group; `suffix` may add a locking clause such as
/// `FOR UPDATE`.
async fn select_user_group(
    connection: &mut PgConnection,
    workspace_id: &str,
    user_group_id: &str,
    suffix: &'static str,
) -> Result<Option<UserGroupRecord>, StoreError> {
    let sql = format!(
        "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u WHERE u.workspace_id = $1 AND u.id = $2{suffix}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(user_group_id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(user_group_from_row).transpose()
}

fn user_group_from_row(row: &PgRow) -> Result<UserGroupRecord, StoreError> {
    let source: String = row.try_get("source")?;
    Ok(UserGroupRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        source: UserGroupSource::parse(&source)?,
        idp_group_id: row.try_get("idp_group_id")?,
        member_count: row.try_get("member_count")?,
        version: row.try_get("version")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
    })
}

fn summary_from_row(row: &PgRow) -> Result<UserGroupSummary, sqlx::Error> {
    Ok(UserGroupSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        member_count: row.try_get("member_count")?,
        idp_group_id: row.try_get("idp_group_id")?,
    })
}
