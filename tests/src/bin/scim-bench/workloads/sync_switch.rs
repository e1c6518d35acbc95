//! `sync-switch`: switching User Group sync on for one large IdP group.
//! Setup builds the IdP group over SCIM. Each iteration then calls
//! `groups.v1.UserGroupService/SetGroupSync` with enabled=true, which
//! creates a User Group with a copy of every member in one transaction,
//! checks the new User Group's member count, and switches sync off again
//! without measuring it.

use std::{sync::Arc, time::Instant};

use anyhow::{Result, bail};
use proto::groups::v1::{
    GetGroupRequest, SetGroupSyncRequest, SetGroupSyncResponse,
    group_service_client::GroupServiceClient, user_group_service_client::UserGroupServiceClient,
};
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

use crate::{
    cli::{self, LoadArgs, SyncSwitchArgs, TargetArgs},
    grpc::{self, GROUPS_SVC},
    report::Summary,
    setup::{Bench, add_members, create_groups, user_pool},
    stats::{Failure, Recorder},
    target,
    workloads::measure,
};

/// Iterations when --count is not given.
const DEFAULT_ITERATIONS: u64 = 3;
/// Members per setup PATCH: the gateway's published maximum of members in
/// one group request (README, "Published limits"). A larger PATCH gets 413.
const MEMBERS_PER_PATCH: usize = 10_000;
/// Subject groups-svc records as the actor of the switches.
const ACTOR: &str = "scim-bench";
/// Operation names in the summary: the measured switch on and the
/// unmeasured switch off.
const SWITCH_ON: &str = "SetGroupSync on";
const SWITCH_OFF: &str = "SetGroupSync off (not measured)";

/// State shared by every iteration.
struct Iteration {
    channel: Channel,
    workspace_id: String,
    group_id: String,
    members: u64,
    switches_on: Arc<Recorder>,
    switches_off: Arc<Recorder>,
}

/// Builds an IdP group of `--members` users, then measures `--count`
/// switches of its sync to on, one at a time.
pub async fn sync_switch(
    bench: Arc<Bench>,
    target_args: &TargetArgs,
    args: SyncSwitchArgs,
) -> Result<Summary> {
    let iterations = bench.load.count.unwrap_or(DEFAULT_ITERATIONS);
    validate(&bench.load, &args, iterations)?;
    let workspace_id = target::workspace_id(target_args)?;
    let Some(channel) = grpc::connect(GROUPS_SVC, &target_args.grpc_url, 1, bench.load.timeout)
        .await?
        .into_iter()
        .next()
    else {
        bail!("no connection to groups-svc at {}", target_args.grpc_url);
    };
    preflight(&channel, &workspace_id, &target_args.grpc_url).await?;

    let members: Vec<String> = user_pool(&bench, args.members)
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect();
    let group_name = format!("bench-{}-sync-switch", bench.run);
    let Some(group_id) = create_groups(&bench, vec![group_name])
        .await?
        .into_iter()
        .next()
        .map(|group| group.id)
    else {
        bail!("setup created no group");
    };
    add_members(&bench, vec![(group_id.clone(), members)], MEMBERS_PER_PATCH).await?;
    check_group_size(&channel, &workspace_id, &group_id, args.members).await?;

    let switches_on = Arc::new(Recorder::new()?);
    let switches_off = Arc::new(Recorder::new()?);
    let shared = Arc::new(Iteration {
        channel,
        workspace_id,
        group_id: group_id.clone(),
        members: args.members,
        switches_on: Arc::clone(&switches_on),
        switches_off: Arc::clone(&switches_off),
    });
    // Every iteration switches the same group, so they run one at a time.
    let serial = LoadArgs {
        concurrency: 1,
        ..bench.load.clone()
    };
    let task_shared = Arc::clone(&shared);
    let mut summary = measure(
        "sync-switch",
        &serial,
        Some(iterations),
        &switches_on,
        move |tick| {
            let shared = Arc::clone(&task_shared);
            async move { shared.run(tick.started).await }
        },
    )
    .await;

    let elapsed = std::time::Duration::from_secs_f64(summary.elapsed_s);
    add_switch_offs(&mut summary, switches_off.finish("switch off", elapsed));
    add_notes(&mut summary, &group_id, args.members);
    Ok(summary)
}

