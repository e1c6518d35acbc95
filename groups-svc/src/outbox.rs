//! Domain events of groups-svc and the relay that delivers them.
//!
//! Each write inserts its events into the `outbox` table in the same
//! transaction as the change (see `store::writes` and
//! `store::user_group_writes`), and the relay from [`plumbing::outbox`]
//! delivers them at least once to each consumer over
//! `events.v1.EventSink/Deliver`. Events about an IdP group have aggregate
//! type `group` and the group id as aggregate id:
//!
//! - `GroupCreated` lists the members the group was created with.
//! - `GroupUpdated` is written once per request that changed the group,
//!   with only the member ids that request added or removed.
//! - `GroupDeleted` is written for a DELETE and for each group that a
//!   workspace reset deleted.
//! - `GroupSyncSwitched` is written when sync to a User Group is switched
//!   on or off.
//!
//! Events about a User Group have aggregate type `user_group`; the
//! `user_group_events` module builds them.
//!
//! `GroupCreated` and a `GroupUpdated` of a replace carry one id per member,
//! about 38 bytes each for UUIDs, and so does the `UserGroupMembersChanged`
//! that mirrors such a replace into a synced User Group. The relay caps a
//! batch at `plumbing::outbox::MAX_BATCH_BYTES`, and consumers accept one
//! `Deliver` call of up to `plumbing::outbox::MAX_DELIVER_MESSAGE_BYTES`.

use std::sync::Arc;

use plumbing::outbox::{Consumer, OutboxSignal, OutboxSource, Relay, RelayConfig};
use prost::Message as _;
use proto::events::v1::{Event, GroupCreated, GroupDeleted, GroupUpdated, event::Payload};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    GroupsService,
    convert::timestamp,
    store::{GroupRecord, OutboxEvent},
};

mod user_group_events;

pub(crate) use self::user_group_events::{
    DeletionCause, group_sync_switched, user_group_created, user_group_deleted,
    user_group_members_changed, user_group_renamed,
};

/// `service` label of this service's outbox metrics.
pub const OUTBOX_SERVICE: &str = "groups-svc";
/// `aggregate_type` of events about an IdP group.
pub const AGGREGATE_GROUP: &str = "group";
/// `aggregate_type` of events about a User Group.
pub const AGGREGATE_USER_GROUP: &str = "user_group";

/// `GroupUpdated.changed_attributes` entry of a new displayName.
pub const ATTRIBUTE_DISPLAY_NAME: &str = "displayName";
/// `GroupUpdated.changed_attributes` entry of a new or cleared externalId.
pub const ATTRIBUTE_EXTERNAL_ID: &str = "externalId";
/// `GroupUpdated.changed_attributes` entry of added or removed members.
pub const ATTRIBUTE_MEMBERS: &str = "members";

impl GroupsService {
    /// Builds the relay that delivers this service's outbox to `consumers`.
    ///
    /// The relay reads the same database as this service and is woken by
    /// its commits. Run it with `relay.run(token)` until shutdown, and stop
    /// it before [`GroupsService::close`] closes the pools. Fails when
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

/// Builds the `GroupCreated` event of a new group with its members.
pub(crate) fn group_created(group: &GroupRecord, member_ids: Vec<String>) -> OutboxEvent {
    let payload = Payload::GroupCreated(GroupCreated {
        group_id: group.id.clone(),
        display_name: group.display_name.clone(),
        member_ids,
    });
    build_event(
        &group.workspace_id,
        AGGREGATE_GROUP,
        &group.id,
        payload,
        group.created,
    )
}

/// Changes one request made to a group, as `GroupUpdated` reports them.
#[derive(Debug, Default)]
pub(crate) struct GroupUpdate {
    /// The displayName before the request, when the request changed it.
    pub previous_display_name: Option<String>,
    pub external_id_changed: bool,
    pub added_member_ids: Vec<String>,
    pub removed_member_ids: Vec<String>,
}

/// Builds the `GroupUpdated` event of `group`, as the change left it.
pub(crate) fn group_updated(
    group: &GroupRecord,
    update: GroupUpdate,
    at: OffsetDateTime,
) -> OutboxEvent {
    let mut changed_attributes = Vec::new();
    if update.previous_display_name.is_some() {
        changed_attributes.push(ATTRIBUTE_DISPLAY_NAME.to_owned());
    }
    if update.external_id_changed {
        changed_attributes.push(ATTRIBUTE_EXTERNAL_ID.to_owned());
    }
    if !update.added_member_ids.is_empty() || !update.removed_member_ids.is_empty() {
        changed_attributes.push(ATTRIBUTE_MEMBERS.to_owned());
    }
    let payload = Payload::GroupUpdated(GroupUpdated {
        group_id: group.id.clone(),
        display_name: group.display_name.clone(),
        previous_display_name: update.previous_display_name.unwrap_or_default(),
        added_member_ids: update.added_member_ids,
        removed_member_ids: update.removed_member_ids,
        changed_attributes,
    });
    build_event(&group.workspace_id, AGGREGATE_GROUP, &group.id, payload, at)
}

/// Builds the `GroupUpdated` event of a group that lost one member because
/// the user was deleted.
pub(crate) fn member_removed(
    workspace_id: &str,
    group_id: &str,
    display_name: &str,
    user_id: &str,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::GroupUpdated(GroupUpdated {
        group_id: group_id.to_owned(),
        display_name: display_name.to_owned(),
        previous_display_name: String::new(),
        added_member_ids: Vec::new(),
        removed_member_ids: vec![user_id.to_owned()],
        changed_attributes: vec![ATTRIBUTE_MEMBERS.to_owned()],
    });
    build_event(workspace_id, AGGREGATE_GROUP, group_id, payload, at)
}

/// Builds the `GroupDeleted` event of a group with its member count at
/// deletion.
pub(crate) fn group_deleted(
    workspace_id: &str,
    group_id: &str,
    display_name: &str,
    member_count: i64,
    at: OffsetDateTime,
) -> OutboxEvent {
    let payload = Payload::GroupDeleted(GroupDeleted {
        group_id: group_id.to_owned(),
        display_name: display_name.to_owned(),
        member_count,
    });
    build_event(workspace_id, AGGREGATE_GROUP, group_id, payload, at)
}

/// Builds an event about one aggregate with a new UUIDv7 id, and its
/// outbox row.
fn build_event(
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
