//! Steps of a SQLite write transaction. The transaction began with
//! `BEGIN IMMEDIATE` on the single write connection, so it already holds the
//! database's write lock and [`WriteTx::lock_group`] is a plain read.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction, sqlite::SqliteRow};
use time::OffsetDateTime;

use super::{
    IDS_PER_STATEMENT, outbox::insert_outbox_events, select_group, select_members, to_micros,
};
use crate::{
    error::StoreError,
    fold::fold_str,
    store::{DeletedGroups, GroupRecord, GroupSummary, MemberRecord, OutboxEvent, WriteTx},
};

/// Member rows per INSERT, three parameters each plus three shared ones.
/// Far under SQLite's limit of 32,766 bound parameters because sqlx binds
/// large parameter lists slowly: 50,000 members took 2.5 s in chunks of
/// 5,000 rows and 0.25 s in chunks of 200 (debug build, 2-core machine).
const MEMBERS_PER_INSERT: usize = 200;
/// Epoch rows per upsert, one parameter each plus a shared one.
const EPOCHS_PER_UPSERT: usize = 500;

/// An open SQLite write transaction.
pub struct SqliteWrite {
    pub(super) transaction: Transaction<'static, Sqlite>,
}

impl SqliteWrite {
    pub fn new(transaction: Transaction<'static, Sqlite>) -> Self {
        Self { transaction }
    }
}

