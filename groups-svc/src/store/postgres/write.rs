//! Steps of a PostgreSQL write transaction (READ COMMITTED). Writers of one
//! group serialize on its row lock, taken by [`WriteTx::lock_group`] before
//! any member row is touched, so concurrent updates queue instead of
//! overwriting each other. Id lists are bound as `text[]` and expanded with
//! `UNNEST`, one statement per step whatever the list's size.

use async_trait::async_trait;
use sqlx::{Postgres, Row, Transaction, postgres::PgRow};
use time::OffsetDateTime;

use super::{outbox::insert_outbox_events, select_group, select_members};
use crate::{
    error::StoreError,
    fold::fold_str,
    store::{DeletedGroups, GroupRecord, GroupSummary, MemberRecord, OutboxEvent, WriteTx},
};

/// An open PostgreSQL write transaction.
pub struct PostgresWrite {
    pub(super) transaction: Transaction<'static, Postgres>,
}

impl PostgresWrite {
    pub fn new(transaction: Transaction<'static, Postgres>) -> Self {
        Self { transaction }
    }
}

#[async_trait]
impl WriteTx for PostgresWrite {
    async fn insert_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO groups (id, workspace_id, display_name, display_name_folded, external_id, version, \
             member_count, created, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&group.id)
        .bind(&group.workspace_id)
        .bind(&group.display_name)
        .bind(fold_str(&group.display_name))
        .bind(&group.external_id)
        .bind(group.version)
        .bind(group.member_count)
        .bind(group.created)
        .bind(group.last_modified)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn lock_group(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        select_group(&mut self.transaction, workspace_id, group_id, " FOR UPDATE").await
    }

    async fn update_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE groups SET display_name = $1, display_name_folded = $2, external_id = $3, version = $4, \
             member_count = $5, last_modified = $6 WHERE workspace_id = $7 AND id = $8",
        )
        .bind(&group.display_name)
        .bind(fold_str(&group.display_name))
        .bind(&group.external_id)
        .bind(group.version)
        .bind(group.member_count)
        .bind(group.last_modified)
        .bind(&group.workspace_id)
        .bind(&group.id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn delete_group(&mut self, workspace_id: &str, group_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM groups WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id)
            .bind(group_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    async fn member_ids(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
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
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let user_ids: Vec<&str> = members
            .iter()
            .map(|member| member.user_id.as_str())
            .collect();
        let displays: Vec<Option<&str>> = members
            .iter()
            .map(|member| member.display.as_deref())
            .collect();
        let kinds: Vec<Option<&str>> = members
            .iter()
            .map(|member| member.kind.as_deref())
            .collect();
        let ids = sqlx::query_scalar(
            "INSERT INTO group_members (workspace_id, group_id, user_id, display, type, added) \
             SELECT $1, $2, u.user_id, u.display, u.type, $6 \
             FROM UNNEST($3::text[], $4::text[], $5::text[]) AS u (user_id, display, type) \
             ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id",
        )
        .bind(workspace_id)
        .bind(group_id)
        .bind(&user_ids)
        .bind(&displays)
        .bind(&kinds)
        .bind(added)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn delete_members(
        &mut self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = sqlx::query_scalar(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2) RETURNING user_id",
        )
        .bind(group_id)
        .bind(user_ids)
        .fetch_all(&mut *self.transaction)
        .await?;
        Ok(ids)
    }

    async fn delete_all_members(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
        let ids =
            sqlx::query_scalar("DELETE FROM group_members WHERE group_id = $1 RETURNING user_id")
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
        if user_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) \
             SELECT $1, u.user_id, 1 FROM UNNEST($2::text[]) AS u (user_id) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET epoch = user_membership_epochs.epoch + 1",
        )
        .bind(workspace_id)
        .bind(user_ids)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    async fn bump_member_epochs(
        &mut self,
        workspace_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar(
            "UPDATE user_membership_epochs SET epoch = epoch + 1 WHERE workspace_id = $1 \
             AND user_id IN (SELECT user_id FROM group_members WHERE group_id = $2) RETURNING user_id",
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
        // Locking in id order, as lock_groups_of_user does, keeps this from
        // deadlocking with a concurrent removal of a user. Once locked, no
        // other transaction can change these groups' members, so the next
        // statements see exactly the members that are deleted.
        let rows = sqlx::query(
            "SELECT id, display_name, member_count FROM groups WHERE workspace_id = $1 ORDER BY id FOR UPDATE",
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
        let group_ids: Vec<&str> = groups.iter().map(|group| group.id.as_str()).collect();

        // One statement deletes the member rows and bumps each former
        // member's epoch once. DISTINCT is required because ON CONFLICT DO
        // UPDATE fails when one statement updates the same row twice.
        let mut member_ids: Vec<String> = sqlx::query_scalar(
            "WITH removed AS (DELETE FROM group_members WHERE workspace_id = $1 AND group_id = ANY($2) \
             RETURNING user_id) \
             INSERT INTO user_membership_epochs (workspace_id, user_id, epoch) \
             SELECT DISTINCT $1::text, user_id, 1 FROM removed ORDER BY user_id \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET epoch = user_membership_epochs.epoch + 1 \
             RETURNING user_id",
        )
        .bind(workspace_id)
        .bind(&group_ids)
        .fetch_all(&mut *self.transaction)
        .await?;
        member_ids.sort_unstable();

        sqlx::query("DELETE FROM groups WHERE workspace_id = $1 AND id = ANY($2)")
            .bind(workspace_id)
            .bind(&group_ids)
            .execute(&mut *self.transaction)
            .await?;
        Ok(DeletedGroups { groups, member_ids })
    }

    async fn lock_groups_of_user(
        &mut self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        // Locking in id order keeps two removals from deadlocking each other.
        let ids = sqlx::query_scalar(
            "SELECT g.id FROM groups AS g WHERE g.workspace_id = $1 AND g.id IN \
             (SELECT m.group_id FROM group_members AS m WHERE m.workspace_id = $1 AND m.user_id = $2) \
             ORDER BY g.id FOR UPDATE",
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
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "WITH removed AS (DELETE FROM group_members WHERE workspace_id = $1 AND user_id = $2 \
             AND group_id = ANY($3) RETURNING group_id) \
             UPDATE groups AS g SET version = g.version + 1, member_count = g.member_count - 1, last_modified = $4 \
             FROM removed WHERE g.id = removed.group_id RETURNING g.id, g.display_name, g.member_count",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(group_ids)
        .bind(at)
        .fetch_all(&mut *self.transaction)
        .await?;
        let mut removed: Vec<GroupSummary> = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        removed.sort_unstable_by(|left, right| left.id.cmp(&right.id));
        Ok(removed)
    }

    async fn claim_event(
        &mut self,
        event_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO processed_events (event_id, processed_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(at)
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

fn summary_from_row(row: &PgRow) -> Result<GroupSummary, sqlx::Error> {
    Ok(GroupSummary {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        member_count: row.try_get("member_count")?,
    })
}
