//! Effective-role queries of internal services, cached under each user's
//! version with the scheme of [`plumbing::epoch_cache`]: every change of a
//! user's row bumps its version in the same transaction, and the writer
//! deletes the user's epoch entry after commit.
//!
//! Keys: `rbac:ue:{workspace}:{user}` contains the user's version (0 for an
//! unknown user), and `rbac:er:{workspace}:{user}:{version}` the encoded
//! `EffectiveRole` at that version.

use std::collections::HashMap;

use plumbing::epoch_cache::{EpochCache, ReadStart, key_part};
use prost::Message as _;
use proto::rbac::v1::{
    BatchGetEffectiveRolesRequest, BatchGetEffectiveRolesResponse, EffectiveRole,
    GetEffectiveRoleRequest, GetEffectiveRoleResponse, ListUsersWithRoleRequest,
    ListUsersWithRoleResponse, RoleSource,
};

use crate::{
    RbacService,
    admin::{page_size, require},
    catalogue::BUILT_IN_ROLES,
    error::ServiceError,
    store::{self, Source, UserRow},
};

/// Maximum users per `BatchGetEffectiveRoles` call.
pub const MAX_BATCH_USERS: usize = 1_000;

fn epoch_key(workspace_id: &str, user_id: &str) -> String {
    format!("rbac:ue:{}:{}", key_part(workspace_id), key_part(user_id))
}

fn result_key(workspace_id: &str, user_id: &str, version: i64) -> String {
    format!(
        "rbac:er:{}:{}:{version}",
        key_part(workspace_id),
        key_part(user_id)
    )
}

/// Returns the rank of a built-in role, 0 for any other name. Workspaces
/// contain only the built-in roles, whose ranks never change, so a lookup
/// needs no catalogue read.
fn rank_of(role: &str) -> i32 {
    BUILT_IN_ROLES
        .iter()
        .find(|candidate| candidate.name == role)
        .map_or(0, |candidate| candidate.rank)
}

/// Builds the response message for a stored user.
fn effective_role(user: &UserRow) -> EffectiveRole {
    let source = match user.source {
        Source::Default => RoleSource::Default,
        Source::Group => RoleSource::GroupMapping,
        Source::Manual => RoleSource::Manual,
    };
    EffectiveRole {
        user_id: user.user_id.clone(),
        active: user.active,
        role: if user.active {
            user.role.clone()
        } else {
            String::new()
        },
        rank: if user.active { rank_of(&user.role) } else { 0 },
        source: source.into(),
        group_id: user.group_id.clone().unwrap_or_default(),
        scim_managed: user.scim_managed,
    }
}

