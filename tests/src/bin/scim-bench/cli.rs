//! Command-line flags of `scim-bench` and the bounds every run must respect.

use std::{path::PathBuf, time::Duration};

use anyhow::{Result, bail};
use clap::{ArgGroup, Args, Parser, Subcommand};
use plumbing::config::parse_duration;

/// Maximum duration of a measured run and of a setup phase.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 60);
/// Largest `--count`, and largest number of users a workload may create.
pub const MAX_COUNT: u64 = 10_000_000;
/// Highest `--rate`, in requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;
/// Maximum per-request timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Largest number of members in one membership PATCH.
pub const MAX_BATCH: usize = 1_000;

#[derive(Debug, Parser)]
#[command(
    name = "scim-bench",
    version,
    about = "Load generator for SCIM 2.0 servers, the groups-svc membership and User Group \
             APIs and the rbac-svc role API. It sends traffic only to loopback addresses (127.0.0.0/8 and ::1)."
)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the traffic goes.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// SCIM base URL, such as http://127.0.0.1:8080/scim/v2/<workspace id>.
    #[arg(long, global = true, env = "SCIM_BENCH_BASE_URL", requires = "token")]
    pub base_url: Option<String>,

    /// Bearer token sent with every SCIM request.
    #[arg(long, global = true, env = "SCIM_BENCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// JSON file with `workspace_id`, `scim_url` and `token`, as written by
    /// `scim-server bootstrap`; used when --base-url is not given.
    #[arg(long, global = true, conflicts_with = "base_url")]
    pub demo_file: Option<PathBuf>,

    /// groups-svc gRPC URL for membership-checks and sync-switch.
    #[arg(long, global = true, default_value = "http://127.0.0.1:50052")]
    pub grpc_url: String,

    /// rbac-svc gRPC URL for role-checks and role-delay.
    #[arg(long, global = true, default_value = "http://127.0.0.1:50053")]
    pub rbac_url: String,

    /// Workspace id sent in gRPC requests; defaults to the demo file's.
    #[arg(long, global = true)]
    pub workspace_id: Option<String>,

    /// Email domain of generated userNames and work emails.
    #[arg(long, global = true, default_value = "example.com")]
    pub domain: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// GET /Users/{id} over a pool of existing users (created when missing).
    GetUser {
        #[command(flatten)]
        load: LoadArgs,
        /// Number of users read in turn.
        #[arg(long, default_value_t = 1_000)]
        pool_size: u64,
    },
    /// POST /Users with unique users shaped like Entra ID's create.
    CreateUsers {
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Entra ID's first cycle: match and create users, then groups, then
    /// membership PATCHes. Sizes come from --users, --groups and --memberships.
    InitialSync {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Builds a group of --group-size members, then measures PATCHes that
    /// each add --add new members (--count PATCHes, default 10).
    PatchMembers {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        patch: PatchArgs,
    },
    /// Entra ID's incremental cycle: reads by filter, attribute replaces,
    /// deactivation toggles and membership changes, mixed by weight.
    Mixed {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        mixed: MixedArgs,
    },
    /// gRPC groups.v1.MembershipService/CheckMembership against groups-svc,
    /// with users and groups set up over SCIM.
    MembershipChecks {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        checks: ChecksArgs,
    },
    /// gRPC rbac.v1.RoleService/GetEffectiveRole against rbac-svc, with
    /// users set up over SCIM and every second one in a group mapped to
    /// "manager".
    RoleChecks {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        checks: RoleChecksArgs,
    },
    /// Delay from a SCIM membership PATCH to the new effective role: each
    /// iteration adds one new user to a group mapped to "admin", then polls
    /// GetEffectiveRole until it returns "admin" (--count iterations,
    /// default 100).
    RoleDelay {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        delay: RoleDelayArgs,
    },
    /// Switching User Group sync on for one IdP group of --members members:
    /// each iteration calls gRPC groups.v1.UserGroupService/SetGroupSync
    /// with enabled=true, checks the new User Group's member count, then
    /// switches sync off again unmeasured (--count iterations, default 3).
    /// Iterations run one at a time; --concurrency applies to the setup.
    SyncSwitch {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        switch: SyncSwitchArgs,
    },
    /// Draws SVG latency and throughput charts from a --samples CSV file.
    Plot {
        /// CSV file written by --samples.
        #[arg(long)]
        samples: PathBuf,
        /// Output path prefix: writes PREFIX-latency.svg and PREFIX-throughput.svg.
        #[arg(long)]
        out: PathBuf,
        /// Chart title; defaults to the samples file name.
        #[arg(long)]
        title: Option<String>,
    },
    /// Regenerates the benchmark record page from the run folders written
    /// by scripts/bench.sh.
    Report {
        /// Folder with one subfolder per run (run.json, rows.tsv, summaries).
        #[arg(long, default_value = "docs/plots/runs")]
        runs: PathBuf,
        /// Markdown page to write.
        #[arg(long, default_value = "docs/benchmarks.md")]
        out: PathBuf,
    },
}

/// Bounds and pacing shared by every workload.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Requests in flight at once. With --rate it is the number of workers
    /// that serve the schedule.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,

    /// Maximum measured run time, such as 500ms, 30s or 5m (at most 30m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Maximum number of measured operations (at most 10,000,000). The run
    /// ends at --count or --duration, whichever comes first.
    #[arg(long)]
    pub count: Option<u64>,

    /// Target rate in requests per second, paced open-loop; latency is then
    /// measured from each request's scheduled start. Without it each worker
    /// sends its next request when the previous one completes.
    #[arg(long)]
    pub rate: Option<f64>,

    /// Per-request timeout, such as 10s; a request that takes longer is an error.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Maximum time for setup (creating the users and groups a workload
    /// needs), such as 10m (at most 30m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub setup_timeout: Duration,

    /// Print the summary as JSON on standard output.
    #[arg(long)]
    pub json: bool,

    /// Write per-second samples (throughput, p50, p99) to this CSV file.
    #[arg(long)]
    pub samples: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Users matched and created.
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// Groups matched and created.
    #[arg(long, default_value_t = 10)]
    pub groups: u64,
    /// Memberships added, spread over the groups (at most users x groups).
    #[arg(long, default_value_t = 1_000)]
    pub memberships: u64,
    /// Members per membership PATCH (1 to 1,000).
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct PatchArgs {
    /// Members of the group before the measured PATCHes.
    #[arg(long, default_value_t = 1_000)]
    pub group_size: u64,
    /// New members added by each measured PATCH (1 to 100,000).
    #[arg(long, default_value_t = 10)]
    pub add: u64,
    /// Members per PATCH while building the group (1 to 1,000).
    #[arg(long, default_value_t = 1_000)]
    pub batch_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct MixedArgs {
    /// Weights of the operations: get (GET by userName filter), replace
    /// (PATCH replace of email and familyName), active (deactivate or
    /// reactivate), members (group member add or remove).
    #[arg(long, default_value = "get=50,replace=20,active=10,members=20")]
    pub mix: String,
    /// Users the operations pick from.
    #[arg(long, default_value_t = 1_000)]
    pub pool_size: u64,
    /// Groups the membership operations pick from.
    #[arg(long, default_value_t = 10)]
    pub groups: u64,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("cache_mode").required(true).args(["cached", "uncached"])))]
