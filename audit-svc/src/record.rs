//! Turning a domain event into the audit record an admin reads: the action,
//! the target, the changed attributes and further details. Pure code.

use proto::audit::v1::{AuditEvent, Change};
use proto::events::v1::{Event, event::Payload, role_change_cause};
use serde_json::{Value, json};

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: String,
    pub workspace_id: String,
    /// Microseconds since the Unix epoch.
    pub time: i64,
    pub actor_type: String,
    pub actor_id: String,
    pub identity_provider: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub target_name: String,
    pub changes: Vec<Change>,
    pub details: Value,
    pub request_id: String,
    pub trace_id: String,
    pub outcome: String,
}

impl AuditRecord {
    pub fn to_proto(&self) -> AuditEvent {
        AuditEvent {
            id: self.id.clone(),
            workspace_id: self.workspace_id.clone(),
            time: Some(timestamp(self.time)),
            actor_type: self.actor_type.clone(),
            actor_id: self.actor_id.clone(),
            identity_provider: self.identity_provider.clone(),
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: self.target_id.clone(),
            target_name: self.target_name.clone(),
            changes: self.changes.clone(),
            details_json: self.details.to_string(),
            request_id: self.request_id.clone(),
            trace_id: self.trace_id.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

/// Converts microseconds since the Unix epoch to a protobuf timestamp.
pub fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// Converts a protobuf timestamp to microseconds since the Unix epoch.
pub fn micros(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(timestamp.nanos) / 1_000)
}

/// The action, target and facts a payload records.
struct Described {
    action: String,
    target_type: &'static str,
    target_id: String,
    target_name: String,
    changes: Vec<Change>,
    details: Value,
}

fn described(action: &str, target_type: &'static str, target_id: &str) -> Described {
    Described {
        action: action.to_owned(),
        target_type,
        target_id: target_id.to_owned(),
        target_name: String::new(),
        changes: Vec::new(),
        details: json!({}),
    }
}

impl Described {
    fn named(mut self, name: &str) -> Self {
        self.target_name = name.to_owned();
        self
    }

    fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    fn change(mut self, attribute: &str, before: &str, after: &str) -> Self {
        self.changes.push(Change {
            attribute: attribute.to_owned(),
            before: before.to_owned(),
            after: after.to_owned(),
        });
        self
    }
}

/// Builds the audit record of `event`, or `None` for an event whose payload
/// is missing or of a kind this build does not decode. `now` is used when the event has no time.
pub fn from_event(event: &Event, now: i64) -> Option<AuditRecord> {
    let described = describe(event.payload.as_ref()?, &event.workspace_id);
    let time = event.occurred.as_ref().map_or(now, micros);
    let (actor_type, actor_id, identity_provider) = actor(event);
    Some(AuditRecord {
        id: event.id.clone(),
        workspace_id: event.workspace_id.clone(),
        time,
        actor_type,
        actor_id,
        identity_provider,
        action: described.action,
        target_type: described.target_type.to_owned(),
        target_id: described.target_id,
        target_name: described.target_name,
        changes: described.changes,
        details: described.details,
        request_id: event.request_id.clone(),
        trace_id: event.trace_id.clone(),
        outcome: "success".to_owned(),
    })
}

/// Returns (actor type, actor id, identity provider) of the event.
fn actor(event: &Event) -> (String, String, String) {
    use proto::events::v1::actor::Kind;

    let Some(actor) = &event.actor else {
        return ("system".to_owned(), String::new(), String::new());
    };
    let kind = match actor.kind() {
        Kind::ScimToken => "scim_token",
        Kind::Admin => "admin",
        Kind::System | Kind::Unspecified => "system",
    };
    (
        kind.to_owned(),
        actor.id.clone(),
        actor.identity_provider.clone(),
    )
}

fn describe(payload: &Payload, workspace_id: &str) -> Described {
    match payload {
        Payload::UserCreated(created) => described("user.created", "user", &created.user_id)
            .named(&created.user_name)
            .details(json!({"active": created.active, "scim_managed": created.scim_managed})),
        Payload::UserUpdated(updated) => {
            let action = match (updated.previous_active, updated.active) {
                (true, false) => "user.deactivated",
                (false, true) => "user.reactivated",
                _ => "user.updated",
            };
            let mut record = described(action, "user", &updated.user_id).named(&updated.user_name);
            for change in &updated.changes {
                record = record.change(&change.attribute, &change.before, &change.after);
            }
            record
        }
        Payload::UserDeleted(deleted) => described("user.deleted", "user", &deleted.user_id),
        Payload::UserAdopted(adopted) => described("user.adopted", "user", &adopted.user_id),
        Payload::GroupCreated(created) => described("group.created", "group", &created.group_id)
            .named(&created.display_name)
            .details(json!({"member_ids": created.member_ids})),
        Payload::GroupUpdated(updated) => {
            let action = if !updated.previous_display_name.is_empty() {
                "group.renamed"
            } else {
                match (
                    updated.added_member_ids.is_empty(),
                    updated.removed_member_ids.is_empty(),
                ) {
                    (false, true) => "group.members_added",
                    (true, false) => "group.members_removed",
                    (false, false) => "group.members_changed",
                    (true, true) => "group.updated",
                }
            };
            let mut record = described(action, "group", &updated.group_id)
                .named(&updated.display_name)
                .details(json!({
                    "added_member_ids": updated.added_member_ids,
                    "removed_member_ids": updated.removed_member_ids,
                    "changed_attributes": updated.changed_attributes,
                }));
            if !updated.previous_display_name.is_empty() {
                record = record.change(
                    "displayName",
                    &json_string(&updated.previous_display_name),
                    &json_string(&updated.display_name),
                );
            }
            record
        }
        Payload::GroupDeleted(deleted) => described("group.deleted", "group", &deleted.group_id)
            .named(&deleted.display_name)
            .details(json!({"member_count": deleted.member_count})),
        Payload::EffectiveRoleChanged(changed) => {
            let cause = changed.cause.clone().unwrap_or_default();
            let kind = match cause.kind() {
                role_change_cause::Kind::Membership => "membership",
                role_change_cause::Kind::MappingSet => "mapping_set",
                role_change_cause::Kind::MappingRemoved => "mapping_removed",
                role_change_cause::Kind::DefaultRole => "default_role",
                role_change_cause::Kind::Manual => "manual",
                role_change_cause::Kind::UserCreated => "user_created",
                role_change_cause::Kind::Unspecified => "unspecified",
            };
            described("role.changed", "user", &changed.user_id)
                .change(
                    "role",
                    &json_string(&changed.previous_role),
                    &json_string(&changed.role),
                )
                .details(json!({
                    "source_group_id": changed.source_group_id,
                    "cause": {
                        "kind": kind,
                        "group_id": cause.group_id,
                        "mapped_role": cause.mapped_role,
                    },
                }))
        }
        Payload::GroupMappingSet(set) => described("mapping.set", "group", &set.group_id).change(
            "role",
            &json_string(&set.previous_role),
            &json_string(&set.role),
        ),
        Payload::GroupMappingRemoved(removed) => {
            described("mapping.removed", "group", &removed.group_id)
                .change("role", &json_string(&removed.previous_role), "")
                .details(json!({"cause": removed.cause}))
        }
        Payload::DefaultRoleChanged(changed) => {
            described("default_role.changed", "workspace", workspace_id).change(
                "default_role",
                &json_string(&changed.previous_role),
                &json_string(&changed.role),
            )
        }
        Payload::ScimEnabled(_) => described("scim.enabled", "workspace", workspace_id),
        Payload::ScimDisabled(disabled) => described("scim.disabled", "workspace", workspace_id)
            .details(json!({"cause": disabled.cause})),
        Payload::ScimResetStarted(started) => {
            described("scim.reset_started", "workspace", workspace_id)
                .details(json!({"pending_steps": started.pending_steps}))
        }
        Payload::ScimResetCompleted(_) => described("scim.reset", "workspace", workspace_id),
        Payload::IdentityProviderSet(set) => described("scim.set_up", "workspace", workspace_id)
            .details(json!({"identity_provider": set.identity_provider})),
        Payload::TokenIssued(issued) => described("token.issued", "token", &issued.token_id)
            .named(&issued.name)
            .details(json!({"expires": issued.expires.as_ref().map(|t| t.seconds)})),
        Payload::TokenRotated(rotated) => described("token.rotated", "token", &rotated.token_id)
            .details(json!({
                "previous_token_id": rotated.previous_token_id,
                "previous_expires": rotated.previous_expires.as_ref().map(|t| t.seconds),
            })),
        Payload::TokenRevoked(revoked) => described("token.revoked", "token", &revoked.token_id),
        Payload::DomainAdded(added) => described("domain.added", "workspace", workspace_id)
            .details(json!({"domain": added.domain})),
        Payload::DomainRemoved(removed) => described("domain.removed", "workspace", workspace_id)
            .details(json!({"domain": removed.domain})),
        Payload::SsoEnabledChanged(changed) => {
            let action = if changed.enabled {
                "sso.enabled"
            } else {
                "sso.disabled"
            };
            described(action, "workspace", workspace_id)
        }
        Payload::ScimEntitlementChanged(changed) => {
            described("scim.entitlement_changed", "workspace", workspace_id)
                .details(json!({"entitled": changed.entitled}))
        }
        Payload::GroupSyncSwitched(switched) => {
            let action = if switched.enabled {
                "user_group.sync_on"
            } else {
                "user_group.sync_off"
            };
            described(action, "group", &switched.group_id)
                .details(json!({"user_group_id": switched.user_group_id}))
        }
        Payload::UserGroupCreated(created) => {
            described("user_group.created", "user_group", &created.user_group_id)
                .named(&created.name)
                .details(json!({
                    "source": created.source,
                    "idp_group_id": created.idp_group_id,
                    "member_ids": created.member_ids,
                    "member_count": created.member_count,
                }))
        }
        Payload::UserGroupRenamed(renamed) => {
            described("user_group.renamed", "user_group", &renamed.user_group_id)
                .named(&renamed.name)
                .change(
                    "name",
                    &json_string(&renamed.previous_name),
                    &json_string(&renamed.name),
                )
        }
        Payload::UserGroupDeleted(deleted) => {
            described("user_group.deleted", "user_group", &deleted.user_group_id)
                .named(&deleted.name)
                .details(json!({"cause": deleted.cause, "member_count": deleted.member_count}))
        }
        Payload::UserGroupMembersChanged(changed) => described(
            "user_group.members_changed",
            "user_group",
            &changed.user_group_id,
        )
        .details(json!({
            "added_member_ids": changed.added_member_ids,
            "removed_member_ids": changed.removed_member_ids,
            "idp_group_id": changed.idp_group_id,
        })),
    }
}

/// Returns `value` as a JSON string literal, or empty for an empty value.
fn json_string(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        Value::String(value.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use proto::events::v1::{AttributeChange, GroupUpdated, UserUpdated};

    use super::*;

    fn event(payload: Payload) -> Event {
        Event {
            id: "0190-event".to_owned(),
            workspace_id: "ws".to_owned(),
            aggregate_type: "user".to_owned(),
            aggregate_id: "u1".to_owned(),
            occurred: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 5_000,
            }),
            payload: Some(payload),
            ..Event::default()
        }
    }

    fn user_updated(previous_active: bool, active: bool) -> Event {
        event(Payload::UserUpdated(UserUpdated {
            user_id: "u1".to_owned(),
            user_name: "ann@example.com".to_owned(),
            active,
            previous_active,
            changes: vec![
                AttributeChange {
                    attribute: "active".to_owned(),
                    before: previous_active.to_string(),
                    after: active.to_string(),
                },
                AttributeChange {
                    attribute: "title".to_owned(),
                    before: "\"Clerk\"".to_owned(),
                    after: "\"Counsel\"".to_owned(),
                },
            ],
        }))
    }

    #[test]
    fn deactivation_named_with_other_changes() {
        let record = from_event(&user_updated(true, false), 0).unwrap();

        assert_eq!(record.action, "user.deactivated");
        assert_eq!(record.changes.len(), 2);
    }

    #[test]
    fn reactivation_named() {
        let record = from_event(&user_updated(false, true), 0).unwrap();

        assert_eq!(record.action, "user.reactivated");
    }

    #[test]
    fn attribute_update_named() {
        let record = from_event(&user_updated(true, true), 0).unwrap();

        assert_eq!(record.action, "user.updated");
    }

    #[test]
    fn time_comes_from_event() {
        let record = from_event(&user_updated(true, true), 0).unwrap();

        assert_eq!(record.time, 10_000_005);
    }

    #[test]
    fn missing_actor_is_system() {
        let record = from_event(&user_updated(true, true), 0).unwrap();

        assert_eq!(record.actor_type, "system");
    }

    #[test]
    fn member_add_lists_ids() {
        let record = from_event(
            &event(Payload::GroupUpdated(GroupUpdated {
                group_id: "g1".to_owned(),
                display_name: "Legal".to_owned(),
                added_member_ids: vec!["u1".to_owned(), "u2".to_owned()],
                changed_attributes: vec!["members".to_owned()],
                ..GroupUpdated::default()
            })),
            0,
        )
        .unwrap();

        assert_eq!(record.action, "group.members_added");
        assert_eq!(record.details["added_member_ids"], json!(["u1", "u2"]));
    }

    #[test]
    fn rename_records_both_names() {
        let record = from_event(
            &event(Payload::GroupUpdated(GroupUpdated {
                group_id: "g1".to_owned(),
                display_name: "Legal Ops".to_owned(),
                previous_display_name: "Legal".to_owned(),
                changed_attributes: vec!["displayName".to_owned()],
                ..GroupUpdated::default()
            })),
            0,
        )
        .unwrap();

        assert_eq!(record.action, "group.renamed");
        assert_eq!(record.changes[0].before, "\"Legal\"");
    }

    #[test]
    fn event_without_payload_skipped() {
        let mut unknown = user_updated(true, true);
        unknown.payload = None;

        assert!(from_event(&unknown, 0).is_none());
    }

    #[test]
    fn timestamp_round_trips() {
        assert_eq!(micros(&timestamp(1_234_567_890_123)), 1_234_567_890_123);
    }
}
