//! Outbox of rbac-svc: role changes, mapping changes and default-role
//! changes, written in the transaction that makes them and delivered by the
//! relay in [`plumbing::outbox`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use plumbing::outbox::{Backlog, ConsumerState, DeliveryFailure, OutboxRecord, OutboxSource};
use prost::Message as _;
use proto::events::v1::{Event, event::Payload};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::{
    error::StoreError,
    store::{Engine, Store, now_micros},
};

/// `service` label of this service's outbox metrics.
pub const OUTBOX_SERVICE: &str = "rbac-svc";
/// `aggregate_type` of events about a user.
pub const AGGREGATE_USER: &str = "user";
/// `aggregate_type` of events about a workspace's mappings and default role.
pub const AGGREGATE_WORKSPACE: &str = "workspace";
/// Key of the transaction-level advisory lock that serialises outbox
/// inserts on PostgreSQL, so sequence order is commit order.
const OUTBOX_LOCK_KEY: i64 = 0x7262_6163_6f62; // "rbacob" in ASCII
/// Rows deleted per prune statement.
const PRUNE_BATCH: i64 = 1_000;
/// Longest stored delivery error, in bytes.
const MAX_STORED_ERROR: usize = 1_000;

/// Builds an event with a new UUIDv7 id.
pub fn event(
    workspace_id: &str,
    aggregate_type: &str,
    aggregate_id: &str,
    payload: Payload,
) -> Event {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut event = Event {
        id: Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred: Some(prost_types::Timestamp {
            seconds: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
        }),
        payload: Some(payload),
        ..Event::default()
    };
    plumbing::actor::stamp(&mut event);
    event
}

/// Inserts `events` into the outbox. Call it as the last statement before
/// commit: on PostgreSQL it takes the outbox lock, held until commit.
pub async fn insert(
    connection: &mut AnyConnection,
    engine: Engine,
    events: &[Event],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if engine == Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(OUTBOX_LOCK_KEY)
            .execute(&mut *connection)
            .await?;
    }
    let created = now_micros();
    // One statement per chunk, rows in the order given, so sequences follow
    // the order of `events`.
    for chunk in events.chunks(crate::store::IDS_PER_STATEMENT) {
        let rows = (0..chunk.len())
            .map(|row| format!("({})", crate::store::placeholders(1 + row * 7, 7)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO outbox (id, workspace_id, aggregate_type, aggregate_id, event_type, payload, created) \
             VALUES {rows}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            let kind = event
                .payload
                .as_ref()
                .map(Payload::kind)
                .unwrap_or("unknown");
            query = query
                .bind(&event.id)
                .bind(&event.workspace_id)
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(kind)
                .bind(event.encode_to_vec())
                .bind(created);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Cursor of `consumer`, 0 when it has no state row yet.
const CURSOR: &str =
    "COALESCE((SELECT delivered_sequence FROM outbox_consumers WHERE consumer = $1), 0)";

fn to_system_time(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn to_micros(time: SystemTime) -> i64 {
    let elapsed = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait]
impl OutboxSource for Store {
    async fn register_consumer(&self, consumer: &str) -> anyhow::Result<ConsumerState> {
        sqlx::query(
            "INSERT INTO outbox_consumers (consumer, created) VALUES ($1, $2) ON CONFLICT (consumer) DO NOTHING",
        )
        .bind(consumer)
        .bind(now_micros())
        .execute(self.writer())
        .await?;
        let row = sqlx::query(
            "SELECT delivered_sequence, attempts, next_attempt_at, last_error, failed_event_id \
             FROM outbox_consumers WHERE consumer = $1",
        )
        .bind(consumer)
        .fetch_one(self.reader())
        .await?;
        let attempts: i64 = row.try_get("attempts")?;
        let next_attempt_at: Option<i64> = row.try_get("next_attempt_at")?;
        Ok(ConsumerState {
            delivered_sequence: row.try_get("delivered_sequence")?,
            attempts: u32::try_from(attempts).unwrap_or(0),
            next_attempt_at: next_attempt_at.map(to_system_time),
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
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let payload: Vec<u8> = row.try_get("payload")?;
                Ok(OutboxRecord {
                    sequence: row.try_get("sequence")?,
                    event: Event::decode(payload.as_slice())?,
                    created: to_system_time(row.try_get("created")?),
                })
            })
            .collect()
    }

    async fn mark_delivered(&self, consumer: &str, through_sequence: i64) -> anyhow::Result<()> {
        let greatest = match self.engine() {
            Engine::Postgres => "GREATEST",
            Engine::Sqlite => "MAX",
        };
        let sql = format!(
            "UPDATE outbox_consumers SET delivered_sequence = {greatest}(delivered_sequence, $2), \
             delivered_at = $3, attempts = 0, next_attempt_at = NULL, failed_event_id = NULL, \
             last_error = NULL WHERE consumer = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(consumer)
            .bind(through_sequence)
            .bind(now_micros())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        consumer: &str,
        failure: &DeliveryFailure,
    ) -> anyhow::Result<()> {
        let mut error = failure.error.clone();
        if error.len() > MAX_STORED_ERROR {
            let mut end = MAX_STORED_ERROR;
            while !error.is_char_boundary(end) {
                end -= 1;
            }
            error.truncate(end);
        }
        sqlx::query(
            "UPDATE outbox_consumers SET attempts = $2, next_attempt_at = $3, failed_event_id = $4, \
             last_error = $5 WHERE consumer = $1",
        )
        .bind(consumer)
        .bind(i64::from(failure.attempts))
        .bind(to_micros(failure.next_attempt_at))
        .bind(&failure.event_id)
        .bind(error)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn backlog(&self, consumer: &str) -> anyhow::Result<Backlog> {
        let sql = format!(
            "SELECT COUNT(*) AS pending, MIN(created) AS oldest FROM outbox WHERE sequence > {CURSOR}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(consumer)
            .fetch_one(self.reader())
            .await?;
        let pending: i64 = row.try_get("pending")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(Backlog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest: oldest.map(to_system_time),
        })
    }

    async fn prune(&self, consumers: &[String], created_before: SystemTime) -> anyhow::Result<u64> {
        if consumers.is_empty() {
            return Ok(0);
        }
        // Rows go only when every listed consumer has a state row and has
        // acknowledged them; a consumer without a row has acknowledged nothing.
        let list = crate::store::placeholders(4, consumers.len());
        let sql = format!(
            "DELETE FROM outbox WHERE sequence IN (\
               SELECT sequence FROM outbox \
               WHERE created < $1 \
                 AND (SELECT COUNT(*) FROM outbox_consumers WHERE consumer IN ({list})) = $2 \
                 AND sequence <= (SELECT MIN(delivered_sequence) FROM outbox_consumers WHERE consumer IN ({list})) \
               ORDER BY sequence LIMIT $3)"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_micros(created_before))
            .bind(i64::try_from(consumers.len()).unwrap_or(i64::MAX))
            .bind(PRUNE_BATCH);
        for consumer in consumers {
            query = query.bind(consumer);
        }
        let result = query.execute(self.writer()).await?;
        Ok(result.rows_affected())
    }
}
