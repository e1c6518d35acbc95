//! Setup against rbac-svc shared by the role workloads: the catalogue
//! check, group mappings, and the wait until rbac-svc has applied the SCIM
//! changes it learns from the outbox events of identity-svc and groups-svc.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use proto::rbac::v1::{
    BatchGetEffectiveRolesRequest, EffectiveRole, ListRolesRequest, SetGroupMappingRequest,
    role_admin_service_client::RoleAdminServiceClient, role_service_client::RoleServiceClient,
};
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

use crate::{
    grpc::{self, RBAC_SVC},
    runner::progress_bar,
};

/// `ErrorInfo.reason` of rbac-svc's NOT_FOUND for a group it has not
/// received yet.
const REASON_GROUP_NOT_FOUND: &str = "GROUP_NOT_FOUND";
/// Maximum users per `BatchGetEffectiveRoles` call that rbac-svc accepts.
const BATCH_USERS: usize = 1_000;
/// Wait between two `SetGroupMapping` attempts while the group is unknown.
const MAPPING_RETRY: Duration = Duration::from_millis(50);
/// Wait between two rounds of role reads while rbac-svc catches up.
const CATCH_UP_POLL: Duration = Duration::from_millis(100);
/// Subject recorded by rbac-svc as the author of the mappings.
const ACTOR: &str = "scim-bench";

/// Channels to rbac-svc and the workspace every request names.
pub struct Rbac {
    pub channels: Vec<Channel>,
    pub workspace_id: String,
    /// The --rbac-url value, for error messages.
    pub url: String,
}

/// How a group mapping was applied.
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    /// NOT_FOUND responses before rbac-svc had stored the group.
    pub retries: u32,
    /// Time from the first attempt to the successful one.
    pub waited: Duration,
}

impl Rbac {
    fn channel(&self) -> Result<Channel> {
        match self.channels.first() {
            Some(channel) => Ok(channel.clone()),
            None => bail!("no connection to rbac-svc at {}", self.url),
        }
    }