#[async_trait]
impl WriteTx for SqliteWrite {
    async fn insert_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO groups (id, workspace_id, display_name, display_name_folded, external_id, version, \
             member_count, created, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&group.id)
        .bind(&group.workspace_id)
        .bind(&group.display_name)
        .bind(fold_str(&group.display_name))
        .bind(&group.external_id)
        .bind(group.version)
        .bind(group.member_count)
        .bind(to_micros(group.created))
        .bind(to_micros(group.last_modified))
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn lock_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        select_group(&mut self.transaction, workspace_id, group_id).await
    }

    async fn update_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE groups SET display_name = ?, display_name_folded = ?, external_id = ?, version = ?, \
             member_count = ?, last_modified = ? WHERE workspace_id = ? AND id = ?",
        )
        .bind(&group.display_name)
        .bind(fold_str(&group.display_name))
        .bind(&group.external_id)
        .bind(group.version)
        .bind(group.member_count)
        .bind(to_micros(group.last_modified))
        .bind(&group.workspace_id)
        .bind(&group.id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn delete_group(&mut self, workspace_id: &str, group_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM groups WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id)
            .bind(group_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    async fn member_ids(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
            .bind(group_id)
            .fetch_all(&mut *self.transaction)
            .await?;
        Ok(ids)
    }

    async fn members(&mut self, group_id: &str) -> Result<Vec<MemberRecord>, StoreError> {
        select_members(&mut self.transaction, group_id).await
    }

    async fn insert_members(
        &mut self,
        workspace_id: &str,
        group_id: &str,
        members: &[MemberRecord],
        added: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut inserted = Vec::new();
        for chunk in members.chunks(MEMBERS_PER_INSERT) {
            // ?1 to ?3 are shared by every row; row i binds ?(3i+4) to ?(3i+6).
            let rows: Vec<String> = (0..chunk.len())
                .map(|index| {
                    let first = 3 * index + 4;
                    format!("(?1, ?2, ?{first}, ?{}, ?{}, ?3)", first + 1, first + 2)
                })
                .collect();
            let sql = format!(
                "INSERT INTO group_members (workspace_id, group_id, user_id, display, type, added) VALUES {} \
                 ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id",
                rows.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(workspace_id)
                .bind(group_id)
                .bind(to_micros(added));
            for member in chunk {
                query = query
                    .bind(&member.user_id)
                    .bind(&member.display)
                    .bind(&member.kind);
            }
            for row in query.fetch_all(&mut *self.transaction).await? {
                inserted.push(row.try_get("user_id")?);
            }
        }
        Ok(inserted)
    }

    async fn delete_members(
        &mut self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut deleted = Vec::new();
        for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM group_members WHERE group_id = ? AND user_id IN ({}) RETURNING user_id",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(group_id);
            for user_id in chunk {
                query = query.bind(user_id);
            }
            for row in query.fetch_all(&mut *self.transaction).await? {
                deleted.push(row.try_get("user_id")?);
            }
        }
        Ok(deleted)
    }

    async fn delete_all_members(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
        let ids =
            sqlx::query_scalar("DELETE FROM group_members WHERE group_id = ? RETURNING user_id")
                .bind(group_id)
                .fetch_all(&mut *self.transaction)
                .await?;
        Ok(ids)
    }

    async fn bump_user_epochs(
        &mut self,
        workspace_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        for chunk in user_ids.chunks(EPOCHS_PER_UPSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|index| format!("(?1, ?{}, 1)", index + 2))
                .collect();
            let sql = format!(
                "INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) VALUES {} \
                 ON CONFLICT (workspace_id, user_id) DO UPDATE SET epoch = user_membership_epochs.epoch + 1",
                rows.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace_id);
            for user_id in chunk {
                query = query.bind(user_id);
            }
            query.execute(&mut *self.transaction).await?;
        }
        Ok(())
    }

    async fn bump_member_epochs(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar(
            "UPDATE user_membership_epochs SET epoch = epoch + 1 WHERE workspace_id = ? \
             AND user_id IN (SELECT user_id FROM group_members WHERE group_id = ?) RETURNING user_id",
        )
        .bind(workspace_id)
        .bind(group_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn delete_workspace_groups(
        &mut self,
        workspace_id: &str,
    ) -> Result<DeletedGroups, StoreError> {
        // This transaction holds the database's write lock, so every
        // statement below reads the same groups and members.
        let rows = sqlx::query(
            "SELECT id, display_name, member_count FROM groups WHERE workspace_id = ? ORDER BY id",
        )
        .bind(workspace_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        if rows.is_empty() {
            return Ok(DeletedGroups::default());
        }
        let groups: Vec<GroupSummary> = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;

        // The WHERE clause also keeps SQLite from parsing ON CONFLICT as a
        // join constraint of the SELECT.
        let mut member_ids: Vec<String> = sqlx::query_scalar(
            "INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) \
             SELECT DISTINCT workspace_id, user_id, 1 FROM group_members WHERE workspace_id = ? ORDER BY user_id \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET epoch = user_membership_epochs.epoch + 1 \
             RETURNING user_id",
        )
        .bind(workspace_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        member_ids.sort_unstable();

        sqlx::query("DELETE FROM group_members WHERE workspace_id = ?")
            .bind(workspace_id)
            .execute(&mut *self.transaction)
            .await?;
        sqlx::query("DELETE FROM groups WHERE workspace_id = ?")
            .bind(workspace_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(DeletedGroups { groups, member_ids })
    }

    async fn lock_groups_of_user(
        &mut self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar(
            "SELECT group_id FROM group_members WHERE workspace_id = ? AND user_id = ? ORDER BY group_id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn remove_user_from_groups(
        &mut self,
        workspace_id: &str,
        user_id: &str,
        group_ids: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<GroupSummary>, StoreError> {
        let mut removed: Vec<GroupSummary> = Vec::new();
        for chunk in group_ids.chunks(IDS_PER_STATEMENT) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let delete_sql = format!(
                "DELETE FROM group_members WHERE workspace_id = ? AND user_id = ? AND group_id IN ({placeholders}) \
                 RETURNING group_id"
            );
            let mut delete = sqlx::query(AssertSqlSafe(delete_sql))
                .bind(workspace_id)
                .bind(user_id);
            for group_id in chunk {
                delete = delete.bind(group_id);
            }
            let rows = delete.fetch_all(&mut *self.transaction).await?;
            let deleted: Vec<String> = rows
                .iter()
                .map(|row| row.try_get("group_id"))
                .collect::<Result<_, _>>()?;
            if deleted.is_empty() {
                continue;
            }

            let update_sql = format!(
                "UPDATE groups SET version = version + 1, member_count = member_count - 1, last_modified = ? \
                 WHERE workspace_id = ? AND id IN ({}) RETURNING id, display_name, member_count",
                vec!["?"; deleted.len()].join(", ")
            );
            let mut update = sqlx::query(AssertSqlSafe(update_sql))
                .bind(to_micros(at))
                .bind(workspace_id);
            for group_id in &deleted {
                update = update.bind(group_id);
            }
            for row in update.fetch_all(&mut *self.transaction).await? {
                removed.push(summary_from_row(&row)?);
            }
        }
        removed.sort_unstable_by(|left, right| left.id.cmp(&right.id));
        Ok(removed)
    }

    async fn claim_event(
        &mut self,
        event_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO processed_events (event_id, processed_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(to_micros(at))
        .execute(&mut *self.transaction)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_outbox_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        insert_outbox_events(&mut self.transaction, events).await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.transaction.commit().await?;
        Ok(())
    }
}

fn summary_from_row(row: &SqliteRow) -> Result<GroupSummary, sqlx::Error> {
    Ok(GroupSummary {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        member_count: row.try_get("member_count")?,
    })
}
