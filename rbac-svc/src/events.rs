//! `events.v1.EventSink` consumer: users from identity-svc, groups and
//! memberships from groups-svc. Each event is applied in its own
//! transaction together with the record of its id, so a redelivered event
//! is skipped and a failure leaves every earlier event applied.
//!
//! The two producers deliver independently, so a membership may arrive
//! before its user. Memberships are stored whatever the order, and a
//! user's role is resolved whenever the user or one of its mapped groups
//! changes, so the stored role ends the same in every order.

use proto::events::v1::{
    DeliverRequest, DeliverResponse, Event, GroupCreated, GroupDeleted, GroupMappingRemoved,
    GroupUpdated, RoleChangeCause, UserCreated, UserUpdated, event::Payload,
    role_change_cause::Kind,
};
use sqlx::AnyConnection;

use crate::{
    RbacService,
    error::{ServiceError, StoreError},
    outbox, recompute,
    store::{self, Source, UserRow},
};

/// Users whose stored row an applied event changed, for cache invalidation.
#[derive(Debug, Default)]
struct Applied {
    /// Users whose stored row changed.
    users: Vec<String>,
}

impl RbacService {
    /// Applies events in order and returns how many were applied now.
    ///
    /// Consecutive events of one workspace are applied in one transaction,
    /// so a bulk import costs one commit per batch rather than per event. A
    /// failure rolls back the run it is in and stops delivery. The relay then
    /// retries from the first unacknowledged event, and the runs committed
    /// before are skipped by event id.
    pub async fn deliver(&self, request: DeliverRequest) -> Result<DeliverResponse, ServiceError> {
        for (index, event) in request.events.iter().enumerate() {
            if event.id.is_empty() || event.workspace_id.is_empty() {
                return Err(ServiceError::invalid(
                    "events",
                    format!("event {index} needs an id and a workspace_id"),
                ));
            }
        }
        let consumed: Vec<&Event> = request
            .events
            .iter()
            .filter(|event| {
                let is_consumed = consumed(event);
                if !is_consumed {
                    tracing::debug!(
                        event_id = %event.id,
                        aggregate_type = %event.aggregate_type,
                        "event kind not consumed by rbac-svc, acknowledged"
                    );
                }
                is_consumed
            })
            .collect();

        let mut applied = 0;
        for run in consumed.chunk_by(|left, right| left.workspace_id == right.workspace_id) {
            applied += self.apply_run(run).await?;
        }
        Ok(DeliverResponse { applied })
    }

    /// Applies events of one workspace in one transaction. Returns how many
    /// were applied now; events applied before are skipped.
    async fn apply_run(&self, run: &[&Event]) -> Result<u32, ServiceError> {
        let Some(first) = run.first() else {
            return Ok(0);
        };
        let workspace_id = first.workspace_id.as_str();
        let mut transaction = self.store.begin_write(workspace_id).await?;
        store::ensure_workspace(&mut transaction, workspace_id).await?;

        let mut applied = 0;
        let mut events = Vec::new();
        let mut changed_users = Vec::new();
        for event in run {
            if !store::mark_processed(&mut transaction, &event.id).await? {
                tracing::debug!(event_id = %event.id, "event already processed, skipped");
                continue;
            }
            let changed = apply_event(&mut transaction, workspace_id, event, &mut events).await?;
            changed_users.extend(changed.users);
            applied += 1;
        }

        outbox::insert(&mut transaction, self.store.engine(), &events).await?;
        transaction.commit().await?;
        if !events.is_empty() {
            self.outbox_signal.notify();
        }
        changed_users.sort_unstable();
        changed_users.dedup();
        self.invalidate(workspace_id, &changed_users).await;
        Ok(applied)
    }
}

/// Applies one event inside the run's transaction.
async fn apply_event(
    transaction: &mut AnyConnection,
    workspace_id: &str,
    event: &Event,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let changed = match &event.payload {
        Some(Payload::UserCreated(created)) => {
            user_created(transaction, workspace_id, created, events).await?
        }
        Some(Payload::UserUpdated(updated)) => {
            user_updated(transaction, workspace_id, updated).await?
        }
        Some(Payload::UserAdopted(adopted)) => {
            user_adopted(transaction, workspace_id, &adopted.user_id, events).await?
        }
        Some(Payload::UserDeleted(deleted)) => {
            store::delete_user(transaction, workspace_id, &deleted.user_id).await?;
            Applied {
                users: vec![deleted.user_id.clone()],
            }
        }
        Some(Payload::GroupCreated(created)) => {
            group_created(transaction, workspace_id, created, events).await?
        }
        Some(Payload::GroupUpdated(updated)) => {
            group_updated(transaction, workspace_id, updated, events).await?
        }
        Some(Payload::GroupDeleted(deleted)) => {
            group_deleted(transaction, workspace_id, deleted, events).await?
        }
        _ => Applied::default(),
    };
    Ok(changed)
}

/// Returns whether rbac-svc acts on the event's kind.
fn consumed(event: &Event) -> bool {
    matches!(
        event.payload,
        Some(
            Payload::UserCreated(_)
                | Payload::UserUpdated(_)
                | Payload::UserAdopted(_)
                | Payload::UserDeleted(_)
                | Payload::GroupCreated(_)
                | Payload::GroupUpdated(_)
                | Payload::GroupDeleted(_)
        )
    )
}

