//! `role-checks`: gRPC `rbac.v1.RoleService/GetEffectiveRole` against
//! rbac-svc. Users are set up over SCIM first and every second one joins a
//! group mapped to "manager", so the returned roles mix mapped and default
//! roles.

use std::sync::Arc;

use anyhow::{Result, bail};
use proto::rbac::v1::{
    EffectiveRole, GetEffectiveRoleRequest, role_service_client::RoleServiceClient,
};

use crate::{
    cli::{self, RoleChecksArgs, TargetArgs},
    grpc::{self, RBAC_SVC, grpc_failure},
    rbac::Rbac,
    report::Summary,
    setup::{Bench, add_members, create_groups, user_pool},
    stats::{Failure, Recorder},
    target,
    workloads::{measure, spread},
};

/// Role the group of every second user is mapped to.
const MAPPED_ROLE: &str = "manager";

/// Sets up the users and the mapped group, waits until rbac-svc has applied
/// them, then measures lookups over a hot set (`--cached`) or over every
/// user (`--uncached`).
pub async fn role_checks(
    bench: Arc<Bench>,
    target_args: &TargetArgs,
    args: RoleChecksArgs,
) -> Result<Summary> {
    validate(&args)?;
    let rbac = Rbac {
        channels: grpc::connect(
            RBAC_SVC,
            &target_args.rbac_url,
            args.connections,
            bench.load.timeout,
        )
        .await?,
        workspace_id: target::workspace_id(target_args)?,
        url: target_args.rbac_url.clone(),
    };
    let mapped_rank = rbac.rank_of(MAPPED_ROLE).await?;

    let users: Vec<String> = user_pool(&bench, args.users)
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect();
    let group_name = format!("bench-{}-roles", bench.run);
    let Some(group_id) = create_groups(&bench, vec![group_name])
        .await?
        .into_iter()
        .next()
        .map(|group| group.id)
    else {
        bail!("setup created no group");
    };
    let members: Vec<String> = users
        .iter()
        .enumerate()
        .filter(|(index, _)| is_member(*index))
        .map(|(_, id)| id.clone())
        .collect();
    let member_count = members.len();
    add_members(&bench, vec![(group_id.clone(), members)], cli::MAX_BATCH).await?;
    let mapped = rbac
        .map_group(&group_id, MAPPED_ROLE, bench.load.setup_timeout)
        .await?;
    rbac.wait_for_roles(
        &users,
        "wait for rbac",
        bench.load.setup_timeout,
        |index, role| ready(is_member(index), role, mapped_rank),
    )
    .await?;

    let hot = usize::try_from(args.hot_users)
        .unwrap_or(usize::MAX)
        .min(users.len());
    let cached = args.cached;
    let user_count = users.len();
    let (users, workspace_id) = (Arc::new(users), Arc::new(rbac.workspace_id.clone()));
    let channels = Arc::new(rbac.channels);

    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let mut summary = measure(
        "role-checks",
        &bench.load,
        bench.load.count,
        &recorder,
        move |tick| {
            let (recorder, users, workspace_id, channels) = (
                Arc::clone(&task_recorder),
                Arc::clone(&users),
                Arc::clone(&workspace_id),
                Arc::clone(&channels),
            );
            async move {
                let user_id = users
                    .get(pick_user(tick.index, cached, hot, users.len()))
                    .cloned()
                    .unwrap_or_default();
                let channel = channels[(tick.index as usize) % channels.len()].clone();

                let request = GetEffectiveRoleRequest {
                    workspace_id: workspace_id.to_string(),
                    user_id,
                };
                let outcome = match RoleServiceClient::new(channel)
                    .get_effective_role(request)
                    .await
                {
                    Ok(response) if response.get_ref().effective_role.is_some() => Ok(()),
                    Ok(_) => Err(Failure::InvalidBody(
                        "the response has no effective_role".to_owned(),
                    )),
                    Err(status) => Err(grpc_failure(status)),
                };
                recorder.record("GetEffectiveRole", tick.started, outcome.as_ref().copied());
            }
        },
    )
    .await;

    let mode = if cached {
        format!("cached: {hot} hot users repeated")
    } else {
        format!("uncached: spread over {user_count} users")
    };
    summary.notes.insert("users".to_owned(), mode);
    summary.notes.insert(
        "roles".to_owned(),
        format!(
            "{member_count} of {user_count} users in a group mapped to {MAPPED_ROLE:?}; SetGroupMapping succeeded after {} ms (GROUP_NOT_FOUND responses: {})",
            mapped.waited.as_millis(),
            mapped.retries
        ),
    );
    summary.notes.insert(
        "connections".to_owned(),
        format!("{} HTTP/2 connections to rbac-svc", args.connections),
    );
    Ok(summary)
}

fn validate(args: &RoleChecksArgs) -> Result<()> {
    cli::check_count("--users", args.users)?;
    cli::check_count("--hot-users", args.hot_users)?;
    grpc::check_connections(args.connections)
}

/// Returns true for the pool users that join the mapped group: every
/// second one, starting with the first.
fn is_member(index: usize) -> bool {
    index.is_multiple_of(2)
}

/// Returns true once rbac-svc's response reflects the setup, where a member
/// of the mapped group must hold that role or a higher one. A deactivated
/// user has no role, so any response for it is enough.
fn ready(member: bool, role: &EffectiveRole, mapped_rank: i32) -> bool {
    !member || !role.active || role.rank >= mapped_rank
}

/// Returns the pool index of lookup `index`: the hot set in turn when
/// `cached`, otherwise spread over all `len` users.
fn pick_user(index: u64, cached: bool, hot: usize, len: usize) -> usize {
    if cached {
        (index % hot.max(1) as u64) as usize
    } else {
        spread(index, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(active: bool, rank: i32) -> EffectiveRole {
        EffectiveRole {
            active,
            rank,
            ..EffectiveRole::default()
        }
    }

    #[test]
    fn every_second_user_is_member() {
        let members: Vec<usize> = (0..6).filter(|index| is_member(*index)).collect();

        assert_eq!(members, [0, 2, 4]);
    }

    #[test]
    fn member_below_mapped_rank_not_ready() {
        assert!(!ready(true, &role(true, 20), 30));
    }

    #[test]
    fn member_at_or_above_mapped_rank_ready() {
        assert!(ready(true, &role(true, 30), 30));
        assert!(ready(true, &role(true, 40), 30));
    }

    #[test]
    fn known_non_member_ready() {
        assert!(ready(false, &role(true, 20), 30));
    }

    #[test]
    fn deactivated_member_ready() {
        assert!(ready(true, &role(false, 0), 30));
    }

    #[test]
    fn cached_picks_cycle_through_hot_set() {
        let picks: Vec<usize> = (0..6)
            .map(|index| pick_user(index, true, 4, 1_000))
            .collect();

        assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
    }

    #[test]
    fn uncached_picks_cover_the_pool() {
        let mut seen = [false; 100];
        for index in 0..10_000 {
            seen[pick_user(index, false, 4, 100)] = true;
        }

        assert!(seen.iter().all(|hit| *hit));
    }

    #[test]
    fn zero_sizes_rejected() {
        let args = |users, hot_users, connections| RoleChecksArgs {
            cached: true,
            uncached: false,
            users,
            hot_users,
            connections,
        };

        assert!(validate(&args(1_000, 64, 4)).is_ok());
        assert!(validate(&args(0, 64, 4)).is_err());
        assert!(validate(&args(1_000, 0, 4)).is_err());
        assert!(validate(&args(1_000, 64, 0)).is_err());
        assert!(validate(&args(1_000, 64, 65)).is_err());
    }
}
