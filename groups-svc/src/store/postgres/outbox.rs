//! Outbox of the PostgreSQL engine: the insert used inside write
//! transactions and the [`OutboxSource`] the relay reads.

use std::time::SystemTime;

use async_trait::async_trait;
use plumbing::outbox::{Backlog, ConsumerState, DeliveryFailure, OutboxRecord, OutboxSource};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;

use super::PostgresStore;
use crate::store::outbox::{OutboxEvent, PRUNE_BATCH, outbox_record, stored_error};

/// Key of the transaction-level advisory lock that serialises outbox
/// inserts. Advisory locks are scoped to the database, so the key only has
/// to be unique among this service's own locks.
const OUTBOX_LOCK_KEY: i64 = 0x6f75_7462_6f78; // "outbox" in ASCII

/// Inserts `events` into the outbox, in order, inside the transaction that
/// `connection` is running.
///
/// Identity values are assigned at insert time but transactions commit in
/// any order, so without a lock a relay could see sequence 11 committed,
/// move a cursor past it, and never deliver a sequence 10 that commits a
/// moment later. The advisory lock, held until commit, makes outbox writers
/// commit one at a time in sequence order. Call this as the last statement
/// before commit, so the lock is held only for the commit itself.
pub(super) async fn insert_outbox_events(
    connection: &mut PgConnection,
    events: &[OutboxEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(OUTBOX_LOCK_KEY)
        .execute(&mut *connection)
        .await?;

    let ids: Vec<&str> = events.iter().map(|event| event.id.as_str()).collect();
    let workspace_ids: Vec<&str> = events
        .iter()
        .map(|event| event.workspace_id.as_str())
        .collect();
    let aggregate_types: Vec<&str> = events
        .iter()
        .map(|event| event.aggregate_type.as_str())
        .collect();
    let aggregate_ids: Vec<&str> = events
        .iter()
        .map(|event| event.aggregate_id.as_str())
        .collect();
    let event_types: Vec<&str> = events
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    let payloads: Vec<&[u8]> = events
        .iter()
        .map(|event| event.payload.as_slice())
        .collect();
    let created: Vec<OffsetDateTime> = events.iter().map(|event| event.created).collect();
    // One statement whatever the number of events. The ORDER BY makes the
    // identity values follow the order of `events`.
    sqlx::query(
        "INSERT INTO outbox (id, workspace_id, aggregate_type, aggregate_id, event_type, payload, created) \
         SELECT e.id, e.workspace_id, e.aggregate_type, e.aggregate_id, e.event_type, e.payload, e.created \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::timestamptz[]) \
         WITH ORDINALITY AS e (id, workspace_id, aggregate_type, aggregate_id, event_type, payload, created, position) \
         ORDER BY e.position",
    )
    .bind(&ids)
    .bind(&workspace_ids)
    .bind(&aggregate_types)
    .bind(&aggregate_ids)
    .bind(&event_types)
    .bind(&payloads)
    .bind(&created)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Cursor of `consumer`, 0 when it has no state row yet.
const CURSOR: &str =
    "COALESCE((SELECT delivered_sequence FROM outbox_consumers WHERE consumer = $1), 0)";

#[async_trait]
impl OutboxSource for PostgresStore {
    async fn register_consumer(&self, consumer: &str) -> anyhow::Result<ConsumerState> {
        sqlx::query("INSERT INTO outbox_consumers (consumer, created) VALUES ($1, $2) ON CONFLICT (consumer) DO NOTHING")
            .bind(consumer)
            .bind(OffsetDateTime::now_utc())
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT delivered_sequence, attempts, next_attempt_at, last_error, failed_event_id \
             FROM outbox_consumers WHERE consumer = $1",
        )
        .bind(consumer)
        .fetch_one(&self.pool)
        .await?;

        let attempts: i32 = row.try_get("attempts")?;
        let next_attempt_at: Option<OffsetDateTime> = row.try_get("next_attempt_at")?;
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
            "SELECT sequence, payload, created FROM outbox WHERE sequence > {CURSOR} ORDER BY sequence LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(consumer)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let payload: Vec<u8> = row.try_get("payload")?;
                outbox_record(row.try_get("sequence")?, &payload, row.try_get("created")?)
            })
            .collect()
    }

    async fn mark_delivered(&self, consumer: &str, through_sequence: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_consumers SET delivered_sequence = GREATEST(delivered_sequence, $2), delivered_at = $3, \
             attempts = 0, next_attempt_at = NULL, failed_event_id = NULL, last_error = NULL WHERE consumer = $1",
        )
        .bind(consumer)
        .bind(through_sequence)
        .bind(OffsetDateTime::now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        consumer: &str,
        failure: &DeliveryFailure,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_consumers SET attempts = $2, next_attempt_at = $3, failed_event_id = $4, last_error = $5 \
             WHERE consumer = $1",
        )
        .bind(consumer)
        .bind(i32::try_from(failure.attempts).unwrap_or(i32::MAX))
        .bind(OffsetDateTime::from(failure.next_attempt_at))
        .bind(&failure.event_id)
        .bind(stored_error(&failure.error))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn backlog(&self, consumer: &str) -> anyhow::Result<Backlog> {
        let sql = format!(
            "SELECT COUNT(*) AS pending, MIN(created) AS oldest FROM outbox WHERE sequence > {CURSOR}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(consumer)
            .fetch_one(&self.pool)
            .await?;

        let pending: i64 = row.try_get("pending")?;
        let oldest: Option<OffsetDateTime> = row.try_get("oldest")?;
        Ok(Backlog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest: oldest.map(SystemTime::from),
        })
    }

    async fn prune(&self, consumers: &[String], created_before: SystemTime) -> anyhow::Result<u64> {
        // Rows go only when every listed consumer has a state row and has
        // acknowledged them. A consumer without a row has acknowledged nothing.
        let result = sqlx::query(
            "DELETE FROM outbox WHERE sequence IN (\
               SELECT sequence FROM outbox \
               WHERE created < $2 \
                 AND (SELECT COUNT(*) FROM outbox_consumers WHERE consumer = ANY($1)) = $3 \
                 AND sequence <= (SELECT MIN(delivered_sequence) FROM outbox_consumers WHERE consumer = ANY($1)) \
               ORDER BY sequence LIMIT $4)",
        )
        .bind(consumers)
        .bind(OffsetDateTime::from(created_before))
        .bind(i64::try_from(consumers.len()).unwrap_or(i64::MAX))
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}
