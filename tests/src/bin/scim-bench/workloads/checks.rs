//! `membership-checks`: gRPC `groups.v1.MembershipService/CheckMembership`
//! against groups-svc. Users and groups are set up over SCIM first; each
//! group gets every second user, so about half the checks return true.

use std::sync::Arc;

use anyhow::{Result, bail};
use proto::groups::v1::{
    CheckMembershipRequest, membership_service_client::MembershipServiceClient,
};
use tonic::transport::Channel;

use crate::{
    cli::{self, ChecksArgs, TargetArgs},
    grpc::{self, GROUPS_SVC, grpc_failure},
    report::Summary,
    setup::{Bench, add_members, create_groups, user_pool},
    stats::Recorder,
    target,
    workloads::{measure, spread},
};

/// Checks groups-svc is reachable, sets up the pairs, then measures checks
/// over a hot set (`--cached`) or over every pair (`--uncached`).
pub async fn membership_checks(
    bench: Arc<Bench>,
    target_args: &TargetArgs,
    args: ChecksArgs,
) -> Result<Summary> {
    validate(&args)?;
    let workspace_id = target::workspace_id(target_args)?;
    let channels = grpc::connect(
        GROUPS_SVC,
        &target_args.grpc_url,
        args.connections,
        bench.load.timeout,
    )
    .await?;
    preflight(&channels, &workspace_id, &target_args.grpc_url).await?;

    let users: Vec<String> = user_pool(&bench, args.users)
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect();
    let names = (0..args.groups)
        .map(|g| format!("bench-{}-checks-{g}", bench.run))
        .collect();
    let groups: Vec<String> = create_groups(&bench, names)
        .await?
        .into_iter()
        .map(|group| group.id)
        .collect();
    let assignments = groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let members = users
                .iter()
                .enumerate()
                .filter(|(u, _)| (u + g) % 2 == 0)
                .map(|(_, id)| id.clone());
            (group.clone(), members.collect())
        })
        .collect();
    add_members(&bench, assignments, cli::MAX_BATCH).await?;

    let total_pairs = users.len().saturating_mul(groups.len());
    let hot = usize::try_from(args.hot_pairs)
        .unwrap_or(usize::MAX)
        .min(total_pairs);
    let (users, groups, workspace_id) = (Arc::new(users), Arc::new(groups), Arc::new(workspace_id));
    let channels = Arc::new(channels);
    let cached = args.cached;

    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let mut summary = measure(
        "membership-checks",
        &bench.load,
        bench.load.count,
        &recorder,
        move |tick| {
            let (recorder, users, groups, workspace_id, channels) = (
                Arc::clone(&task_recorder),
                Arc::clone(&users),
                Arc::clone(&groups),
                Arc::clone(&workspace_id),
                Arc::clone(&channels),
            );
            async move {
                let pair = if cached {
                    (tick.index as usize) % hot.max(1)
                } else {
                    spread(tick.index, total_pairs)
                };
                let user_id = users
                    .get(pair % users.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                let group_id = groups
                    .get(pair / users.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                let channel = channels[(tick.index as usize) % channels.len()].clone();

                let request = CheckMembershipRequest {
                    workspace_id: workspace_id.to_string(),
                    user_id,
                    group_id,
                };
                let outcome = MembershipServiceClient::new(channel)
                    .check_membership(request)
                    .await
                    .map(|_| ())
                    .map_err(grpc_failure);
                recorder.record(
                    "CheckMembership",
                    tick.started,
                    outcome.as_ref().map(|_| ()),
                );
            }
        },
    )
    .await;

    let mode = if cached {
        format!("cached: {hot} hot pairs repeated")
    } else {
        format!("uncached: spread over {total_pairs} pairs")
    };
    summary.notes.insert("pairs".to_owned(), mode);
    summary.notes.insert(
        "connections".to_owned(),
        format!("{} HTTP/2 connections to groups-svc", args.connections),
    );
    Ok(summary)
}

fn validate(args: &ChecksArgs) -> Result<()> {
    cli::check_count("--users", args.users)?;
    cli::check_count("--groups", args.groups)?;
    cli::check_count("--hot-pairs", args.hot_pairs)?;
    grpc::check_connections(args.connections)?;
    if args.users.saturating_mul(args.groups) > cli::MAX_COUNT {
        bail!(
            "invalid --users x --groups: at most {} pairs",
            cli::MAX_COUNT
        );
    }
    Ok(())
}

/// Sends one check with random ids and fails when groups-svc does not
/// serve the method. Any other status, including NotFound, shows that the
/// service is running.
async fn preflight(channels: &[Channel], workspace_id: &str, raw: &str) -> Result<()> {
    let Some(channel) = channels.first() else {
        bail!("no connection to groups-svc at {raw}");
    };
    let request = CheckMembershipRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: uuid::Uuid::new_v4().to_string(),
        group_id: uuid::Uuid::new_v4().to_string(),
    };
    match MembershipServiceClient::new(channel.clone())
        .check_membership(request)
        .await
    {
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::Unimplemented | tonic::Code::Unavailable
            ) =>
        {
            bail!(
                "groups-svc at {raw} does not serve CheckMembership ({:?}: {}); it may not be built yet",
                status.code(),
                status.message()
            )
        }
        _ => Ok(()),
    }
}
