//! Outbox rows shared by both engines: the event a write transaction
//! inserts, and the decoding of stored rows for the relay.

use std::time::SystemTime;

use anyhow::Context as _;
use plumbing::outbox::OutboxRecord;
use prost::Message as _;
use time::OffsetDateTime;

/// A domain event to insert into the outbox with the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// `events.v1.Event.id`, a UUIDv7.
    pub id: String,
    pub workspace_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// Payload case, such as `group_updated`, stored for operators.
    pub event_type: String,
    /// The protobuf encoding of the whole `events.v1.Event`.
    pub payload: Vec<u8>,
    pub created: OffsetDateTime,
}

/// Maximum outbox rows one prune deletes, so a prune after a long outage
/// does not hold SQLite's only write connection for long.
pub(super) const PRUNE_BATCH: i64 = 10_000;

/// Maximum characters of a delivery error kept in `outbox_consumers.last_error`.
const MAX_STORED_ERROR_CHARS: usize = 1_000;

/// Decodes one outbox row.
pub(super) fn outbox_record(
    sequence: i64,
    payload: &[u8],
    created: OffsetDateTime,
) -> anyhow::Result<OutboxRecord> {
    let event = proto::events::v1::Event::decode(payload)
        .with_context(|| format!("outbox row {sequence} does not hold a valid events.v1.Event"))?;
    Ok(OutboxRecord {
        sequence,
        event,
        created: SystemTime::from(created),
    })
}

/// Shortens a delivery error for storage and removes U+0000, which
/// PostgreSQL rejects in text.
pub(super) fn stored_error(error: &str) -> String {
    error
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_STORED_ERROR_CHARS)
        .collect()
}
