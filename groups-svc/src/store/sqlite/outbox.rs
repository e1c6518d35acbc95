//! Outbox of the SQLite engine: the insert used inside write transactions
//! and the [`OutboxSource`] the relay reads. Writes go through the single
//! write connection, so sequence order is commit order without a lock.

use std::time::SystemTime;

use async_trait::async_trait;
use plumbing::outbox::{Backlog, ConsumerState, DeliveryFailure, OutboxRecord, OutboxSource};
use sqlx::{AssertSqlSafe, Row, SqliteConnection};
use time::OffsetDateTime;

use super::{SqliteStore, from_micros, to_micros};
use crate::store::outbox::{OutboxEvent, PRUNE_BATCH, outbox_record, stored_error};

/// Outbox rows per INSERT, seven parameters each.
const EVENTS_PER_INSERT: usize = 100;

/// Inserts `events` into the outbox, in order, inside the transaction that
/// `connection` is running.
pub(super) async fn insert_outbox_events(
    connection: &mut SqliteConnection,
    events: &[OutboxEvent],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO outbox (id, workspace_id, aggregate_type, aggregate_id, event_type, payload, created) \
             VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for event in chunk {
            query = query
                .bind(&event.id)
                .bind(&event.workspace_id)
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(&event.event_type)
                .bind(&event.payload)
                .bind(to_micros(event.created));
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Cursor of the consumer bound first, 0 when it has no state row yet.
const CURSOR: &str =
    "COALESCE((SELECT delivered_sequence FROM outbox_consumers WHERE consumer = ?1), 0)";

#[async_trait]
impl OutboxSource for SqliteStore {
    async fn register_consumer(&self, consumer: &str) -> anyhow::Result<ConsumerState> {
        sqlx::query("INSERT INTO outbox_consumers (consumer, created) VALUES (?, ?) ON CONFLICT (consumer) DO NOTHING")
            .bind(consumer)
            .bind(to_micros(OffsetDateTime::now_utc()))
            .execute(&self.writer)
            .await?;
        let row = sqlx::query(
            "SELECT delivered_sequence, attempts, next_attempt_at, last_error, failed_event_id \
             FROM outbox_consumers WHERE consumer = ?",
        )
        .bind(consumer)
        .fetch_one(&self.writer)
        .await?;

        let attempts: i64 = row.try_get("attempts")?;
        let next_attempt_at: Option<i64> = row.try_get("next_attempt_at")?;
        let next_attempt_at = next_attempt_at.map(from_micros).transpose()?;
        Ok(ConsumerState {
            delivered_sequence: row.try_get("delivered_sequence")?,
            attempts: u32::try_from(attempts).unwrap_or(0),
            next_attempt_at: next_attempt_at.map(SystemTime::from),
            last_error: row.try_get("last_error")?,
            failed_event_id: row.try_get("failed_event_id")?,
        })
    }

    async fn fetch_pending(
        &self,
        consumer: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxRecord>> {
        let sql = format!(
            "SELECT sequence, payload, created FROM outbox WHERE sequence > {CURSOR} ORDER BY sequence LIMIT ?2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(consumer)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                let payload: Vec<u8> = row.try_get("payload")?;
                outbox_record(
                    row.try_get("sequence")?,
                    &payload,
                    from_micros(row.try_get("created")?)?,
                )
            })
            .collect()
    }

    async fn mark_delivered(&self, consumer: &str, through_sequence: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_consumers SET delivered_sequence = MAX(delivered_sequence, ?2), delivered_at = ?3, \
             attempts = 0, next_attempt_at = NULL, failed_event_id = NULL, last_error = NULL WHERE consumer = ?1",
        )
        .bind(consumer)
        .bind(through_sequence)
        .bind(to_micros(OffsetDateTime::now_utc()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        consumer: &str,
        failure: &DeliveryFailure,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_consumers SET attempts = ?2, next_attempt_at = ?3, failed_event_id = ?4, last_error = ?5 \
             WHERE consumer = ?1",
        )
        .bind(consumer)
        .bind(i64::from(failure.attempts))
        .bind(to_micros(OffsetDateTime::from(failure.next_attempt_at)))
        .bind(&failure.event_id)
        .bind(stored_error(&failure.error))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn backlog(&self, consumer: &str) -> anyhow::Result<Backlog> {
        let sql = format!(
            "SELECT COUNT(*) AS pending, MIN(created) AS oldest FROM outbox WHERE sequence > {CURSOR}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(consumer)
            .fetch_one(&self.reader)
            .await?;

        let pending: i64 = row.try_get("pending")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        let oldest = oldest.map(from_micros).transpose()?;
        Ok(Backlog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest: oldest.map(SystemTime::from),
        })
    }

    async fn prune(&self, consumers: &[String], created_before: SystemTime) -> anyhow::Result<u64> {
        if consumers.is_empty() {
            return Ok(0);
        }
        // Rows go only when every listed consumer has a state row and has
        // acknowledged them. A consumer without a row has acknowledged nothing.
        let names = vec!["?"; consumers.len()].join(", ");
        let sql = format!(
            "DELETE FROM outbox WHERE sequence IN (\
               SELECT sequence FROM outbox \
               WHERE created < ? \
                 AND (SELECT COUNT(*) FROM outbox_consumers WHERE consumer IN ({names})) = ? \
                 AND sequence <= (SELECT MIN(delivered_sequence) FROM outbox_consumers WHERE consumer IN ({names})) \
               ORDER BY sequence LIMIT ?)"
        );
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).bind(to_micros(OffsetDateTime::from(created_before)));
        for name in consumers {
            query = query.bind(name);
        }
        query = query.bind(i64::try_from(consumers.len()).unwrap_or(i64::MAX));
        for name in consumers {
            query = query.bind(name);
        }
        let result = query.bind(PRUNE_BATCH).execute(&self.writer).await?;
        Ok(result.rows_affected())
    }
}
