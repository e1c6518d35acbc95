//! Creates a demo workspace (SSO and SCIM on) through identity-svc's RPCs and
//! records its SCIM URL, SCIM token and an admin token in a file only the
//! owner can read.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use proto::identity::v1::{
    CreateWorkspaceRequest, IssueScimTokenRequest, token_service_client::TokenServiceClient,
    workspace_service_client::WorkspaceServiceClient,
};
use serde::Serialize;
use tonic::transport::Channel;

use crate::cli::BootstrapArgs;

/// Lifetime of the demo workspace's admin token: one year.
const ADMIN_TOKEN_LIFETIME_SECONDS: u64 = 365 * 24 * 3600;

/// Contents of `demo-workspace.json`.
#[derive(Serialize)]
struct DemoWorkspace<'a> {
    workspace_id: &'a str,
    scim_url: &'a str,
    token: &'a str,
    /// An admin API token for the workspace (HS256); absent when admin
    /// tokens are verified with a JWKS only, because the platform signs them.
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_token: Option<&'a str>,
}

/// Runs `scim-server bootstrap` against a running deployment.
pub async fn run_command(args: BootstrapArgs) -> anyhow::Result<()> {
    let channel = plumbing::grpc::connect_channel(&args.identity_url, Duration::from_secs(10))
        .await
        .with_context(|| format!("failed to reach identity-svc at {}", args.identity_url))?;
    let admin_key = crate::admin_key::configured_hs256_key(&args.admin)?;
    let scim_url = create_demo_workspace(
        channel,
        &args.public_url,
        &args.name,
        &args.domains,
        &args.output,
        admin_key.as_deref(),
    )
    .await?;
    println!("SCIM URL: {scim_url}");
    println!("Token written to {} (mode 0600)", args.output.display());
    if admin_key.is_none() {
        println!("No admin token written: pass --admin-jwt-hs256-key to write one");
    }
    Ok(())
}

/// Creates the workspace, issues a token and writes the file, with an admin
/// token signed by `admin_key` when given. Returns the workspace's SCIM URL.
pub async fn create_demo_workspace(
    channel: Channel,
    public_url: &str,
    name: &str,
    domains: &[String],
    output: &Path,
    admin_key: Option<&[u8]>,
) -> anyhow::Result<String> {
    let workspace = WorkspaceServiceClient::new(channel.clone())
        .create_workspace(CreateWorkspaceRequest {
            name: name.to_owned(),
            domains: domains.to_vec(),
            sso_enabled: true,
            scim_entitled: true,
            scim_enabled: true,
        })
        .await
        .context("failed to create the demo workspace")?
        .into_inner()
        .workspace
        .context("identity-svc returned no workspace")?;

    let issued = TokenServiceClient::new(channel)
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace.id.clone(),
            name: "demo".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .context("failed to issue the demo SCIM token")?
        .into_inner();

    let scim_url = format!(
        "{}/scim/v2/{}",
        public_url.trim_end_matches('/'),
        workspace.id
    );
    let admin_token = admin_key
        .map(|key| {
            gateway::admin::jwt::sign_hs256(
                key,
                "demo-admin",
                &workspace.id,
                gateway::admin::jwt::ADMIN_ROLE,
                ADMIN_TOKEN_LIFETIME_SECONDS,
            )
        })
        .transpose()?;
    let record = DemoWorkspace {
        workspace_id: &workspace.id,
        scim_url: &scim_url,
        token: &issued.secret,
        admin_token: admin_token.as_deref(),
    };
    write_private(output, &serde_json::to_vec_pretty(&record)?)?;
    tracing::info!(workspace_id = %workspace.id, path = %output.display(), "demo workspace created");
    Ok(scim_url)
}

/// Reads the SCIM URL back from a demo workspace file; `None` when the file
/// is unreadable.
pub fn read_scim_url(path: &Path) -> Option<String> {
    let contents = std::fs::read(path).ok()?;
    let record: serde_json::Value = serde_json::from_slice(&contents).ok()?;
    record.get("scim_url")?.as_str().map(str::to_owned)
}

/// Writes `contents` to `path` with mode 0600, through a temporary file
/// renamed into place so a reader never sees a partial file.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    let temporary = PathBuf::from(format!("{}.tmp", path.display()));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}
