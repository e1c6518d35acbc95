//! Administration of the default role, group mappings and manual roles,
//! with previews that compute a change without applying it.

use std::collections::BTreeMap;

use proto::events::v1::{
    DefaultRoleChanged, GroupMappingRemoved, GroupMappingSet, RoleChangeCause, event::Payload,
    role_change_cause::Kind,
};
use proto::rbac::v1::{
    GroupMapping, ListGroupMappingsRequest, ListGroupMappingsResponse, ListRolesRequest,
    ListRolesResponse, PreviewRoleChangeRequest, PreviewRoleChangeResponse,
    RemoveGroupMappingRequest, RemoveGroupMappingResponse, Role, RoleTransition,
    SetDefaultRoleRequest, SetDefaultRoleResponse, SetGroupMappingRequest, SetGroupMappingResponse,
    SetUserRoleRequest, SetUserRoleResponse, UserRoleChange,
    preview_role_change_request::Change as ProposedChange,
};
use sqlx::AnyConnection;

use crate::{
    RbacService,
    error::ServiceError,
    outbox, recompute,
    recompute::Change,
    store::{self, Catalogue, UserSet},
};

/// Largest page of `ListGroupMappings` and `ListUsersWithRole`.
pub const MAX_PAGE_SIZE: i32 = 1_000;
/// Page size when a request leaves it 0.
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// Largest preview sample.
pub const MAX_SAMPLE_SIZE: i32 = 100;
/// Preview sample size when a request leaves it 0.
pub const DEFAULT_SAMPLE_SIZE: i32 = 20;

/// A proposed change of the rules, as applied or previewed.
enum Proposal {
    SetMapping { group_id: String, role: String },
    RemoveMapping { group_id: String },
    DefaultRole { role: String },
}

/// The planned effect of a proposal.
struct Plan {
    changes: Vec<Change>,
    /// The mapping or default role the proposal replaces.
    previous_role: String,
}