impl Iteration {
    /// Switches sync on and records the latency from `started`, then
    /// switches it off again, whatever the outcome, so that the next
    /// iteration starts with sync off.
    async fn run(&self, started: Instant) {
        let outcome = match self.set_sync(true).await {
            Ok(response) => check_switched_on(&response, self.members),
            Err(status) => Err(sync_failure(&status)),
        };
        self.switches_on
            .record(SWITCH_ON, started, outcome.as_ref().copied());

        let off_started = Instant::now();
        let off = self
            .set_sync(false)
            .await
            .map(|_| ())
            .map_err(|status| sync_failure(&status));
        self.switches_off
            .record(SWITCH_OFF, off_started, off.as_ref().copied());
    }

    async fn set_sync(&self, enabled: bool) -> Result<SetGroupSyncResponse, tonic::Status> {
        let request = SetGroupSyncRequest {
            workspace_id: self.workspace_id.clone(),
            group_id: self.group_id.clone(),
            enabled,
            actor: ACTOR.to_owned(),
        };
        UserGroupServiceClient::new(self.channel.clone())
            .set_group_sync(request)
            .await
            .map(tonic::Response::into_inner)
    }
}

/// Fails unless switching on created a User Group with exactly `expected`
/// members.
fn check_switched_on(response: &SetGroupSyncResponse, expected: u64) -> Result<(), Failure> {
    let Some(user_group) = &response.user_group else {
        return Err(Failure::InvalidBody(
            "the response has no user_group".to_owned(),
        ));
    };
    if u64::try_from(user_group.member_count).ok() != Some(expected) {
        return Err(Failure::InvalidBody(format!(
            "User Group {} has member_count {}, expected {expected}",
            user_group.id, user_group.member_count
        )));
    }
    Ok(())
}

/// Returns the failure of a SetGroupSync status, with groups-svc's
/// `ErrorInfo.reason` (such as SYNC_ALREADY_ON) before its message.
fn sync_failure(status: &tonic::Status) -> Failure {
    let message = match status.get_details_error_info() {
        Some(info) => format!("{}: {}", info.reason, status.message()),
        None => status.message().to_owned(),
    };
    Failure::Grpc {
        code: status.code(),
        message: message.chars().take(300).collect(),
    }
}

/// Switches sync off for a random group id, which changes nothing, and
/// fails when groups-svc does not serve SetGroupSync. Any other status,
/// including NOT_FOUND, shows that the service is running.
async fn preflight(channel: &Channel, workspace_id: &str, raw: &str) -> Result<()> {
    let request = SetGroupSyncRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: uuid::Uuid::new_v4().to_string(),
        enabled: false,
        actor: ACTOR.to_owned(),
    };
    match UserGroupServiceClient::new(channel.clone())
        .set_group_sync(request)
        .await
    {
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::Unimplemented | tonic::Code::Unavailable
            ) =>
        {
            bail!(
                "groups-svc at {raw} does not serve SetGroupSync ({:?}: {}); check that it runs and serves groups.v1.UserGroupService",
                status.code(),
                status.message()
            )
        }
        _ => Ok(()),
    }
}

/// Fails unless groups-svc stores the IdP group with `expected` members, so
/// that a setup fault is not reported as a wrong User Group.
async fn check_group_size(
    channel: &Channel,
    workspace_id: &str,
    group_id: &str,
    expected: u64,
) -> Result<()> {
    let request = GetGroupRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        include_members: false,
    };
    let group = match GroupServiceClient::new(channel.clone())
        .get_group(request)
        .await
    {
        Ok(response) => response.into_inner().group,
        Err(status) => bail!(
            "GetGroup of the new IdP group {group_id} failed: {:?}: {}",
            status.code(),
            status.message()
        ),
    };
    let count = group.map_or(0, |group| group.member_count);
    if u64::try_from(count).ok() != Some(expected) {
        bail!("setup built IdP group {group_id} with {count} members, expected {expected}");
    }
    Ok(())
}

/// Adds the unmeasured switches off to the summary: their row to the
/// operations, and their errors to the error counts, because a failed
/// switch off leaves sync on for the next iteration.
fn add_switch_offs(summary: &mut Summary, offs: Summary) {
    summary.operations.extend(offs.operations);
    summary.errors += offs.errors;
    for (kind, count) in offs.errors_by_kind {
        *summary.errors_by_kind.entry(kind).or_default() += count;
    }
    if summary.first_error.is_none() {
        summary.first_error = offs.first_error;
    }
}

