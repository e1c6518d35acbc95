//! Domain events of identity-svc and the relay that delivers them.
//!
//! Each event is written to the `outbox` table in the same transaction as
//! the change it describes (see the store's `delete_user`), and the relay
//! from [`plumbing::outbox`] delivers it at least once to each consumer
//! over `events.v1.EventSink/Deliver`. groups-svc consumes `UserDeleted`.
//! `UserCreated` and `UserUpdated` record every other user write for the
//! role service and the audit log, and the SCIM lifecycle events (SCIM on
//! and off, resets, tokens, domains, adopted users) are for the audit log.

use std::sync::Arc;

use plumbing::outbox::{Consumer, OutboxSignal, OutboxSource, Relay, RelayConfig};
use prost::Message as _;
use proto::events::v1::{
    AttributeChange, Event, UserCreated, UserDeleted, UserUpdated, event::Payload,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    IdentityService,
    convert::timestamp,
    store::{OutboxEvent, UserRecord},
};

/// `service` label of this service's outbox metrics.
pub const OUTBOX_SERVICE: &str = "identity-svc";
/// `aggregate_type` of events about a user.
pub const AGGREGATE_USER: &str = "user";

impl IdentityService {
    /// Builds the relay that delivers this service's outbox to `consumers`.
    ///
    /// The relay reads the same database as this service and is woken by
    /// its commits. Run it with `relay.run(token)` until shutdown, and stop
    /// it before [`IdentityService::close`] closes the pools. Fails when
    /// `consumers` is empty or names a consumer twice.
    pub fn outbox_relay(
        &self,
        consumers: Vec<Consumer>,
        config: RelayConfig,
    ) -> anyhow::Result<Relay> {
        let source: Arc<dyn OutboxSource> = self.store.clone();
        let relay = Relay::new(OUTBOX_SERVICE, source, consumers, config)?;
        Ok(relay.with_signal(self.outbox_signal.clone()))
    }

    /// Returns the signal that wakes this service's relay after a commit.
    pub fn outbox_signal(&self) -> &OutboxSignal {
        &self.outbox_signal
    }
}

/// `aggregate_type` of events about a workspace's SCIM settings, tokens
/// and domains, so they are delivered in the order they were made.
pub const AGGREGATE_WORKSPACE: &str = "workspace";

/// Builds the `UserDeleted` event of `user_id`, with a new UUIDv7 id.
pub(crate) fn user_deleted(workspace_id: &str, user_id: &str, at: OffsetDateTime) -> OutboxEvent {
    let payload = Payload::UserDeleted(UserDeleted {
        user_id: user_id.to_owned(),
    });
    build_event(workspace_id, AGGREGATE_USER, user_id, payload, at)
}

/// Builds the `UserCreated` event of a new user.
pub(crate) fn user_created(user: &UserRecord) -> OutboxEvent {
    let payload = Payload::UserCreated(UserCreated {
        user_id: user.id.clone(),
        user_name: user.user_name.clone(),
        active: user.active,
        scim_managed: user.scim_managed,
    });
    build_event(
        &user.workspace_id,
        AGGREGATE_USER,
        &user.id,
        payload,
        user.created,
    )
}

/// Builds the `UserUpdated` event of `user` as a write left it.
/// `previous_active` is the stored `active` before the write.
pub(crate) fn user_updated(
    user: &UserRecord,
    previous_active: bool,
    changes: Vec<AttributeChange>,
) -> OutboxEvent {
    let payload = Payload::UserUpdated(UserUpdated {
        user_id: user.id.clone(),
        user_name: user.user_name.clone(),
        active: user.active,
        previous_active,
        changes,
    });
    build_event(
        &user.workspace_id,
        AGGREGATE_USER,
        &user.id,
        payload,
        user.last_modified,
    )
}

/// Builds an event about the workspace itself.
pub(crate) fn workspace_event(
    workspace_id: &str,
    payload: Payload,
    at: OffsetDateTime,
) -> OutboxEvent {
    build_event(workspace_id, AGGREGATE_WORKSPACE, workspace_id, payload, at)
}

/// Builds an event with a new UUIDv7 id and its outbox row.
pub(crate) fn build_event(
    workspace_id: &str,
    aggregate_type: &str,
    aggregate_id: &str,
    payload: Payload,
    at: OffsetDateTime,
) -> OutboxEvent {
    let event_type = payload.kind();
    let mut event = Event {
        id: Uuid::now_v7().to_string(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred: Some(timestamp(at)),
        payload: Some(payload),
        ..Event::default()
    };
    plumbing::actor::stamp(&mut event);
    OutboxEvent {
        id: event.id.clone(),
        workspace_id: event.workspace_id.clone(),
        aggregate_type: event.aggregate_type.clone(),
        aggregate_id: event.aggregate_id.clone(),
        event_type: event_type.to_owned(),
        payload: event.encode_to_vec(),
        created: at,
    }
}
