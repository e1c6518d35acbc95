//! Recomputing stored effective roles inside a write transaction, and the
//! same computation without writes for previews.

use std::collections::HashMap;

use proto::events::v1::{EffectiveRoleChanged, Event, RoleChangeCause, event::Payload};
use sqlx::AnyConnection;

use crate::{
    error::StoreError,
    outbox,
    resolve::{Resolved, Rules},
    store::{self, IDS_PER_STATEMENT, UserRow, UserSet},
};

/// A user whose stored role differs from the role the rules give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The stored row before the change.
    pub before: UserRow,
    pub after: Resolved,
}

/// Reads the rules stored for the workspace.
pub async fn stored_rules(
    connection: &mut AnyConnection,
    workspace_id: &str,
) -> Result<Rules, StoreError> {
    Ok(Rules {
        catalogue: store::catalogue(connection, workspace_id).await?,
        mappings: store::mappings(connection, workspace_id).await?,
    })
}

/// Resolves the role of each stored user among `user_ids` under `rules`
/// and returns those whose stored role differs, ordered by user id.
pub async fn plan(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_ids: &[String],
    rules: &Rules,
) -> Result<Vec<Change>, StoreError> {
    let mut changes = Vec::new();
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let users = store::users(connection, workspace_id, chunk).await?;
        if users.is_empty() {
            continue;
        }
        let known: Vec<String> = users.iter().map(|user| user.user_id.clone()).collect();
        let memberships = store::memberships_of(connection, workspace_id, &known).await?;
        changes.extend(differing(users, memberships, rules));
    }
    changes.sort_by(|left, right| left.before.user_id.cmp(&right.before.user_id));
    Ok(changes)
}

/// Resolves the role of each stored user of `set` under `rules` and
/// returns those whose stored role differs, ordered by user id. It reads
/// in two statements however large the set is.
pub async fn plan_set(
    connection: &mut AnyConnection,
    workspace_id: &str,
    set: UserSet<'_>,
    rules: &Rules,
) -> Result<Vec<Change>, StoreError> {
    let users = store::users_in(connection, workspace_id, set).await?;
    let memberships = store::memberships_in(connection, workspace_id, set).await?;
    let mut changes = differing(users, memberships, rules);
    changes.sort_by(|left, right| left.before.user_id.cmp(&right.before.user_id));
    Ok(changes)
}

/// Resolves each of `users`, given their (user id, group id) memberships,
/// and keeps those whose stored role differs.
fn differing(
    users: Vec<UserRow>,
    memberships: Vec<(String, String)>,
    rules: &Rules,
) -> Vec<Change> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for (user_id, group_id) in memberships {
        groups.entry(user_id).or_default().push(group_id);
    }
    users
        .into_iter()
        .filter_map(|user| {
            let member_of = groups.get(&user.user_id).map(Vec::as_slice).unwrap_or(&[]);
            let resolved = rules.resolve(&user, member_of.iter().map(String::as_str));
            user.differs_from(&resolved).then_some(Change {
                before: user,
                after: resolved,
            })
        })
        .collect()
}

/// Stores each change, bumping the user's version, and adds one
/// `EffectiveRoleChanged` event per change to `events`. Returns the ids of
/// the changed users.
pub async fn apply(
    connection: &mut AnyConnection,
    workspace_id: &str,
    changes: Vec<Change>,
    cause: &RoleChangeCause,
    events: &mut Vec<Event>,
) -> Result<Vec<String>, StoreError> {
    let mut changed = Vec::with_capacity(changes.len());
    let mut updated = Vec::with_capacity(changes.len());
    for change in changes {
        let mut user = change.before;
        let previous_role = std::mem::replace(&mut user.role, change.after.role.clone());
        user.source = change.after.source;
        user.group_id = change.after.group_id.clone();

        events.push(outbox::event(
            workspace_id,
            outbox::AGGREGATE_USER,
            &user.user_id,
            Payload::EffectiveRoleChanged(EffectiveRoleChanged {
                user_id: user.user_id.clone(),
                previous_role,
                role: change.after.role,
                source_group_id: change.after.group_id.unwrap_or_default(),
                cause: Some(cause.clone()),
            }),
        ));
        changed.push(user.user_id.clone());
        updated.push(user);
    }
    store::update_roles(connection, workspace_id, &updated).await?;
    Ok(changed)
}

/// Recomputes the roles of `user_ids` under the stored rules and stores the
/// changes. Returns the ids of the changed users.
pub async fn recompute(
    connection: &mut AnyConnection,
    workspace_id: &str,
    user_ids: &[String],
    cause: &RoleChangeCause,
    events: &mut Vec<Event>,
) -> Result<Vec<String>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rules = stored_rules(connection, workspace_id).await?;
    let changes = plan(connection, workspace_id, user_ids, &rules).await?;
    apply(connection, workspace_id, changes, cause, events).await
}
