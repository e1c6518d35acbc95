//! Command-line flags and environment variables of `scim-server`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "scim-server",
    version,
    about = "SCIM 2.0 provisioning: gateway and services"
)]
pub struct Cli {
    #[command(flatten)]
    pub telemetry: plumbing::telemetry::TelemetryConfig,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run services (all of them unless --services names some).
    Run(Box<RunArgs>),
    /// Create a demo workspace through identity-svc and write its SCIM URL
    /// and token to a file.
    Bootstrap(BootstrapArgs),
}

impl Default for Command {
    fn default() -> Self {
        Self::Run(Box::new(RunArgs::parse_from(["run"])))
    }
}

/// A service the launcher can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    Gateway,
    Identity,
    Groups,
    Rbac,
    Audit,
}

#[derive(Debug, Clone, Parser)]
pub struct RunArgs {
    /// Services to run in this process, comma-separated.
    #[arg(
        long,
        env = "SERVICES",
        value_delimiter = ',',
        default_value = "gateway,identity,groups,rbac,audit"
    )]
    pub services: Vec<Service>,

    /// Directory of the embedded SQLite databases and the demo workspace file.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// HTTP listen address: SCIM when the gateway runs, and /metrics,
    /// /livez and /readyz always.
    #[arg(long, env = "HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: String,

    /// gRPC listen address of identity-svc.
    #[arg(long, env = "IDENTITY_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub identity_grpc_addr: String,

    /// identity-svc URL the gateway calls; defaults to the local identity
    /// listen address.
    #[arg(long, env = "IDENTITY_URL")]
    pub identity_url: Option<String>,

    /// gRPC listen address of groups-svc.
    #[arg(long, env = "GROUPS_GRPC_ADDR", default_value = "127.0.0.1:50052")]
    pub groups_grpc_addr: String,

    /// groups-svc URL the gateway and identity-svc's outbox relay call;
    /// defaults to the local groups listen address.
    #[arg(long, env = "GROUPS_URL")]
    pub groups_url: Option<String>,

    /// gRPC listen address of rbac-svc.
    #[arg(long, env = "RBAC_GRPC_ADDR", default_value = "127.0.0.1:50053")]
    pub rbac_grpc_addr: String,

    /// rbac-svc URL the gateway and the identity-svc and groups-svc outbox
    /// relays call; defaults to the local rbac listen address.
    #[arg(long, env = "RBAC_URL")]
    pub rbac_url: Option<String>,

    /// rbac-svc database: a `postgres://` URL, or `sqlite://` for a file.
    /// Defaults to `<data-dir>/rbac.db`.
    #[arg(long, env = "RBAC_DATABASE_URL")]
    pub rbac_database_url: Option<String>,

    /// gRPC listen address of audit-svc.
    #[arg(long, env = "AUDIT_GRPC_ADDR", default_value = "127.0.0.1:50054")]
    pub audit_grpc_addr: String,

    /// audit-svc URL the gateway and every outbox relay call; defaults to
    /// the local audit listen address.
    #[arg(long, env = "AUDIT_URL")]
    pub audit_url: Option<String>,

    /// audit-svc database: a `postgres://` URL, or `sqlite://` for a file.
    /// Defaults to `<data-dir>/audit.db`.
    #[arg(long, env = "AUDIT_DATABASE_URL")]
    pub audit_database_url: Option<String>,

    /// Days an audit event is kept before the retention job deletes it.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = 400)]
    pub audit_retention_days: u32,

    /// groups-svc database: a `postgres://` URL, or `sqlite://` for a file.
    /// Defaults to `<data-dir>/groups.db`.
    #[arg(long, env = "GROUPS_DATABASE_URL")]
    pub groups_database_url: Option<String>,

    /// identity-svc database: a `postgres://` URL, or `sqlite://` for a file.
    /// Defaults to `<data-dir>/identity.db`.
    #[arg(long, env = "IDENTITY_DATABASE_URL")]
    pub identity_database_url: Option<String>,

    /// Maximum database connections of each service's pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// Redis URL for the shared rate limiter and cache. Without it, each
    /// process limits and caches on its own.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Create the demo workspace on first start when the data directory has
    /// no demo-workspace.json (only when identity-svc runs in this process).
    #[arg(long, env = "BOOTSTRAP_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub bootstrap_demo: bool,

    #[command(flatten)]
    pub shutdown: plumbing::shutdown::ShutdownConfig,

    #[command(flatten)]
    pub gateway: gateway::GatewayConfig,

    #[command(flatten)]
    pub rate_limit: plumbing::ratelimit::RateLimitConfig,

    #[command(flatten)]
    pub outbox: plumbing::outbox::RelayConfig,

    #[command(flatten)]
    pub processed_events: plumbing::outbox::processed::ProcessedEventsConfig,

    #[command(flatten)]
    pub admin: gateway::admin::AdminAuthConfig,
}

impl RunArgs {
    pub fn runs(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// Returns the identity-svc URL the gateway calls.
    pub fn identity_url(&self) -> String {
        self.identity_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.identity_grpc_addr))
    }

    /// Returns the groups-svc database URL.
    pub fn groups_database_url(&self) -> String {
        self.groups_database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("groups.db").display()
            )
        })
    }

    /// Returns the audit-svc database URL.
    pub fn audit_database_url(&self) -> String {
        self.audit_database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("audit.db").display()
            )
        })
    }

    /// Returns the rbac-svc database URL.
    pub fn rbac_database_url(&self) -> String {
        self.rbac_database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("rbac.db").display()
            )
        })
    }

    pub fn identity_database_url(&self) -> String {
        self.identity_database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("identity.db").display()
            )
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// identity-svc URL.
    #[arg(long, env = "IDENTITY_URL", default_value = "http://127.0.0.1:50051")]
    pub identity_url: String,

    /// Base URL of the SCIM gateway, used to print the workspace's SCIM URL.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,

    /// File the workspace id, SCIM URL and token are written to (mode 0600).
    #[arg(long, default_value = "./data/demo-workspace.json")]
    pub output: PathBuf,

    /// Workspace name.
    #[arg(long, default_value = "Demo workspace")]
    pub name: String,

    /// Email domain of the workspace; repeat for several.
    #[arg(long = "domain", default_value = "example.com")]
    pub domains: Vec<String>,

    #[command(flatten)]
    pub admin: gateway::admin::AdminAuthConfig,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// clap checks its definitions (unique argument ids among them) only
    /// when a command is built, and only in debug builds.
    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_parse() {
        let parsed = RunArgs::try_parse_from(["run"]);

        assert!(parsed.is_ok(), "{:?}", parsed.err());
    }
}