    /// Reads the workspace's role catalogue and returns the rank of `role`.
    /// Fails when rbac-svc does not serve `rbac.v1` or the catalogue has no
    /// such role.
    pub async fn rank_of(&self, role: &str) -> Result<i32> {
        let request = ListRolesRequest {
            workspace_id: self.workspace_id.clone(),
        };
        let catalogue = match RoleAdminServiceClient::new(self.channel()?)
            .list_roles(request)
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) => bail!(
                "rbac-svc at {} failed ListRoles ({:?}: {}); check that it runs and serves rbac.v1",
                self.url,
                status.code(),
                status.message()
            ),
        };
        match catalogue.roles.iter().find(|entry| entry.name == role) {
            Some(entry) => Ok(entry.rank),
            None => bail!(
                "role {role:?} is not in the catalogue of workspace {}; the workloads need the built-in roles",
                self.workspace_id
            ),
        }
    }

    /// Maps `group_id` to `role` with `SetGroupMapping`, retrying while
    /// rbac-svc returns GROUP_NOT_FOUND because the group's creation event
    /// has not reached it yet. Gives up after `limit`, which also bounds
    /// each call: a mapping recomputes the role of every member, which
    /// takes longer than a lookup's --timeout for a large group.
    pub async fn map_group(&self, group_id: &str, role: &str, limit: Duration) -> Result<Mapped> {
        let channels = grpc::connect(RBAC_SVC, &self.url, 1, limit).await?;
        let Some(channel) = channels.into_iter().next() else {
            bail!("no connection to rbac-svc at {}", self.url);
        };
        let mut client = RoleAdminServiceClient::new(channel);
        let started = Instant::now();
        let mut retries = 0;
        loop {
            let request = SetGroupMappingRequest {
                workspace_id: self.workspace_id.clone(),
                group_id: group_id.to_owned(),
                role: role.to_owned(),
                actor: ACTOR.to_owned(),
            };
            let status = match client.set_group_mapping(request).await {
                Ok(_) => {
                    return Ok(Mapped {
                        retries,
                        waited: started.elapsed(),
                    });
                }
                Err(status) => status,
            };
            if !is_group_not_found(&status) {
                bail!(
                    "SetGroupMapping of group {group_id} to {role:?} failed: {:?}: {}",
                    status.code(),
                    status.message()
                );
            }
            if started.elapsed() >= limit {
                bail!(
                    "rbac-svc did not learn group {group_id} within {}s (SetGroupMapping still returns GROUP_NOT_FOUND); check that groups-svc delivers its outbox to rbac-svc, or raise --setup-timeout",
                    limit.as_secs()
                );
            }
            retries += 1;
            tokio::time::sleep(MAPPING_RETRY).await;
        }
    }

    /// Reads the effective roles of `user_ids` until `ready(index, role)`
    /// holds for every one of them, and returns the last responses in the
    /// order of `user_ids`. A user that rbac-svc has not stored yet is not
    /// ready.
    /// Gives up after `limit`, and on the first gRPC error.
    pub async fn wait_for_roles<F>(
        &self,
        user_ids: &[String],
        label: &str,
        limit: Duration,
        ready: F,
    ) -> Result<Vec<EffectiveRole>>
    where
        F: Fn(usize, &EffectiveRole) -> bool,
    {
        let mut client = RoleServiceClient::new(self.channel()?);
        let started = Instant::now();
        let progress = progress_bar(label, Some(user_ids.len() as u64));
        let mut roles: Vec<Option<EffectiveRole>> = vec![None; user_ids.len()];
        let mut pending: Vec<usize> = (0..user_ids.len()).collect();

        while !pending.is_empty() {
            let mut still_pending = Vec::new();
            for chunk in pending.chunks(BATCH_USERS) {
                let request = BatchGetEffectiveRolesRequest {
                    workspace_id: self.workspace_id.clone(),
                    user_ids: chunk.iter().map(|index| user_ids[*index].clone()).collect(),
                };
                let response = match client.batch_get_effective_roles(request).await {
                    Ok(response) => response.into_inner(),
                    Err(status) => bail!(
                        "BatchGetEffectiveRoles failed while waiting for rbac-svc: {:?}: {}",
                        status.code(),
                        status.message()
                    ),
                };
                let mut found: HashMap<String, EffectiveRole> = response
                    .effective_roles
                    .into_iter()
                    .map(|role| (role.user_id.clone(), role))
                    .collect();
                for index in chunk {
                    let stored = found.remove(&user_ids[*index]);
                    if !stored.as_ref().is_some_and(|role| ready(*index, role)) {
                        still_pending.push(*index);
                    }
                    roles[*index] = stored;
                }
            }
            pending = still_pending;
            progress.set_position((user_ids.len() - pending.len()) as u64);
            if pending.is_empty() {
                break;
            }
            if started.elapsed() >= limit {
                progress.finish_and_clear();
                let first = pending[0];
                let state = match &roles[first] {
                    None => "not found in rbac-svc".to_owned(),
                    Some(role) => format!("role {:?}, active {}", role.role, role.active),
                };
                bail!(
                    "setup step {label:?}: {} of {} users not ready after {}s, such as user {} ({state}); check that identity-svc and groups-svc deliver their outboxes to rbac-svc, or raise --setup-timeout",
                    pending.len(),
                    user_ids.len(),
                    limit.as_secs(),
                    user_ids[first]
                );
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
        progress.finish_and_clear();
        Ok(roles.into_iter().flatten().collect())
    }
}

/// Returns true for rbac-svc's NOT_FOUND with reason GROUP_NOT_FOUND.
pub fn is_group_not_found(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::NotFound
        && status
            .get_details_error_info()
            .is_some_and(|info| info.reason == REASON_GROUP_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use tonic_types::ErrorDetails;

    use super::*;

    fn not_found(reason: &str) -> tonic::Status {
        tonic::Status::with_error_details(
            tonic::Code::NotFound,
            "not found",
            ErrorDetails::with_error_info(reason, "rbac.v1", HashMap::new()),
        )
    }

    #[test]
    fn group_not_found_detected() {
        assert!(is_group_not_found(&not_found("GROUP_NOT_FOUND")));
    }

    #[test]
    fn other_not_found_reasons_not_retried() {
        assert!(!is_group_not_found(&not_found("MAPPING_NOT_FOUND")));
        assert!(!is_group_not_found(&tonic::Status::not_found("group")));
    }

    #[test]
    fn other_codes_not_retried() {
        let status = tonic::Status::with_error_details(
            tonic::Code::InvalidArgument,
            "unknown role",
            ErrorDetails::with_error_info("GROUP_NOT_FOUND", "rbac.v1", HashMap::new()),
        );

        assert!(!is_group_not_found(&status));
    }
}