fn add_notes(summary: &mut Summary, group_id: &str, members: u64) {
    summary.notes.insert(
        "latency".to_owned(),
        format!(
            "time from sending SetGroupSync with enabled=true to its response, in which groups-svc creates the User Group and copies the IdP group's {members} members in one transaction"
        ),
    );
    summary.notes.insert(
        "group".to_owned(),
        format!(
            "IdP group {group_id} with {members} members, added with PATCHes of up to {MEMBERS_PER_PATCH} members"
        ),
    );
    summary.notes.insert(
        "iterations".to_owned(),
        format!(
            "one at a time on the same group; each switches sync off again afterwards (the {SWITCH_OFF:?} row), and the errors count failed switches off too"
        ),
    );
    summary.notes.insert(
        "check".to_owned(),
        format!("a switch on is an error unless the new User Group's member_count is {members}"),
    );
    summary.notes.insert(
        "throughput".to_owned(),
        "switches on per second of the run, whose time includes the switches off".to_owned(),
    );
}

fn validate(load: &LoadArgs, args: &SyncSwitchArgs, iterations: u64) -> Result<()> {
    cli::check_count("--members", args.members)?;
    cli::check_count("--count", iterations)?;
    if load.rate.is_some() {
        bail!("sync-switch runs its iterations one after another; remove --rate");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser as _;
    use proto::groups::v1::UserGroup;
    use tonic_types::ErrorDetails;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> (LoadArgs, SyncSwitchArgs) {
        let mut argv = vec!["scim-bench", "sync-switch"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::SyncSwitch { load, switch }) => (load, switch),
            other => panic!("unexpected parse result: {other:?}"),
        }
    }

    fn check(args: &[&str]) -> Result<()> {
        let (load, switch) = parse(args);
        let iterations = load.count.unwrap_or(DEFAULT_ITERATIONS);
        validate(&load, &switch, iterations)
    }

    fn switched_on(member_count: i64) -> SetGroupSyncResponse {
        SetGroupSyncResponse {
            user_group: Some(UserGroup {
                id: "ug1".to_owned(),
                member_count,
                ..UserGroup::default()
            }),
            changed: true,
        }
    }

    #[test]
    fn defaults_valid() {
        assert!(check(&[]).is_ok());
    }

    #[test]
    fn members_bounds() {
        assert!(check(&["--members", "0"]).is_err());
        assert!(check(&["--members", "1"]).is_ok());
        assert!(check(&["--members", "10000000"]).is_ok());
        assert!(check(&["--members", "10000001"]).is_err());
    }

    #[test]
    fn iteration_bounds() {
        assert!(validate(&parse(&[]).0, &parse(&[]).1, 0).is_err());
        assert!(check(&["--count", "1"]).is_ok());
    }

    #[test]
    fn rate_rejected() {
        let error = check(&["--rate", "10"]).err();

        assert!(
            error.is_some_and(|error| error.to_string().contains("--rate")),
            "the error names the flag to remove"
        );
    }

    #[test]
    fn concurrency_left_to_setup() {
        assert!(check(&["--concurrency", "16"]).is_ok());
    }

    #[test]
    fn matching_member_count_accepted() {
        assert!(check_switched_on(&switched_on(100_000), 100_000).is_ok());
    }

    #[test]
    fn member_count_mismatch_is_error() {
        let outcome = check_switched_on(&switched_on(99_999), 100_000);

        assert!(
            matches!(outcome, Err(Failure::InvalidBody(ref detail)) if detail.contains("99999")),
            "{outcome:?}"
        );
    }

    #[test]
    fn missing_user_group_is_error() {
        let response = SetGroupSyncResponse {
            user_group: None,
            changed: false,
        };

        assert!(check_switched_on(&response, 10).is_err());
    }

    #[test]
    fn failure_message_starts_with_reason() {
        let status = tonic::Status::with_error_details(
            tonic::Code::FailedPrecondition,
            "sync is already on",
            ErrorDetails::with_error_info("SYNC_ALREADY_ON", "groups.v1", HashMap::new()),
        );

        let failure = sync_failure(&status);

        assert_eq!(
            failure.describe(),
            "gRPC FailedPrecondition: SYNC_ALREADY_ON: sync is already on"
        );
    }

    #[test]
    fn switch_off_errors_added_to_totals() -> Result<()> {
        let offs = Recorder::new()?;
        offs.record(SWITCH_OFF, Instant::now(), Err(&Failure::Timeout));
        let mut summary = Summary {
            ok: 2,
            ..Summary::default()
        };

        add_switch_offs(
            &mut summary,
            offs.finish("switch off", std::time::Duration::from_secs(1)),
        );

        assert_eq!(summary.errors, 1);
        assert_eq!(summary.errors_by_kind.get("timeout"), Some(&1));
        assert_eq!(summary.operations.len(), 1);
        assert!(summary.first_error.is_some());
        Ok(())
    }
}
