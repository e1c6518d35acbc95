//! `scim-audit-check`: runs a command that sends SCIM requests (such as an
//! identity provider replay) through an auditing proxy. Then it checks the
//! workspace's audit trail: one event for each resource a request changed,
//! and none for a request that changed nothing or only read.
//!
//! ```text
//! scim-audit-check --upstream http://127.0.0.1:8080 \
//!     --audit-url http://127.0.0.1:50054 --workspace-id W \
//!     -- python3 replay.py '{proxy}/scim/v2/W' TOKEN scenario.json
//! ```
//!
//! `{proxy}` in the command's arguments becomes the proxy's origin. The
//! last line printed is `audit-check: N passed, M failed`, counting
//! requests; the exit status is 0 only when the command succeeded and
//! nothing failed.

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use clap::Parser;
use e2e_tests::audit_check::{AuditCheck, verify_eventually};
use proto::audit::v1::audit_service_client::AuditServiceClient;
use tonic::transport::Endpoint;

#[derive(Parser)]
#[command(about = "Checks the audit trail of the SCIM requests a command sends")]
struct Args {
    /// Origin of the gateway, such as http://127.0.0.1:8080.
    #[arg(long)]
    upstream: String,
    /// audit-svc's gRPC URL.
    #[arg(long, default_value = "http://127.0.0.1:50054")]
    audit_url: String,
    /// Workspace whose trail is checked.
    #[arg(long)]
    workspace_id: String,
    /// Maximum wait for every event to reach audit-svc, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// The command and its arguments; `{proxy}` becomes the proxy's origin.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("scim-audit-check: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool> {
    for url in [&args.upstream, &args.audit_url] {
        require_loopback(url)?;
    }
    let check = AuditCheck::start(&args.upstream).await?;
    let origin = check.origin();
    let Some((program, rest)) = args.command.split_first() else {
        bail!("no command given after --");
    };
    let status = tokio::process::Command::new(program)
        .args(rest.iter().map(|arg| arg.replace("{proxy}", &origin)))
        .status()
        .await
        .with_context(|| format!("failed to run {program}"))?;
    if !status.success() {
        eprintln!("scim-audit-check: the command exited with {status}");
    }

    let channel = Endpoint::from_shared(args.audit_url.clone())
        .context("invalid --audit-url")?
        .connect()
        .await
        .with_context(|| format!("failed to connect to audit-svc at {}", args.audit_url))?;
    let report = verify_eventually(
        &check.records(),
        &mut AuditServiceClient::new(channel),
        std::slice::from_ref(&args.workspace_id),
        Duration::from_secs(args.timeout),
    )
    .await?;
    println!("{report}");
    Ok(status.success() && report.failures.is_empty())
}

/// Rejects a URL outside loopback, because the check talks to loopback
/// addresses only.
fn require_loopback(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if !loopback {
        bail!("{url} is not on loopback; scim-audit-check talks to loopback addresses only");
    }
    Ok(())
}
