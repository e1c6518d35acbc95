//! `report`: regenerates the benchmark record page from the run folders
//! `scripts/bench.sh` writes, one table per run, newest first.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::Value;

/// Facts about one run, written by the script as `run.json`.
#[derive(Debug, Deserialize)]
struct RunInfo {
    date: String,
    commit: String,
    cores: u32,
    profile: String,
    quick: bool,
    /// `/proc/loadavg` (1, 5 and 15 minutes) when the run started and
    /// ended. Runs recorded before the script wrote them have none.
    #[serde(default)]
    load_start: Option<String>,
    #[serde(default)]
    load_end: Option<String>,
}

/// A goal shown next to a row, and how to check it from the summary.
struct Goal {
    row: &'static str,
    /// Stack the row runs on: `postgres` or `sqlite`.
    stack: &'static str,
    text: &'static str,
    met: fn(&Value) -> bool,
}

fn number(summary: &Value, key: &str) -> f64 {
    summary.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// Goals of the rows. Throughput goals count successful requests.
const GOALS: &[Goal] = &[
    Goal {
        row: "get-user",
        stack: "postgres",
        text: ">= 10,000 req/s with p99 < 10 ms",
        met: |s| number(s, "throughput_per_s") >= 10_000.0 && number(s, "p99_ms") < 10.0,
    },
    Goal {
        row: "create-users",
        stack: "postgres",
        text: ">= 3,000 users/s with p99 < 25 ms",
        met: |s| number(s, "throughput_per_s") >= 3_000.0 && number(s, "p99_ms") < 25.0,
    },
    Goal {
        row: "initial-sync-batch-1000",
        stack: "postgres",
        text: "whole sync < 3 min, no error",
        met: |s| initial_sync_met(s, 180.0),
    },
    Goal {
        row: "initial-sync-batch-1",
        stack: "postgres",
        text: "whole sync < 8 min, no error",
        met: |s| initial_sync_met(s, 480.0),
    },
    Goal {
        row: "patch-members-add-10000",
        stack: "postgres",
        text: "each PATCH < 500 ms (max)",
        met: |s| number(s, "max_ms") < 500.0,
    },
    Goal {
        row: "patch-members-add-1",
        stack: "postgres",
        text: "p99 < 10 ms",
        met: |s| number(s, "p99_ms") < 10.0,
    },
    Goal {
        row: "membership-checks-cached-10k",
        stack: "postgres",
        text: "p99 < 2 ms at 10,000/s offered",
        met: |s| number(s, "p99_ms") < 2.0 && number(s, "throughput_per_s") >= 9_500.0,
    },
    Goal {
        row: "membership-checks-cached-max",
        stack: "postgres",
        text: ">= 40,000 checks/s",
        met: |s| number(s, "throughput_per_s") >= 40_000.0,
    },
    Goal {
        row: "membership-checks-uncached",
        stack: "postgres",
        text: ">= 15,000 checks/s",
        met: |s| number(s, "throughput_per_s") >= 15_000.0,
    },
    Goal {
        row: "role-delay-c4",
        stack: "postgres",
        text: "SCIM-to-role delay p99 < 1 s, no failed iteration",
        met: role_delay_met,
    },
    Goal {
        row: "role-delay-c16",
        stack: "postgres",
        text: "SCIM-to-role delay p99 < 1 s, no failed iteration",
        met: role_delay_met,
    },
    Goal {
        row: "role-checks-cached-10k",
        stack: "postgres",
        text: "p99 < 2 ms at 10,000/s offered",
        met: |s| number(s, "p99_ms") < 2.0 && number(s, "throughput_per_s") >= 9_500.0,
    },
    Goal {
        row: "role-checks-cached-max",
        stack: "postgres",
        text: ">= 40,000 lookups/s",
        met: |s| number(s, "throughput_per_s") >= 40_000.0,
    },
    Goal {
        row: "role-checks-uncached",
        stack: "postgres",
        text: ">= 15,000 lookups/s",
        met: |s| number(s, "throughput_per_s") >= 15_000.0,
    },
    Goal {
        row: "sync-switch-100k",
        stack: "postgres",
        text: "each switch < 10 s (max), no failed iteration",
        met: sync_switch_met,
    },
    Goal {
        row: "sqlite-sync-switch-100k",
        stack: "sqlite",
        text: "each switch < 10 s (max), no failed iteration",
        met: sync_switch_met,
    },
];

/// Checks an initial-sync goal: the run completed every phase within
/// `limit_s` seconds and no request failed.
fn initial_sync_met(summary: &Value, limit_s: f64) -> bool {
    let errors = summary.get("errors").and_then(Value::as_u64);
    let completed = summary.get("stopped_by").and_then(Value::as_str) == Some("completed");
    number(summary, "elapsed_s") < limit_s && errors == Some(0) && completed
}

/// Checks the role-delay goal. It needs every iteration to succeed as well,
/// because the percentiles leave out iterations that failed or timed out.
fn role_delay_met(summary: &Value) -> bool {
    let errors = summary.get("errors").and_then(Value::as_u64);
    number(summary, "p99_ms") < 1_000.0 && errors == Some(0)
}

/// Checks the sync-switch goal. A switch whose User Group has the wrong
/// member count is an error without a latency, so the goal needs every
/// iteration to succeed as well.
fn sync_switch_met(summary: &Value) -> bool {
    let errors = summary.get("errors").and_then(Value::as_u64);
    let ok = summary.get("ok").and_then(Value::as_u64);
    number(summary, "max_ms") < 10_000.0 && errors == Some(0) && ok.is_some_and(|ok| ok > 0)
}

const INTRO: &str = "\
# Benchmarks

Generated by `scripts/bench.sh` with `scim-bench report`; do not edit by hand,
because the next run rewrites this page from the summaries kept under
`docs/plots/runs/`.

## Method

- `scim-bench` sends requests shaped like Entra ID's: the userName filter
  before each create, `excludedAttributes=members` on group matches, and
  `Add`/`Remove` member PATCHes listing `{\"value\": id}` objects.
- Closed loop (no `--rate`): each of the `--concurrency` workers sends its
  next request when the previous one completes. Open loop (`--rate R`):
  requests are due every 1/R seconds and latency counts from the due time,
  so queueing delay is included.
- A non-2xx status, a transport error or a timeout is an error and never a
  success. Throughput counts successful requests only, and the latency
  percentiles (HDR histogram, 3 significant digits) cover successful
  requests only.
- The script runs the stack in release mode on PostgreSQL (one fresh
  database per service, default `synchronous_commit`) with Redis, then
  get-user, create-users, the role rows and sync-switch once more on the
  embedded SQLite default, which caches in process.
- The stack, PostgreSQL, Redis and the load generator share one machine,
  so every number is a measurement of that shared machine, not of the
  stack alone.
- GET /Users/{id} asks groups-svc for the user's groups. While groups-svc
  is not running, the gateway omits `groups` and logs a warning per
  request, so get-user rows of such a run are not comparable with later
  ones.
- From commit d1f7f78 on, the gateway reads each request's token check
  from a 2-second cache (Redis on PostgreSQL runs, in process on the
  embedded stack) instead of calling identity-svc. The runs of dbb9613 and
  7e8be2c, one after the other on the same machine, compare the two.
- The machine's speed varies between runs: the same get-user row gave
  805 req/s at 03:04Z and 432 req/s at 08:09Z with identical code, so
  compare rows within one run or between runs made close together.
- patch-members builds the group with 1,000-member PATCHes, then each
  measured PATCH adds new users, so the group grows by `--add` per PATCH.
- role-checks calls rbac-svc's `GetEffectiveRole` over gRPC. Every second
  user of the pool is in a group mapped to \"manager\", and the run starts
  once rbac-svc returns every user with the expected role. Cached rows
  repeat 64 users. Uncached rows spread the lookups over the pool. rbac-svc
  trusts a cached user version for 2 s, so a lookup misses the cache when
  its user was not looked up in the 2 s before.
- role-delay measures the delay from a SCIM membership PATCH to the new
  effective role. Each iteration adds one new user to a group mapped to
  \"admin\" and polls `GetEffectiveRole` every 2 ms once the PATCH has
  returned. The latency runs from sending the PATCH to the first answer
  with \"admin\", so it includes the PATCH, groups-svc's outbox relay and
  rbac-svc's update. The polls add load of their own: about 500 calls per
  second per iteration in flight. An iteration without the new role within
  `--timeout` is an error.
- sync-switch measures switching User Group sync on for one IdP group
  with `--members` members, which the setup adds with 10,000-member
  PATCHes. Each iteration calls groups-svc's `SetGroupSync` with
  enabled=true over gRPC, and the latency is that call alone: groups-svc
  creates the User Group and copies every member in one transaction. An
  iteration is an error unless the new User Group's `member_count` equals
  `--members`. Sync is then switched off again, unmeasured, so iterations
  run one at a time, and req/s counts switches on per second including the
  time of the switches off.
- The `load` column is the 1-minute load average (`/proc/loadavg`) when
  the row started, because other work on the machine shares its cores.
- A row is `not run` when its setup failed, such as groups-svc not running;
  the reason is scim-bench's error message.

Run it with `scripts/bench.sh` (all rows), `scripts/bench.sh get-user`
(one row) or `scripts/bench.sh role sqlite-role` (the rows whose names
start with `role-` or `sqlite-role-`, and likewise `sync-switch
sqlite-sync-switch`); `BENCH_QUICK=1` uses small counts to test the script
and records nothing here.
";

/// Writes the record page from every run folder under `runs` to `out`.
pub fn write_report(runs: &Path, out: &Path) -> Result<()> {
    let mut page = INTRO.to_owned();
    page.push_str("\n## Goals\n\n| row | stack | goal |\n| --- | --- | --- |\n");
    for goal in GOALS {
        let _ = writeln!(page, "| {} | {} | {} |", goal.row, goal.stack, goal.text);
    }
    page.push_str(
        "\nThe goals apply to the rows of a full (not quick) run on the stack named.\n\
         Rows without a goal are recorded for comparison.\n\n## Runs\n",
    );

    let folders = run_folders(runs)?;
    if folders.is_empty() {
        page.push_str("\nNo run is recorded yet.\n");
    }
    for folder in folders.iter().rev() {
        page.push('\n');
        page.push_str(&run_section(folder, out)?);
    }
    std::fs::write(out, page).with_context(|| format!("failed to write {}", out.display()))
}

fn run_folders(runs: &Path) -> Result<Vec<PathBuf>> {
    if !runs.exists() {
        return Ok(Vec::new());
    }
    let mut folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .with_context(|| format!("failed to list {}", runs.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("run.json").is_file())
        .collect();
    folders.sort();
    Ok(folders)
}

/// Returns the heading, facts and table of one run.
fn run_section(folder: &Path, page: &Path) -> Result<String> {
    let info_path = folder.join("run.json");
    let info: RunInfo = serde_json::from_str(&std::fs::read_to_string(&info_path)?)
        .with_context(|| format!("invalid {}", info_path.display()))?;
    let mut out = String::new();
    let _ = writeln!(out, "### {} (commit {})\n", info.date, info.commit);
    let _ = writeln!(
        out,
        "- cores: {} (`nproc`), shared by the stack, PostgreSQL, Redis and scim-bench",
        info.cores
    );
    let _ = writeln!(out, "- build profile: {}", info.profile);
    if let (Some(start), Some(end)) = (&info.load_start, &info.load_end) {
        let _ = writeln!(
            out,
            "- load average (1, 5, 15 min): {start} at the start, {end} at the end"
        );
    } else if let Some(start) = &info.load_start {
        let _ = writeln!(out, "- load average (1, 5, 15 min): {start} at the start");
    }
    if info.quick {
        let _ = writeln!(
            out,
            "- quick mode: small counts, not comparable with the goals"
        );
    }
    out.push_str("\n| row | stack | load | result | ok | errors | req/s | p50 ms | p99 ms | max ms | goal | command | plots |\n");
    out.push_str(
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |\n",
    );

    let rows = std::fs::read_to_string(folder.join("rows.tsv")).unwrap_or_default();
    for line in rows.lines().filter(|line| !line.trim().is_empty()) {
        let mut fields = line.splitn(3, '\t');
        let (name, stack, command) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        out.push_str(&row(folder, page, &info, name, stack, command));
    }
    Ok(out)
}

fn row(
    folder: &Path,
    page: &Path,
    info: &RunInfo,
    name: &str,
    stack: &str,
    command: &str,
) -> String {
    let command = format!("`{}`", command.replace('|', "\\|"));
    let load = std::fs::read_to_string(folder.join(format!("{name}.load")))
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    let summary: Option<Value> = std::fs::read_to_string(folder.join(format!("{name}.json")))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let Some(summary) = summary else {
        let reason = std::fs::read_to_string(folder.join(format!("{name}.notrun")))
            .unwrap_or_else(|_| "no summary was written".to_owned());
        let reason = reason
            .lines()
            .next()
            .unwrap_or_default()
            .replace('|', "\\|");
        return format!(
            "| {name} | {stack} | {load} | not run: {reason} | | | | | | | | {command} | |\n"
        );
    };

    let goal = GOALS
        .iter()
        .find(|goal| goal.row == name && goal.stack == stack);
    let verdict = match goal {
        Some(_) if info.quick => "not judged (quick)".to_owned(),
        Some(goal) if (goal.met)(&summary) => format!("met: {}", goal.text),
        Some(goal) => format!("missed: {}", goal.text),
        None => String::new(),
    };
    let errors = summary
        .get("errors")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    // A fixed-size workload that reached --duration did not finish its work.
    let cut_off = summary.get("workload").and_then(Value::as_str) == Some("initial-sync")
        && summary.get("stopped_by").and_then(Value::as_str) == Some("duration");
    let result = match (cut_off, errors > 0) {
        (true, _) => "cut off at --duration",
        (false, true) => "completed with errors",
        (false, false) => "completed",
    };
    let plots = ["latency", "throughput"]
        .iter()
        .filter(|kind| folder.join(format!("{name}-{kind}.svg")).is_file())
        .map(|kind| {
            format!(
                "[{kind}]({})",
                relative(&folder.join(format!("{name}-{kind}.svg")), page)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "| {name} | {stack} | {load} | {result} | {} | {errors} | {:.1} | {:.2} | {:.2} | {:.2} | {verdict} | {command} | {plots} |\n",
        summary
            .get("ok")
            .and_then(Value::as_u64)
            .unwrap_or_default(),
        number(&summary, "throughput_per_s"),
        number(&summary, "p50_ms"),
        number(&summary, "p99_ms"),
        number(&summary, "max_ms"),
    )
}

/// Returns `target` relative to the folder of `page` when it lies below it.
fn relative(target: &Path, page: &Path) -> String {
    let base = page.parent().unwrap_or_else(|| Path::new(""));
    let stripped = target.strip_prefix(base).unwrap_or(target);
    stripped.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn get_user_goal_needs_rate_and_p99() {
        let goal = GOALS.iter().find(|goal| goal.row == "get-user");

        let fast = json!({"throughput_per_s": 12_000.0, "p99_ms": 4.0});
        let slow_tail = json!({"throughput_per_s": 12_000.0, "p99_ms": 12.0});
        assert!(goal.is_some_and(|goal| (goal.met)(&fast)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&slow_tail)));
    }

    #[test]
    fn initial_sync_goal_needs_completion_in_time() {
        let goal = GOALS
            .iter()
            .find(|goal| goal.row == "initial-sync-batch-1000");
        let fast = json!({"elapsed_s": 170.0, "errors": 0, "stopped_by": "completed"});
        let slow = json!({"elapsed_s": 190.0, "errors": 0, "stopped_by": "completed"});
        let cut_off = json!({"elapsed_s": 170.0, "errors": 0, "stopped_by": "duration"});
        let failed = json!({"elapsed_s": 170.0, "errors": 1, "stopped_by": "completed"});
        assert!(goal.is_some_and(|goal| (goal.met)(&fast)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&slow)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&cut_off)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&failed)));
    }

    #[test]
    fn role_delay_goal_needs_p99_and_no_errors() {
        let goal = GOALS.iter().find(|goal| goal.row == "role-delay-c16");

        let fast = json!({"p99_ms": 120.0, "errors": 0});
        let slow = json!({"p99_ms": 1_200.0, "errors": 0});
        let timed_out = json!({"p99_ms": 120.0, "errors": 2});
        assert!(goal.is_some_and(|goal| (goal.met)(&fast)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&slow)));
        assert!(goal.is_some_and(|goal| !(goal.met)(&timed_out)));
    }

    #[test]
    fn sync_switch_goal_needs_max_and_no_errors() {
        for row in ["sync-switch-100k", "sqlite-sync-switch-100k"] {
            let goal = GOALS.iter().find(|goal| goal.row == row);

            let fast = json!({"ok": 3, "errors": 0, "max_ms": 4_000.0});
            let slow = json!({"ok": 3, "errors": 0, "max_ms": 12_000.0});
            let wrong_count = json!({"ok": 2, "errors": 1, "max_ms": 4_000.0});
            let none_done = json!({"ok": 0, "errors": 0, "max_ms": 0.0});
            assert!(goal.is_some_and(|goal| (goal.met)(&fast)), "{row}");
            assert!(goal.is_some_and(|goal| !(goal.met)(&slow)), "{row}");
            assert!(goal.is_some_and(|goal| !(goal.met)(&wrong_count)), "{row}");
            assert!(goal.is_some_and(|goal| !(goal.met)(&none_done)), "{row}");
        }
    }

    #[test]
    fn sqlite_row_judged_by_its_own_goal() -> Result<()> {
        let root =
            std::env::temp_dir().join(format!("scim-bench-report-sqlite-{}", std::process::id()));
        let run = root.join("runs").join("20260101T000000Z");
        std::fs::create_dir_all(&run)?;
        let info = json!({"date": "2026-01-01T00:00:00Z", "commit": "abc1234", "cores": 2, "profile": "release", "quick": false});
        std::fs::write(run.join("run.json"), info.to_string())?;
        std::fs::write(
            run.join("rows.tsv"),
            "sqlite-sync-switch-100k\tsqlite\tscim-bench sync-switch\nsqlite-get-user\tsqlite\tscim-bench get-user\n",
        )?;
        let summary = json!({"ok": 3, "errors": 0, "throughput_per_s": 0.2, "p50_ms": 3_000.0, "p99_ms": 3_500.0, "max_ms": 3_500.0});
        std::fs::write(
            run.join("sqlite-sync-switch-100k.json"),
            summary.to_string(),
        )?;
        std::fs::write(run.join("sqlite-get-user.json"), summary.to_string())?;

        write_report(&root.join("runs"), &root.join("benchmarks.md"))?;
        let page = std::fs::read_to_string(root.join("benchmarks.md"))?;
        let _ = std::fs::remove_dir_all(&root);

        assert!(
            page.contains("met: each switch < 10 s (max), no failed iteration"),
            "{page}"
        );
        assert!(
            page.contains("| sqlite-get-user | sqlite |  | completed | 3 | 0 | 0.2 | 3000.00 | 3500.00 | 3500.00 |  |"),
            "{page}"
        );
        Ok(())
    }

    #[test]
    fn every_role_row_has_a_goal() {
        for row in [
            "role-delay-c4",
            "role-delay-c16",
            "role-checks-cached-10k",
            "role-checks-cached-max",
            "role-checks-uncached",
        ] {
            assert!(
                GOALS.iter().any(|goal| goal.row == row),
                "no goal for {row}"
            );
        }
    }

    #[test]
    fn report_shows_load_and_missed_goal() -> Result<()> {
        let root =
            std::env::temp_dir().join(format!("scim-bench-report-load-{}", std::process::id()));
        let run = root.join("runs").join("20260101T000000Z");
        std::fs::create_dir_all(&run)?;
        let info = json!({"date": "2026-01-01T00:00:00Z", "commit": "abc1234", "cores": 2, "profile": "release", "quick": false, "load_start": "1.50 1.20 0.90", "load_end": "2.10 1.60 1.00"});
        std::fs::write(run.join("run.json"), info.to_string())?;
        std::fs::write(
            run.join("rows.tsv"),
            "role-checks-uncached\tpostgres\tscim-bench role-checks --uncached\n",
        )?;
        let summary = json!({"ok": 1000, "errors": 0, "throughput_per_s": 9_000.0, "p50_ms": 1.0, "p99_ms": 4.0, "max_ms": 9.0});
        std::fs::write(run.join("role-checks-uncached.json"), summary.to_string())?;
        std::fs::write(run.join("role-checks-uncached.load"), "1.73\n")?;

        write_report(&root.join("runs"), &root.join("benchmarks.md"))?;
        let page = std::fs::read_to_string(root.join("benchmarks.md"))?;
        let _ = std::fs::remove_dir_all(&root);

        assert!(
            page.contains("| role-checks-uncached | postgres | 1.73 | completed |"),
            "{page}"
        );
        assert!(page.contains("missed: >= 15,000 lookups/s"), "{page}");
        assert!(
            page.contains("1.50 1.20 0.90 at the start, 2.10 1.60 1.00 at the end"),
            "{page}"
        );
        Ok(())
    }

    #[test]
    fn report_lists_not_run_rows() -> Result<()> {
        let root = std::env::temp_dir().join(format!("scim-bench-report-{}", std::process::id()));
        let run = root.join("runs").join("20260101T000000Z");
        std::fs::create_dir_all(&run)?;
        let info = json!({"date": "2026-01-01T00:00:00Z", "commit": "abc1234", "cores": 2, "profile": "release", "quick": false});
        std::fs::write(run.join("run.json"), info.to_string())?;
        std::fs::write(
            run.join("rows.tsv"),
            "membership-checks-uncached\tpostgres\tscim-bench membership-checks --uncached\n",
        )?;
        std::fs::write(
            run.join("membership-checks-uncached.notrun"),
            "groups-svc is not built yet\n",
        )?;

        write_report(&root.join("runs"), &root.join("benchmarks.md"))?;
        let page = std::fs::read_to_string(root.join("benchmarks.md"))?;
        let _ = std::fs::remove_dir_all(&root);

        assert!(
            page.contains("not run: groups-svc is not built yet"),
            "{page}"
        );
        assert!(page.contains("commit abc1234"), "{page}");
        Ok(())
    }
}