pub struct ChecksArgs {
    /// Repeat a small hot set of pairs (--hot-pairs).
    #[arg(long)]
    pub cached: bool,
    /// Spread the checks over every (user, group) pair.
    #[arg(long)]
    pub uncached: bool,
    /// Users set up over SCIM.
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// Groups set up over SCIM; each gets every second user as a member.
    #[arg(long, default_value_t = 100)]
    pub groups: u64,
    /// Pairs repeated by --cached.
    #[arg(long, default_value_t = 64)]
    pub hot_pairs: u64,
    /// HTTP/2 connections to groups-svc.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("role_cache_mode").required(true).args(["cached", "uncached"])))]
pub struct RoleChecksArgs {
    /// Repeat a small hot set of users (--hot-users).
    #[arg(long)]
    pub cached: bool,
    /// Spread the lookups over every user of the pool.
    #[arg(long)]
    pub uncached: bool,
    /// Users set up over SCIM; every second one joins the group mapped to
    /// "manager".
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// Users repeated by --cached.
    #[arg(long, default_value_t = 64)]
    pub hot_users: u64,
    /// HTTP/2 connections to rbac-svc.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
}

#[derive(Debug, Clone, Args)]
pub struct RoleDelayArgs {
    /// Wait between two GetEffectiveRole polls of one iteration, such as
    /// 2ms (1ms to 1s).
    #[arg(long, default_value = "2ms", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// HTTP/2 connections to rbac-svc.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
}

#[derive(Debug, Clone, Args)]
pub struct SyncSwitchArgs {
    /// Users in the IdP group whose sync is switched, and so in every
    /// User Group the switch creates.
    #[arg(long, default_value_t = 1_000)]
    pub members: u64,
}

impl LoadArgs {
    /// Rejects values outside the bounds, so every run stops by itself.
    pub fn validate(&self) -> Result<()> {
        if self.concurrency == 0 || self.concurrency > 10_000 {
            bail!("invalid --concurrency {}: use 1 to 10000", self.concurrency);
        }
        check_duration("--duration", self.duration, MAX_DURATION)?;
        check_duration("--setup-timeout", self.setup_timeout, MAX_DURATION)?;
        check_duration("--timeout", self.timeout, MAX_TIMEOUT)?;
        if let Some(count) = self.count {
            check_count("--count", count)?;
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE)
        {
            bail!(
                "invalid --rate {rate}: use a number of requests per second above 0 and at most 10000000"
            );
        }
        Ok(())
    }
}

/// Rejects a zero duration or one above `max`.
pub fn check_duration(flag: &str, value: Duration, max: Duration) -> Result<()> {
    if value.is_zero() {
        bail!("invalid {flag} 0: use a positive duration such as 30s");
    }
    if value > max {
        bail!(
            "invalid {flag} {value:?}: the maximum is {}s",
            max.as_secs()
        );
    }
    Ok(())
}

/// Rejects a zero count or one above [`MAX_COUNT`].
pub fn check_count(flag: &str, value: u64) -> Result<()> {
    if value == 0 || value > MAX_COUNT {
        bail!("invalid {flag} {value}: use 1 to {MAX_COUNT}");
    }
    Ok(())
}

/// Rejects a membership batch size outside 1 to [`MAX_BATCH`].
pub fn check_batch(flag: &str, value: usize) -> Result<()> {
    if value == 0 || value > MAX_BATCH {
        bail!("invalid {flag} {value}: use 1 to {MAX_BATCH}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> LoadArgs {
        let mut argv = vec!["scim-bench", "create-users"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::CreateUsers { load }) => load,
            other => panic!("unexpected parse result: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(load(&[]).validate().is_ok());
    }

    #[test]
    fn duration_above_30_minutes_rejected() {
        assert!(load(&["--duration", "31m"]).validate().is_err());
        assert!(load(&["--duration", "30m"]).validate().is_ok());
    }

    #[test]
    fn zero_duration_rejected() {
        assert!(load(&["--duration", "0"]).validate().is_err());
    }

    #[test]
    fn count_bounds() {
        assert!(load(&["--count", "10000000"]).validate().is_ok());
        assert!(load(&["--count", "10000001"]).validate().is_err());
        assert!(load(&["--count", "0"]).validate().is_err());
    }

    #[test]
    fn rate_bounds() {
        assert!(load(&["--rate", "0"]).validate().is_err());
        assert!(load(&["--rate=-5"]).validate().is_err());
        assert!(load(&["--rate", "NaN"]).validate().is_err());
        assert!(load(&["--rate", "2500.5"]).validate().is_ok());
    }

    #[test]
    fn concurrency_bounds() {
        assert!(load(&["--concurrency", "0"]).validate().is_err());
        assert!(load(&["--concurrency", "10001"]).validate().is_err());
    }

    #[test]
    fn batch_bounds() {
        assert!(check_batch("--batch-size", 0).is_err());
        assert!(check_batch("--batch-size", 1).is_ok());
        assert!(check_batch("--batch-size", 1_000).is_ok());
        assert!(check_batch("--batch-size", 1_001).is_err());
    }

    #[test]
    fn checks_require_cache_mode() {
        let parsed = Cli::try_parse_from(["scim-bench", "membership-checks"]);
        assert!(parsed.is_err());
    }

    #[test]
    fn role_checks_require_cache_mode() {
        assert!(Cli::try_parse_from(["scim-bench", "role-checks"]).is_err());
        assert!(
            Cli::try_parse_from(["scim-bench", "role-checks", "--cached", "--uncached"]).is_err()
        );
        assert!(Cli::try_parse_from(["scim-bench", "role-checks", "--uncached"]).is_ok());
    }

    #[test]
    fn role_delay_defaults() {
        let parsed = Cli::try_parse_from(["scim-bench", "role-delay"]).map(|cli| cli.command);

        match parsed {
            Ok(Command::RoleDelay { delay, load }) => {
                assert_eq!(delay.poll_interval, Duration::from_millis(2));
                assert_eq!(load.count, None);
            }
            other => panic!("unexpected parse result: {other:?}"),
        }
    }

    #[test]
    fn rbac_url_defaults_to_local_rbac_port() {
        let parsed = Cli::try_parse_from(["scim-bench", "role-delay"]);

        assert!(
            matches!(parsed, Ok(ref cli) if cli.target.rbac_url == "http://127.0.0.1:50053"),
            "{parsed:?}"
        );
    }

    #[test]
    fn sync_switch_defaults() {
        let parsed = Cli::try_parse_from(["scim-bench", "sync-switch"]);

        match parsed {
            Ok(Cli {
                command: Command::SyncSwitch { switch, load },
                target,
            }) => {
                assert_eq!(switch.members, 1_000);
                assert_eq!(load.count, None);
                assert_eq!(target.grpc_url, "http://127.0.0.1:50052");
            }
            other => panic!("unexpected parse result: {other:?}"),
        }
    }

    #[test]
    fn target_flags_accepted_after_workload() {
        let parsed = Cli::try_parse_from([
            "scim-bench",
            "get-user",
            "--base-url",
            "http://127.0.0.1:8080/scim/v2/w",
            "--token",
            "t",
        ]);
        assert!(parsed.is_ok());
    }
}
