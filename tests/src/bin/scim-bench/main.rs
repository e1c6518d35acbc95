//! `scim-bench`: a load generator for SCIM 2.0 servers, the groups-svc
//! membership and User Group APIs and the rbac-svc role API. Every target must resolve to
//! loopback addresses only, and every run is bounded in count and time.

mod cli;
mod grpc;
mod plot;
mod rbac;
mod record;
mod report;
mod runner;
mod scim;
mod setup;
mod stats;
mod target;
mod workloads;

use std::{process::ExitCode, sync::Arc};

use anyhow::Result;
use clap::Parser;

use crate::{
    cli::{Cli, Command, LoadArgs},
    report::{Summary, summary_line, summary_table, write_samples},
    scim::ScimClient,
    setup::Bench,
};

/// Exit status of a run that finished with at least one failed request.
const EXIT_REQUEST_ERRORS: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("scim-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let Cli {
        target: target_args,
        command,
    } = cli;
    if let Command::Plot {
        samples,
        out,
        title,
    } = &command
    {
        let (latency, throughput) = plot::plot(samples, out, title.as_deref())?;
        println!(
            "scim-bench: wrote {} and {}",
            latency.display(),
            throughput.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Report { runs, out } = &command {
        record::write_report(runs, out)?;
        println!("scim-bench: wrote {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }

    let Some(load) = load_args(&command).cloned() else {
        return Ok(ExitCode::SUCCESS);
    };
    load.validate()?;
    let scim_target = target::require_scim_target(&target_args).await?;
    let bench = Arc::new(Bench {
        scim: ScimClient::new(&scim_target, load.concurrency, load.timeout)?,
        load: load.clone(),
        domain: target_args.domain.clone(),
        run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    });

    let mut summary = match command {
        Command::GetUser { pool_size, .. } => workloads::users::get_user(bench, pool_size).await?,
        Command::CreateUsers { .. } => workloads::users::create_users(bench).await?,
        Command::InitialSync { sync, .. } => workloads::sync::initial_sync(bench, sync).await?,
        Command::PatchMembers { patch, .. } => {
            workloads::members::patch_members(bench, patch).await?
        }
        Command::Mixed { mixed, .. } => workloads::mixed::mixed(bench, mixed).await?,
        Command::MembershipChecks { checks, .. } => {
            workloads::checks::membership_checks(bench, &target_args, checks).await?
        }
        Command::RoleChecks { checks, .. } => {
            workloads::roles::role_checks(bench, &target_args, checks).await?
        }
        Command::RoleDelay { delay, .. } => {
            workloads::role_delay::role_delay(bench, &target_args, delay).await?
        }
        Command::SyncSwitch { switch, .. } => {
            workloads::sync_switch::sync_switch(bench, &target_args, switch).await?
        }
        Command::Plot { .. } | Command::Report { .. } => return Ok(ExitCode::SUCCESS),
    };
    summary.command = command_line();

    output(&summary, &load)?;
    if summary.errors > 0 {
        return Ok(ExitCode::from(EXIT_REQUEST_ERRORS));
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns the load flags of a workload, or `None` for `plot` and `report`.
fn load_args(command: &Command) -> Option<&LoadArgs> {
    match command {
        Command::GetUser { load, .. }
        | Command::CreateUsers { load }
        | Command::InitialSync { load, .. }
        | Command::PatchMembers { load, .. }
        | Command::Mixed { load, .. }
        | Command::MembershipChecks { load, .. }
        | Command::RoleChecks { load, .. }
        | Command::RoleDelay { load, .. }
        | Command::SyncSwitch { load, .. } => Some(load),
        Command::Plot { .. } | Command::Report { .. } => None,
    }
}

/// Prints the summary (JSON on standard output with --json, a table
/// otherwise), the one-line result, and writes the samples file.
fn output(summary: &Summary, load: &LoadArgs) -> Result<()> {
    if let Some(path) = &load.samples {
        write_samples(path, &summary.samples)?;
    }
    if load.json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        eprintln!("{}", summary_line(summary));
    } else {
        print!("{}", summary_table(summary));
        println!("{}", summary_line(summary));
    }
    Ok(())
}

/// Returns the invocation with the bearer token masked.
fn command_line() -> String {
    let mut words = Vec::new();
    let mut hide_next = false;
    for arg in std::env::args() {
        if hide_next {
            words.push("***".to_owned());
            hide_next = false;
            continue;
        }
        hide_next = arg == "--token";
        if arg.starts_with("--token=") {
            words.push("--token=***".to_owned());
        } else {
            words.push(arg);
        }
    }
    words.join(" ")
}