fn cause(kind: Kind, group_id: &str, mapped_role: Option<&str>) -> RoleChangeCause {
    RoleChangeCause {
        kind: kind.into(),
        group_id: group_id.to_owned(),
        mapped_role: mapped_role.unwrap_or_default().to_owned(),
    }
}

async fn user_created(
    connection: &mut AnyConnection,
    workspace_id: &str,
    created: &UserCreated,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let user_id = created.user_id.clone();
    match store::user(connection, workspace_id, &user_id).await? {
        Some(mut existing) => {
            existing.active = created.active;
            existing.scim_managed = created.scim_managed;
            store::update_user(connection, workspace_id, &existing).await?;
        }
        None => {
            // Inserted with an empty role, so the recomputation below
            // records the first role as a change from none.
            let user = UserRow {
                user_id: user_id.clone(),
                active: created.active,
                scim_managed: created.scim_managed,
                manual_role: None,
                role: String::new(),
                source: Source::Default,
                group_id: None,
                version: 1,
            };
            store::insert_user(connection, workspace_id, &user).await?;
        }
    }
    let cause = cause(Kind::UserCreated, "", None);
    recompute::recompute(
        connection,
        workspace_id,
        std::slice::from_ref(&user_id),
        &cause,
        events,
    )
    .await?;
    Ok(Applied {
        users: vec![user_id],
    })
}

async fn user_updated(
    connection: &mut AnyConnection,
    workspace_id: &str,
    updated: &UserUpdated,
) -> Result<Applied, StoreError> {
    let Some(mut user) = store::user(connection, workspace_id, &updated.user_id).await? else {
        // The user's creation was pruned from the producer's outbox before
        // this service first consumed it; nothing to update.
        tracing::warn!(user_id = %updated.user_id, "update of a user the role service does not know");
        return Ok(Applied::default());
    };
    if user.active == updated.active {
        return Ok(Applied::default());
    }
    user.active = updated.active;
    store::update_user(connection, workspace_id, &user).await?;
    Ok(Applied {
        users: vec![user.user_id],
    })
}

async fn user_adopted(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_id: &str,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let Some(mut user) = store::user(connection, workspace_id, user_id).await? else {
        return Ok(Applied::default());
    };
    user.scim_managed = true;
    user.manual_role = None;
    store::update_user(connection, workspace_id, &user).await?;
    let cause = cause(Kind::Membership, "", None);
    recompute::recompute(
        connection,
        workspace_id,
        &[user_id.to_owned()],
        &cause,
        events,
    )
    .await?;
    Ok(Applied {
        users: vec![user_id.to_owned()],
    })
}

async fn group_created(
    connection: &mut AnyConnection,
    workspace_id: &str,
    created: &GroupCreated,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    store::upsert_group(
        connection,
        workspace_id,
        &created.group_id,
        &created.display_name,
    )
    .await?;
    store::add_members(
        connection,
        workspace_id,
        &created.group_id,
        &created.member_ids,
    )
    .await?;
    membership_changed(
        connection,
        workspace_id,
        &created.group_id,
        &created.member_ids,
        events,
    )
    .await
}

async fn group_updated(
    connection: &mut AnyConnection,
    workspace_id: &str,
    updated: &GroupUpdated,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let group_id = updated.group_id.as_str();
    store::upsert_group(connection, workspace_id, group_id, &updated.display_name).await?;
    store::remove_members(
        connection,
        workspace_id,
        group_id,
        &updated.removed_member_ids,
    )
    .await?;
    store::add_members(
        connection,
        workspace_id,
        group_id,
        &updated.added_member_ids,
    )
    .await?;

    let mut touched = updated.added_member_ids.clone();
    touched.extend(updated.removed_member_ids.iter().cloned());
    membership_changed(connection, workspace_id, group_id, &touched, events).await
}

/// Recomputes the roles of `user_ids` after their membership of `group_id`
/// changed. A group without a mapping cannot change anyone's role.
async fn membership_changed(
    connection: &mut AnyConnection,
    workspace_id: &str,
    group_id: &str,
    user_ids: &[String],
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let Some(role) = store::mapping(connection, workspace_id, group_id).await? else {
        return Ok(Applied::default());
    };
    let cause = cause(Kind::Membership, group_id, Some(&role));
    let users = recompute::recompute(connection, workspace_id, user_ids, &cause, events).await?;
    Ok(Applied { users })
}

async fn group_deleted(
    connection: &mut AnyConnection,
    workspace_id: &str,
    deleted: &GroupDeleted,
    events: &mut Vec<Event>,
) -> Result<Applied, StoreError> {
    let group_id = deleted.group_id.as_str();
    let mapped = store::mapping(connection, workspace_id, group_id).await?;
    let members = match mapped {
        Some(_) => store::known_members(connection, workspace_id, group_id).await?,
        None => Vec::new(),
    };
    store::delete_group(connection, workspace_id, group_id).await?;
    let Some(role) = mapped else {
        return Ok(Applied::default());
    };

    events.push(outbox::event(
        workspace_id,
        outbox::AGGREGATE_WORKSPACE,
        workspace_id,
        Payload::GroupMappingRemoved(GroupMappingRemoved {
            group_id: group_id.to_owned(),
            previous_role: role.clone(),
            cause: "group_deleted".to_owned(),
        }),
    ));
    let cause = cause(Kind::MappingRemoved, group_id, Some(&role));
    let users = recompute::recompute(connection, workspace_id, &members, &cause, events).await?;
    Ok(Applied { users })
}
