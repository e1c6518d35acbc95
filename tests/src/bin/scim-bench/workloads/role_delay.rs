//! `role-delay`: the delay from a SCIM membership PATCH to the effective
//! role rbac-svc returns. Each iteration adds one new user to a group
//! mapped to "admin", then polls GetEffectiveRole until it returns "admin".
//! The change travels from groups-svc's outbox to rbac-svc, so the delay
//! includes the PATCH, the outbox relay and rbac-svc's recomputation.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use proto::rbac::v1::{GetEffectiveRoleRequest, role_service_client::RoleServiceClient};
use reqwest::Method;
use tokio::time::MissedTickBehavior;
use tonic::transport::Channel;

use crate::{
    cli::{self, RoleDelayArgs, TargetArgs},
    grpc::{self, RBAC_SVC, grpc_failure},
    rbac::Rbac,
    report::Summary,
    scim,
    setup::{Bench, create_groups, create_users},
    stats::{Failure, Recorder},
    target,
    workloads::measure,
};

/// Role the group is mapped to. New users start with the default role below it.
const MAPPED_ROLE: &str = "admin";
/// Iterations when --count is not given.
const DEFAULT_ITERATIONS: u64 = 100;
/// Shortest and longest --poll-interval.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(1);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Operation whose latency is the delay, and the summary's headline.
const DELAY_OPERATION: &str = "membership PATCH to new role";
const PATCH_OPERATION: &str = "PATCH /Groups add member";

/// State shared by every iteration.
struct Iteration {
    bench: Arc<Bench>,
    users: Vec<String>,
    group_path: String,
    workspace_id: String,
    channels: Vec<Channel>,
    poll_interval: Duration,
    delays: Arc<Recorder>,
    patches: Arc<Recorder>,
    polls: AtomicU64,
}

/// Creates `--count` new users and a group mapped to "admin", waits until
/// rbac-svc returns a role for every user, then measures one add-and-poll
/// iteration per user.
pub async fn role_delay(
    bench: Arc<Bench>,
    target_args: &TargetArgs,
    args: RoleDelayArgs,
) -> Result<Summary> {
    let iterations = bench.load.count.unwrap_or(DEFAULT_ITERATIONS);
    validate(&args, iterations)?;
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
    rbac.rank_of(MAPPED_ROLE).await?;

    // New users, because users reused from the workspace may already be in
    // a group mapped to "admin", which would make the delay zero.
    let users: Vec<String> = create_users(&bench, iterations, "create users")
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect();
    let group_name = format!("bench-{}-role-delay", bench.run);
    let Some(group_id) = create_groups(&bench, vec![group_name])
        .await?
        .into_iter()
        .next()
        .map(|group| group.id)
    else {
        bail!("setup created no group");
    };
    let mapped = rbac
        .map_group(&group_id, MAPPED_ROLE, bench.load.setup_timeout)
        .await?;
    let roles = rbac
        .wait_for_roles(&users, "wait for rbac", bench.load.setup_timeout, |_, _| {
            true
        })
        .await?;
    if let Some(early) = roles.iter().find(|role| role.role == MAPPED_ROLE) {
        bail!(
            "user {} already has role {MAPPED_ROLE:?} before joining the group, so its delay cannot be measured; set the workspace's default role below {MAPPED_ROLE:?}",
            early.user_id
        );
    }

    let patches = Arc::new(Recorder::new()?);
    let delays = Arc::new(Recorder::new()?);
    let shared = Arc::new(Iteration {
        bench: Arc::clone(&bench),
        users,
        group_path: format!("Groups/{group_id}"),
        workspace_id: rbac.workspace_id.clone(),
        channels: rbac.channels,
        poll_interval: args.poll_interval,
        delays: Arc::clone(&delays),
        patches: Arc::clone(&patches),
        polls: AtomicU64::new(0),
    });
    let task_shared = Arc::clone(&shared);
    let mut summary = measure(
        "role-delay",
        &bench.load,
        Some(iterations),
        &delays,
        move |tick| {
            let shared = Arc::clone(&task_shared);
            async move { shared.run(tick.index, tick.started).await }
        },
    )
    .await;

    let elapsed = Duration::from_secs_f64(summary.elapsed_s);
    summary
        .operations
        .extend(patches.finish("patches", elapsed).operations);
    add_notes(
        &mut summary,
        &args,
        &bench,
        iterations,
        shared.polls.load(Ordering::Relaxed),
    );
    summary.notes.insert(
        "mapping".to_owned(),
        format!(
            "SetGroupMapping succeeded after {} ms (GROUP_NOT_FOUND responses: {})",
            mapped.waited.as_millis(),
            mapped.retries
        ),
    );
    Ok(summary)
}