impl RbacService {
    pub async fn list_roles(
        &self,
        request: ListRolesRequest,
    ) -> Result<ListRolesResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        let mut connection = self.store.reader().acquire().await?;
        let catalogue = store::catalogue(&mut connection, &request.workspace_id).await?;
        Ok(ListRolesResponse {
            roles: catalogue
                .roles
                .into_iter()
                .map(|role| Role {
                    name: role.name,
                    rank: role.rank,
                    description: role.description,
                })
                .collect(),
            default_role: catalogue.default_role,
        })
    }

    pub async fn list_group_mappings(
        &self,
        request: ListGroupMappingsRequest,
    ) -> Result<ListGroupMappingsResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        let page_size = page_size(request.page_size)?;
        let mut connection = self.store.reader().acquire().await?;
        let rows = store::group_mappings(
            &mut connection,
            &request.workspace_id,
            request.mapped_only,
            None,
            Some(&request.page_token),
            i64::from(page_size) + 1,
        )
        .await?;
        let more = rows.len() > usize::try_from(page_size).unwrap_or(usize::MAX);
        let mut mappings: Vec<GroupMapping> = rows
            .into_iter()
            .map(|row| GroupMapping {
                group_id: row.group_id,
                display_name: row.display_name,
                member_count: row.member_count,
                role: row.role.unwrap_or_default(),
            })
            .collect();
        mappings.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
        let next_page_token = match (more, mappings.last()) {
            (true, Some(last)) => last.group_id.clone(),
            _ => String::new(),
        };
        Ok(ListGroupMappingsResponse {
            mappings,
            next_page_token,
        })
    }

    pub async fn set_default_role(
        &self,
        request: SetDefaultRoleRequest,
    ) -> Result<SetDefaultRoleResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("role", &request.role)?;
        let proposal = Proposal::DefaultRole {
            role: request.role.clone(),
        };
        let (previous_role, changed_users) =
            self.apply_proposal(&request.workspace_id, proposal).await?;
        Ok(SetDefaultRoleResponse {
            previous_role,
            changed_users,
        })
    }

    pub async fn set_group_mapping(
        &self,
        request: SetGroupMappingRequest,
    ) -> Result<SetGroupMappingResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("group_id", &request.group_id)?;
        require("role", &request.role)?;
        let proposal = Proposal::SetMapping {
            group_id: request.group_id.clone(),
            role: request.role.clone(),
        };
        let (previous_role, changed_users) =
            self.apply_proposal(&request.workspace_id, proposal).await?;
        Ok(SetGroupMappingResponse {
            previous_role,
            changed_users,
        })
    }

    pub async fn remove_group_mapping(
        &self,
        request: RemoveGroupMappingRequest,
    ) -> Result<RemoveGroupMappingResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("group_id", &request.group_id)?;
        let proposal = Proposal::RemoveMapping {
            group_id: request.group_id.clone(),
        };
        let (previous_role, changed_users) =
            self.apply_proposal(&request.workspace_id, proposal).await?;
        Ok(RemoveGroupMappingResponse {
            previous_role,
            changed_users,
        })
    }

    pub async fn preview_role_change(
        &self,
        request: PreviewRoleChangeRequest,
    ) -> Result<PreviewRoleChangeResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        let proposal = match request.change {
            Some(ProposedChange::SetMapping(set)) => {
                require("set_mapping.group_id", &set.group_id)?;
                require("set_mapping.role", &set.role)?;
                Proposal::SetMapping {
                    group_id: set.group_id,
                    role: set.role,
                }
            }
            Some(ProposedChange::RemoveMapping(group_id)) => {
                require("remove_mapping", &group_id)?;
                Proposal::RemoveMapping { group_id }
            }
            Some(ProposedChange::DefaultRole(role)) => {
                require("default_role", &role)?;
                Proposal::DefaultRole { role }
            }
            None => {
                return Err(ServiceError::invalid(
                    "change",
                    "a proposed change is required",
                ));
            }
        };
        let sample_size = match request.sample_size {
            0 => DEFAULT_SAMPLE_SIZE,
            size if (1..=MAX_SAMPLE_SIZE).contains(&size) => size,
            _ => {
                return Err(ServiceError::invalid(
                    "sample_size",
                    format!("must be between 0 and {MAX_SAMPLE_SIZE}"),
                ));
            }
        };

        // The plan reads inside a write transaction, which is rolled back, so
        // every read comes from one consistent state.
        let mut transaction = self.store.begin_write(&request.workspace_id).await?;
        let plan = plan(&mut transaction, &request.workspace_id, &proposal).await?;
        transaction.rollback().await?;

        let mut transitions: BTreeMap<(String, String), i64> = BTreeMap::new();
        for change in &plan.changes {
            *transitions
                .entry((change.before.role.clone(), change.after.role.clone()))
                .or_default() += 1;
        }
        let mut transitions: Vec<RoleTransition> = transitions
            .into_iter()
            .map(|((from_role, to_role), users)| RoleTransition {
                from_role,
                to_role,
                users,
            })
            .collect();
        transitions.sort_by_key(|transition| std::cmp::Reverse(transition.users));
        let sample = plan
            .changes
            .iter()
            .take(usize::try_from(sample_size).unwrap_or(0))
            .map(|change| UserRoleChange {
                user_id: change.before.user_id.clone(),
                from_role: change.before.role.clone(),
                to_role: change.after.role.clone(),
            })
            .collect();
        Ok(PreviewRoleChangeResponse {
            changed_users: i64::try_from(plan.changes.len()).unwrap_or(i64::MAX),
            transitions,
            sample,
        })
    }

    pub async fn set_user_role(
        &self,
        request: SetUserRoleRequest,
    ) -> Result<SetUserRoleResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("user_id", &request.user_id)?;
        require("role", &request.role)?;
        let workspace_id = request.workspace_id.as_str();

        let mut transaction = self.store.begin_write(workspace_id).await?;
        let Some(mut user) = store::user(&mut transaction, workspace_id, &request.user_id).await?
        else {
            return Err(ServiceError::UserNotFound(request.user_id));
        };
        if user.scim_managed {
            return Err(ServiceError::RoleManagedByScim(request.user_id));
        }
        let catalogue = store::catalogue(&mut transaction, workspace_id).await?;
        if catalogue.rank(&request.role).is_none() {
            return Err(ServiceError::UnknownRole(request.role));
        }
        store::ensure_workspace(&mut transaction, workspace_id).await?;

        user.manual_role = Some(request.role.clone());
        store::update_user(&mut transaction, workspace_id, &user).await?;
        let mut events = Vec::new();
        let cause = RoleChangeCause {
            kind: Kind::Manual.into(),
            ..RoleChangeCause::default()
        };
        let changed = recompute::recompute(
            &mut transaction,
            workspace_id,
            &[user.user_id.clone()],
            &cause,
            &mut events,
        )
        .await?;
        outbox::insert(&mut transaction, self.store.engine(), &events).await?;
        transaction.commit().await?;
        self.outbox_signal.notify();
        self.invalidate(workspace_id, &[user.user_id.clone()]).await;
        tracing::info!(
            user_id = %user.user_id,
            changed = !changed.is_empty(),
            "manual role set"
        );

        let effective_role = self
            .load_effective_role(workspace_id, &request.user_id)
            .await?
            .ok_or(ServiceError::UserNotFound(request.user_id))?;
        Ok(SetUserRoleResponse {
            effective_role: Some(effective_role),
        })
    }

    /// Applies a proposal in one transaction: stores the new rule, the
    /// recomputed roles and their events. Returns the replaced role and the
    /// number of users whose role changed.
    async fn apply_proposal(
        &self,
        workspace_id: &str,
        proposal: Proposal,
    ) -> Result<(String, i64), ServiceError> {
        let mut transaction = self.store.begin_write(workspace_id).await?;
        let plan = plan(&mut transaction, workspace_id, &proposal).await?;
        let unchanged = match &proposal {
            Proposal::SetMapping { role, .. } | Proposal::DefaultRole { role } => {
                *role == plan.previous_role
            }
            Proposal::RemoveMapping { .. } => false,
        };
        if unchanged {
            transaction.rollback().await?;
            return Ok((plan.previous_role, 0));
        }
        store::ensure_workspace(&mut transaction, workspace_id).await?;

        let mut events = Vec::new();
        let (cause, rule_event) = match &proposal {
            Proposal::SetMapping { group_id, role } => {
                store::set_mapping(&mut transaction, workspace_id, group_id, role).await?;
                (
                    cause(Kind::MappingSet, group_id, role),
                    Payload::GroupMappingSet(GroupMappingSet {
                        group_id: group_id.clone(),
                        role: role.clone(),
                        previous_role: plan.previous_role.clone(),
                    }),
                )
            }
            Proposal::RemoveMapping { group_id } => {
                store::remove_mapping(&mut transaction, workspace_id, group_id).await?;
                (
                    cause(Kind::MappingRemoved, group_id, &plan.previous_role),
                    Payload::GroupMappingRemoved(GroupMappingRemoved {
                        group_id: group_id.clone(),
                        previous_role: plan.previous_role.clone(),
                        cause: "admin".to_owned(),
                    }),
                )
            }
            Proposal::DefaultRole { role } => {
                store::set_default_role(&mut transaction, workspace_id, role).await?;
                (
                    cause(Kind::DefaultRole, "", role),
                    Payload::DefaultRoleChanged(DefaultRoleChanged {
                        role: role.clone(),
                        previous_role: plan.previous_role.clone(),
                    }),
                )
            }
        };
        events.push(outbox::event(
            workspace_id,
            outbox::AGGREGATE_WORKSPACE,
            workspace_id,
            rule_event,
        ));
        let changed = recompute::apply(
            &mut transaction,
            workspace_id,
            plan.changes,
            &cause,
            &mut events,
        )
        .await?;
        outbox::insert(&mut transaction, self.store.engine(), &events).await?;
        transaction.commit().await?;
        self.outbox_signal.notify();
        self.invalidate(workspace_id, &changed).await;

        let changed_users = i64::try_from(changed.len()).unwrap_or(i64::MAX);
        tracing::info!(changed_users, "role rules changed");
        Ok((plan.previous_role, changed_users))
    }
}

