//! User Group reads and write steps of the SQLite engine. Write steps run in
//! a transaction that holds the database's write lock, so locking a User
//! Group is a plain read. Id lists are chunked under the bound parameter
//! limit.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row, SqliteConnection, sqlite::SqliteRow};
use time::OffsetDateTime;

use super::{IDS_PER_STATEMENT, SqliteStore, from_micros, to_micros, write::SqliteWrite};
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
impl UserGroupRead for SqliteStore {
    async fn get_user_group(
        &self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        let mut connection = self.reader.acquire().await?;
        select_user_group(&mut connection, workspace_id, user_group_id).await
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
            "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u WHERE u.workspace_id = ?1 AND u.id > ?2 \
             AND (?3 IS NULL OR u.source = ?3) ORDER BY u.id LIMIT ?4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(after.unwrap_or(""))
            .bind(source.map(UserGroupSource::as_str))
            .bind(limit)
            .fetch_all(&self.reader)
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
             WHERE m.user_group_id = u.id AND m.user_id = ?) \
             FROM user_groups AS u WHERE u.workspace_id = ? AND u.id = ?",
        )
        .bind(user_id)
        .bind(workspace_id)
        .bind(user_group_id)
        .fetch_optional(&self.reader)
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
        // One read transaction is one WAL snapshot, so the epoch matches the rows.
        let mut transaction = self.reader.begin().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "SELECT epoch FROM user_membership_epochs WHERE workspace_id = ? AND user_id = ?",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.source FROM user_group_members AS m \
             JOIN user_groups AS u ON u.id = m.user_group_id \
             WHERE m.workspace_id = ? AND m.user_id = ? ORDER BY u.id",
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
        let mut transaction = self.reader.begin().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM user_groups WHERE workspace_id = ? AND id = ?")
                .bind(workspace_id)
                .bind(user_group_id)
                .fetch_optional(&mut *transaction)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        // user_id is never empty, so '' starts at the first member.
        let user_ids = sqlx::query_scalar(
            "SELECT user_id FROM user_group_members WHERE user_group_id = ? AND user_id > ? \
             ORDER BY user_id LIMIT ?",
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
             WHERE g.workspace_id = ? AND g.id > ? ORDER BY g.id LIMIT ?",
        )
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
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
impl UserGroupWrite for SqliteWrite {
    async fn insert_user_group(&mut self, user_group: &UserGroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_groups (id, workspace_id, name, source, idp_group_id, member_count, version, \
             created, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user_group.id)
        .bind(&user_group.workspace_id)
        .bind(&user_group.name)
        .bind(user_group.source.as_str())
        .bind(&user_group.idp_group_id)
        .bind(user_group.member_count)
        .bind(user_group.version)
        .bind(to_micros(user_group.created))
        .bind(to_micros(user_group.last_modified))
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn lock_user_group(
        &mut self,
        workspace_id: &str,
        user_group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        select_user_group(&mut self.transaction, workspace_id, user_group_id).await
    }

    async fn lock_synced_user_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<UserGroupRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u WHERE u.workspace_id = ? AND u.idp_group_id = ?"
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
            "UPDATE user_groups SET name = ?, version = ?, member_count = ?, last_modified = ? \
             WHERE workspace_id = ? AND id = ?",
        )
        .bind(&user_group.name)
        .bind(user_group.version)
        .bind(user_group.member_count)
        .bind(to_micros(user_group.last_modified))
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
        sqlx::query("DELETE FROM user_groups WHERE workspace_id = ? AND id = ?")
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
        let mut inserted = Vec::new();
        for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
            // ?1 to ?3 are shared by every row; row i binds ?(i+4).
            let rows: Vec<String> = (0..chunk.len())
                .map(|index| format!("(?1, ?2, ?{}, ?3)", index + 4))
                .collect();
            let sql = format!(
                "INSERT INTO user_group_members (workspace_id, user_group_id, user_id, added) VALUES {} \
                 ON CONFLICT (user_group_id, user_id) DO NOTHING RETURNING user_id",
                rows.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(workspace_id)
                .bind(user_group_id)
                .bind(to_micros(added));
            for user_id in chunk {
                query = query.bind(user_id);
            }
            for row in query.fetch_all(&mut *self.transaction).await? {
                inserted.push(row.try_get("user_id")?);
            }
        }
        Ok(inserted)
    }

    async fn delete_user_group_members(
        &mut self,
        user_group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut deleted = Vec::new();
        for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM user_group_members WHERE user_group_id = ? AND user_id IN ({}) RETURNING user_id",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(user_group_id);
            for user_id in chunk {
                query = query.bind(user_id);
            }
            for row in query.fetch_all(&mut *self.transaction).await? {
                deleted.push(row.try_get("user_id")?);
            }
        }
        Ok(deleted)
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
             SELECT ?1, ?2, m.user_id, ?4 FROM group_members AS m WHERE m.workspace_id = ?1 AND m.group_id = ?3",
        )
        .bind(workspace_id)
        .bind(user_group_id)
        .bind(group_id)
        .bind(to_micros(added))
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
            "SELECT user_id FROM user_group_members WHERE user_group_id = ? ORDER BY user_id LIMIT ?",
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
        // The WHERE clause also keeps SQLite from parsing ON CONFLICT as a
        // join constraint of the SELECT.
        sqlx::query(
            "INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) \
             SELECT ?1, m.user_id, 1 FROM user_group_members AS m WHERE m.user_group_id = ?2 \
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
            "DELETE FROM user_groups WHERE workspace_id = ? AND source = 'idp' \
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
        let ids = sqlx::query_scalar(
            "SELECT user_group_id FROM user_group_members WHERE workspace_id = ? AND user_id = ? \
             ORDER BY user_group_id",
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
        let mut removed: Vec<UserGroupSummary> = Vec::new();
        for chunk in user_group_ids.chunks(IDS_PER_STATEMENT) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let delete_sql = format!(
                "DELETE FROM user_group_members WHERE workspace_id = ? AND user_id = ? \
                 AND user_group_id IN ({placeholders}) RETURNING user_group_id"
            );
            let mut delete = sqlx::query(AssertSqlSafe(delete_sql))
                .bind(workspace_id)
                .bind(user_id);
            for user_group_id in chunk {
                delete = delete.bind(user_group_id);
            }
            let rows = delete.fetch_all(&mut *self.transaction).await?;
            let deleted: Vec<String> = rows
                .iter()
                .map(|row| row.try_get("user_group_id"))
                .collect::<Result<_, _>>()?;
            if deleted.is_empty() {
                continue;
            }

            let update_sql = format!(
                "UPDATE user_groups SET version = version + 1, member_count = member_count - 1, last_modified = ? \
                 WHERE workspace_id = ? AND id IN ({}) RETURNING id, name, member_count, idp_group_id",
                vec!["?"; deleted.len()].join(", ")
            );
            let mut update = sqlx::query(AssertSqlSafe(update_sql))
                .bind(to_micros(at))
                .bind(workspace_id);
            for user_group_id in &deleted {
                update = update.bind(user_group_id);
            }
            for row in update.fetch_all(&mut *self.transaction).await? {
                removed.push(summary_from_row(&row)?);
            }
        }
        removed.sort_unstable_by(|left, right| left.id.cmp(&right.id));
        Ok(removed)
    }
}

async fn select_user_group(
    connection: &mut SqliteConnection,
    workspace_id: &str,
    user_group_id: &str,
) -> Result<Option<UserGroupRecord>, StoreError> {
    let sql = format!(
        "SELECT {USER_GROUP_COLUMNS} FROM user_groups AS u WHERE u.workspace_id = ? AND u.id = ?"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(user_group_id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(user_group_from_row).transpose()
}

fn user_group_from_row(row: &SqliteRow) -> Result<UserGroupRecord, StoreError> {
    let source: String = row.try_get("source")?;
    Ok(UserGroupRecord {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        source: UserGroupSource::parse(&source)?,
        idp_group_id: row.try_get("idp_group_id")?,
        member_count: row.try_get("member_count")?,
        version: row.try_get("version")?,
        created: from_micros(row.try_get("created")?)?,
        last_modified: from_micros(row.try_get("last_modified")?)?,
    })
}

fn summary_from_row(row: &SqliteRow) -> Result<UserGroupSummary, sqlx::Error> {
    Ok(UserGroupSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        member_count: row.try_get("member_count")?,
        idp_group_id: row.try_get("idp_group_id")?,
    })
}