impl Iteration {
    /// Adds user `index` to the group and records the delay until rbac-svc
    /// returns the mapped role, measured from `started`.
    async fn run(&self, index: u64, started: Instant) {
        let Some(user_id) = self.users.get(index as usize) else {
            return;
        };
        let deadline = started + self.bench.load.timeout;

        let body = scim::members_patch_body("Add", std::slice::from_ref(user_id));
        let patch_started = Instant::now();
        let patched = self
            .bench
            .scim
            .send(Method::PATCH, &self.group_path, Some(&body))
            .await;
        self.patches
            .record(PATCH_OPERATION, patch_started, patched.as_ref().map(|_| ()));
        if let Err(failure) = patched {
            self.delays.record(DELAY_OPERATION, started, Err(&failure));
            return;
        }

        let channel = self.channels[(index as usize) % self.channels.len()].clone();
        let outcome = self.poll_until_mapped(channel, user_id, deadline).await;
        self.delays
            .record(DELAY_OPERATION, started, outcome.as_ref().copied());
    }

    /// Polls GetEffectiveRole every poll interval until it returns the
    /// mapped role. Fails on any gRPC error and with a timeout at `deadline`.
    async fn poll_until_mapped(
        &self,
        channel: Channel,
        user_id: &str,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let mut client = RoleServiceClient::new(channel);
        let mut ticker = tokio::time::interval(self.poll_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
                return Err(Failure::Timeout);
            };
            let request = GetEffectiveRoleRequest {
                workspace_id: self.workspace_id.clone(),
                user_id: user_id.to_owned(),
            };
            let response =
                tokio::time::timeout(remaining, client.get_effective_role(request)).await;
            self.polls.fetch_add(1, Ordering::Relaxed);
            let role = match response {
                Err(_) => return Err(Failure::Timeout),
                Ok(Err(status)) => return Err(grpc_failure(status)),
                Ok(Ok(response)) => response.into_inner().effective_role.map(|role| role.role),
            };
            if role.as_deref() == Some(MAPPED_ROLE) {
                return Ok(());
            }
        }
    }
}

fn add_notes(summary: &mut Summary, args: &RoleDelayArgs, bench: &Bench, users: u64, polls: u64) {
    summary.notes.insert(
        "latency".to_owned(),
        format!(
            "delay from sending the membership PATCH (its due time under --rate) to the first GetEffectiveRole response with role {MAPPED_ROLE:?}; the {PATCH_OPERATION:?} row is the PATCH alone"
        ),
    );
    summary.notes.insert(
        "iterations".to_owned(),
        format!("up to {users} new users, each added alone to one group mapped to {MAPPED_ROLE:?}"),
    );
    summary.notes.insert(
        "polling".to_owned(),
        format!(
            "GetEffectiveRole every {} ms once the PATCH returned; {polls} polls in total",
            args.poll_interval.as_millis()
        ),
    );
    summary.notes.insert(
        "timeout".to_owned(),
        format!(
            "an iteration without the new role {} s after the PATCH was sent is an error",
            bench.load.timeout.as_secs_f64()
        ),
    );
}

fn validate(args: &RoleDelayArgs, iterations: u64) -> Result<()> {
    cli::check_count("--count", iterations)?;
    grpc::check_connections(args.connections)?;
    if !(MIN_POLL_INTERVAL..=MAX_POLL_INTERVAL).contains(&args.poll_interval) {
        bail!(
            "invalid --poll-interval {:?}: use 1ms to 1s",
            args.poll_interval
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(poll_interval: Duration, connections: usize) -> RoleDelayArgs {
        RoleDelayArgs {
            poll_interval,
            connections,
        }
    }

    #[test]
    fn defaults_valid() {
        assert!(validate(&args(Duration::from_millis(2), 4), DEFAULT_ITERATIONS).is_ok());
    }

    #[test]
    fn poll_interval_bounds() {
        assert!(validate(&args(Duration::ZERO, 4), 10).is_err());
        assert!(validate(&args(Duration::from_millis(1), 4), 10).is_ok());
        assert!(validate(&args(Duration::from_secs(1), 4), 10).is_ok());
        assert!(validate(&args(Duration::from_millis(1_001), 4), 10).is_err());
    }

    #[test]
    fn iteration_bounds() {
        assert!(validate(&args(Duration::from_millis(2), 4), 0).is_err());
        assert!(validate(&args(Duration::from_millis(2), 4), cli::MAX_COUNT + 1).is_err());
    }

    #[test]
    fn connection_bounds() {
        assert!(validate(&args(Duration::from_millis(2), 0), 10).is_err());
        assert!(validate(&args(Duration::from_millis(2), 65), 10).is_err());
    }
}