fn cause(kind: Kind, group_id: &str, mapped_role: &str) -> RoleChangeCause {
    RoleChangeCause {
        kind: kind.into(),
        group_id: group_id.to_owned(),
        mapped_role: mapped_role.to_owned(),
    }
}

/// Validates a proposal against the stored state and computes the roles it
/// would change. Only the users it can affect are resolved: the group's
/// members for a mapping, the users on the default role for a new default.
async fn plan(
    connection: &mut AnyConnection,
    workspace_id: &str,
    proposal: &Proposal,
) -> Result<Plan, ServiceError> {
    let mut rules = recompute::stored_rules(connection, workspace_id).await?;
    let (affected, previous_role) = match proposal {
        Proposal::SetMapping { group_id, role } => {
            known_role(&rules.catalogue, role)?;
            if store::group(connection, workspace_id, group_id)
                .await?
                .is_none()
            {
                return Err(ServiceError::GroupNotFound(group_id.clone()));
            }
            let previous = rules.mappings.insert(group_id.clone(), role.clone());
            (
                UserSet::GroupMembers(group_id),
                previous.unwrap_or_default(),
            )
        }
        Proposal::RemoveMapping { group_id } => {
            let Some(previous) = rules.mappings.remove(group_id) else {
                return Err(ServiceError::MappingNotFound(group_id.clone()));
            };
            (UserSet::GroupMembers(group_id), previous)
        }
        Proposal::DefaultRole { role } => {
            known_role(&rules.catalogue, role)?;
            let previous = std::mem::replace(&mut rules.catalogue.default_role, role.clone());
            (UserSet::OnDefaultRole, previous)
        }
    };
    let changes = recompute::plan_set(connection, workspace_id, affected, &rules).await?;
    Ok(Plan {
        changes,
        previous_role,
    })
}

fn known_role(catalogue: &Catalogue, role: &str) -> Result<(), ServiceError> {
    match catalogue.rank(role) {
        Some(_) => Ok(()),
        None => Err(ServiceError::UnknownRole(role.to_owned())),
    }
}

/// Rejects an empty required field.
pub(crate) fn require(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.is_empty() {
        return Err(ServiceError::invalid(field, "is required"));
    }
    Ok(())
}

/// Validates a requested page size: 0 gives the default.
pub(crate) fn page_size(requested: i32) -> Result<i32, ServiceError> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        size if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(size),
        _ => Err(ServiceError::invalid(
            "page_size",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )),
    }
}