impl RbacService {
    pub async fn get_effective_role(
        &self,
        request: GetEffectiveRoleRequest,
    ) -> Result<GetEffectiveRoleResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("user_id", &request.user_id)?;
        let mut answers = self
            .cached_roles(
                &request.workspace_id,
                std::slice::from_ref(&request.user_id),
            )
            .await?;
        match answers.pop().flatten() {
            Some(effective_role) => Ok(GetEffectiveRoleResponse {
                effective_role: Some(effective_role),
            }),
            None => Err(ServiceError::UserNotFound(request.user_id)),
        }
    }

    pub async fn batch_get_effective_roles(
        &self,
        request: BatchGetEffectiveRolesRequest,
    ) -> Result<BatchGetEffectiveRolesResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        if request.user_ids.len() > MAX_BATCH_USERS {
            return Err(ServiceError::invalid(
                "user_ids",
                format!("at most {MAX_BATCH_USERS} users per call"),
            ));
        }
        if request.user_ids.iter().any(String::is_empty) {
            return Err(ServiceError::invalid("user_ids", "ids must not be empty"));
        }
        let answers = self
            .cached_roles(&request.workspace_id, &request.user_ids)
            .await?;
        let mut response = BatchGetEffectiveRolesResponse::default();
        for (user_id, answer) in request.user_ids.into_iter().zip(answers) {
            match answer {
                Some(effective_role) => response.effective_roles.push(effective_role),
                None => response.not_found_user_ids.push(user_id),
            }
        }
        Ok(response)
    }

    pub async fn list_users_with_role(
        &self,
        request: ListUsersWithRoleRequest,
    ) -> Result<ListUsersWithRoleResponse, ServiceError> {
        require("workspace_id", &request.workspace_id)?;
        require("role", &request.role)?;
        let page_size = page_size(request.page_size)?;
        let mut connection = self.store.reader().acquire().await?;
        let catalogue = store::catalogue(&mut connection, &request.workspace_id).await?;
        if catalogue.rank(&request.role).is_none() {
            return Err(ServiceError::UnknownRole(request.role));
        }
        let mut user_ids = store::users_with_role(
            &mut connection,
            &request.workspace_id,
            &request.role,
            &request.page_token,
            i64::from(page_size) + 1,
        )
        .await?;
        let limit = usize::try_from(page_size).unwrap_or(usize::MAX);
        let more = user_ids.len() > limit;
        user_ids.truncate(limit);
        let next_page_token = match (more, user_ids.last()) {
            (true, Some(last)) => last.clone(),
            _ => String::new(),
        };
        Ok(ListUsersWithRoleResponse {
            user_ids,
            next_page_token,
        })
    }

    /// Reads one user's effective role from the database, bypassing the cache.
    pub(crate) async fn load_effective_role(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<EffectiveRole>, ServiceError> {
        let mut connection = self.store.reader().acquire().await?;
        let user = store::user(&mut connection, workspace_id, user_id).await?;
        Ok(user.map(|user| effective_role(&user)))
    }

    /// Returns the effective roles of `user_ids` in order, `None` for unknown
    /// users. It makes one cache round trip for the epochs, one for the
    /// results, and one database read for the misses.
    async fn cached_roles(
        &self,
        workspace_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<Option<EffectiveRole>>, ServiceError> {
        let epoch_keys: Vec<String> = user_ids
            .iter()
            .map(|user_id| epoch_key(workspace_id, user_id))
            .collect();
        let epochs = self.cache.epochs(&epoch_keys).await;

        let mut answers: Vec<Option<Option<EffectiveRole>>> = vec![None; user_ids.len()];
        let mut lookups = Vec::new();
        for (index, (user_id, epoch)) in user_ids.iter().zip(&epochs).enumerate() {
            match epoch {
                Some(0) => answers[index] = Some(None),
                Some(version) => lookups.push((index, result_key(workspace_id, user_id, *version))),
                None => {}
            }
        }
        let lookup_keys: Vec<String> = lookups.iter().map(|(_, key)| key.clone()).collect();
        for ((index, _), value) in lookups.iter().zip(self.cache.get_many(&lookup_keys).await) {
            if let Some(decoded) =
                value.and_then(|bytes| EffectiveRole::decode(bytes.as_slice()).ok())
            {
                answers[*index] = Some(Some(decoded));
            }
        }

        let misses: Vec<String> = user_ids
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(user_id, _)| user_id.clone())
            .collect();
        let hits = user_ids.len() - misses.len();
        self.cache.count(hits as u64, misses.len() as u64);
        if !misses.is_empty() {
            let read = ReadStart::now();
            let mut connection = self.store.reader().acquire().await?;
            let found: HashMap<String, UserRow> =
                store::users(&mut connection, workspace_id, &misses)
                    .await?
                    .into_iter()
                    .map(|user| (user.user_id.clone(), user))
                    .collect();
            drop(connection);

            let mut entries = Vec::new();
            for (index, user_id) in user_ids.iter().enumerate() {
                if answers[index].is_some() {
                    continue;
                }
                let key = epoch_key(workspace_id, user_id);
                match found.get(user_id) {
                    Some(user) => {
                        let answer = effective_role(user);
                        entries.push(EpochCache::epoch_entry(key, user.version, read));
                        entries.push(EpochCache::result_entry(
                            result_key(workspace_id, user_id, user.version),
                            answer.encode_to_vec(),
                        ));
                        answers[index] = Some(Some(answer));
                    }
                    None => {
                        entries.push(EpochCache::epoch_entry(key, 0, read));
                        answers[index] = Some(None);
                    }
                }
            }
            self.cache.set_many(entries).await;
        }
        Ok(answers.into_iter().map(Option::flatten).collect())
    }

    /// Deletes the epoch entries of users whose row a commit changed.
    pub(crate) async fn invalidate(&self, workspace_id: &str, user_ids: &[String]) {
        let keys: Vec<String> = user_ids
            .iter()
            .map(|user_id| epoch_key(workspace_id, user_id))
            .collect();
        self.cache.delete_many(&keys).await;
    }
}
