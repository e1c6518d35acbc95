//! Running stacks: every service in this process on SQLite, or identity-svc,
//! groups-svc and the gateway in separate processes on PostgreSQL and Redis.

use std::{net::SocketAddr, path::Path};

use clap::Parser;
use launcher::cli::RunArgs;
use proto::identity::v1::{
    CreateWorkspaceRequest, IssueScimTokenRequest, token_service_client::TokenServiceClient,
    workspace_service_client::WorkspaceServiceClient,
};
use serde::Deserialize;
use tonic::transport::Channel;

use crate::{
    client::{ScimClient, http_client},
    fixtures::SECOND_DOMAIN,
    process::{ChildProcess, TempDir, free_loopback_addr},
    services::{TestDatabase, postgres_url, probe_tcp, redis_url, service_missing},
};

/// Rate limit of the default stacks, in requests per second and burst,
/// high enough that no scenario meets it.
const GENEROUS_RATE_LIMIT: u32 = 100_000;

/// Launcher settings of a stack beyond the defaults.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Sustained requests per second the gateway admits per workspace.
    pub rate_limit_per_second: u32,
    /// Requests admitted at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// Failed authentications per second admitted per client address.
    pub auth_failures_per_second: u32,
    /// Failed authentications admitted at once above that rate.
    pub auth_failure_burst: u32,
    /// Further launcher flags, such as `--max-body-bytes 65536`.
    pub extra_args: Vec<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            rate_limit_per_second: GENEROUS_RATE_LIMIT,
            rate_limit_burst: GENEROUS_RATE_LIMIT,
            auth_failures_per_second: GENEROUS_RATE_LIMIT,
            auth_failure_burst: GENEROUS_RATE_LIMIT,
            extra_args: Vec::new(),
        }
    }
}

impl StackOptions {
    /// Returns the default options with these extra launcher flags.
    pub fn with_args(args: &[&str]) -> Self {
        Self {
            extra_args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Returns the default options with this rate limit.
    pub fn with_rate_limit(per_second: u32, burst: u32) -> Self {
        Self {
            rate_limit_per_second: per_second,
            rate_limit_burst: burst,
            ..Self::default()
        }
    }

    /// Returns the default options with this limit on failed
    /// authentications per client address.
    pub fn with_auth_failure_limit(per_second: u32, burst: u32) -> Self {
        Self {
            auth_failures_per_second: per_second,
            auth_failure_burst: burst,
            ..Self::default()
        }
    }

    /// Returns the launcher flags of these options.
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--rate-limit-per-second".to_owned(),
            self.rate_limit_per_second.to_string(),
            "--rate-limit-burst".to_owned(),
            self.rate_limit_burst.to_string(),
            "--auth-failures-per-second".to_owned(),
            self.auth_failures_per_second.to_string(),
            "--auth-failure-burst".to_owned(),
            self.auth_failure_burst.to_string(),
        ];
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A workspace as seen by a SCIM client.
#[derive(Clone)]
pub struct Tenant {
    pub workspace_id: String,
    pub base_url: String,
    pub token: String,
}

impl Tenant {
    pub fn client(&self) -> ScimClient {
        ScimClient::new(http_client(), &self.base_url, &self.token)
    }
}

/// Contents of `<data-dir>/demo-workspace.json` written by the launcher.
#[derive(Deserialize)]
struct DemoWorkspace {
    workspace_id: String,
    scim_url: String,
    token: String,
}

#[allow(
    clippy::large_enum_variant,
    reason = "a test holds one stack, so the variant size costs nothing"
)]
enum Services {
    Embedded(launcher::run::Stack),
    // Field order is drop order: processes stop before their database goes.
    Split {
        _gateway: ChildProcess,
        _identity: ChildProcess,
        _groups: ChildProcess,
        /// rbac-svc and audit-svc, which tests stop and start again.
        rbac: Restartable,
        audit: Restartable,
        _database: TestDatabase,
        _groups_database: TestDatabase,
        _rbac_database: TestDatabase,
        _audit_database: TestDatabase,
    },
}

/// A child process that a test may stop and start again on the same
/// addresses and database.
struct Restartable {
    name: &'static str,
    /// `None` while stopped.
    process: Option<ChildProcess>,
    program: String,
    args: Vec<String>,
    http: SocketAddr,
    log_dir: std::path::PathBuf,
}

impl Restartable {
    async fn start(&mut self) {
        let log_name = format!("{}-restarted", self.name);
        let mut process = ChildProcess::spawn(&log_name, &self.program, &self.args, &self.log_dir);
        process
            .try_wait_ready(&http_client(), self.http)
            .await
            .unwrap_or_else(|message| panic!("{} did not restart: {message}", self.name));
        self.process = Some(process);
    }
}

/// A running stack with the demo workspace (domain `example.com`).
pub struct TestStack {
    /// SCIM base URL of the demo workspace, `http://{addr}/scim/v2/{id}`.
    pub base_url: String,
    pub token: String,
    pub workspace_id: String,
    /// Address of the gateway's HTTP listener.
    pub http_addr: SocketAddr,
    /// Address of identity-svc's gRPC listener.
    pub identity_addr: SocketAddr,
    /// Address of rbac-svc's gRPC listener.
    pub rbac_addr: SocketAddr,
    /// Address of audit-svc's gRPC listener.
    pub audit_addr: SocketAddr,
    services: Services,
    _data_dir: TempDir,
}

impl TestStack {
    /// Starts every service in this process on SQLite in a fresh directory.
    pub async fn embedded() -> Self {
        Self::embedded_with(StackOptions::default()).await
    }

    pub async fn embedded_with(options: StackOptions) -> Self {
        let data_dir = TempDir::new("e2e-embedded");
        let mut extra = strings(&["--bootstrap-demo", "true"]);
        extra.extend(options.args());
        let args = run_args(data_dir.path(), &extra);
        let stack = launcher::run::start(args)
            .await
            .unwrap_or_else(|error| panic!("failed to start the embedded stack: {error:#}"));
        let demo = read_demo_workspace(data_dir.path());
        let http_addr = stack.http_addr;
        let identity_addr = stack
            .identity_addr
            .expect("the embedded stack runs identity-svc");
        let rbac_addr = stack.rbac_addr.expect("the embedded stack runs rbac-svc");
        let audit_addr = stack.audit_addr.expect("the embedded stack runs audit-svc");
        Self {
            base_url: format!("http://{http_addr}/scim/v2/{}", demo.workspace_id),
            token: demo.token,
            workspace_id: demo.workspace_id,
            http_addr,
            identity_addr,
            rbac_addr,
            audit_addr,
            services: Services::Embedded(stack),
            _data_dir: data_dir,
        }
    }

    /// Starts identity-svc, groups-svc and rbac-svc, each on a fresh
    /// PostgreSQL database, and the gateway with Redis, each a process of `program` (the
    /// `scim-stack` binary, which an integration test names with
    /// `env!("CARGO_BIN_EXE_scim-stack")`).
    /// Returns `None` when PostgreSQL or Redis is unreachable and `CI` is not
    /// `true`.
    pub async fn split(program: &str) -> Option<Self> {
        Self::split_with(program, StackOptions::default()).await
    }

    pub async fn split_with(program: &str, options: StackOptions) -> Option<Self> {
        let postgres = postgres_url();
        let redis = redis_url();
        if let Err(error) = probe_tcp(&postgres, 5432).await {
            service_missing("PostgreSQL", &postgres, &error);
            return None;
        }
        if let Err(error) = probe_tcp(&redis, 6379).await {
            service_missing("Redis", &redis, &error);
            return None;
        }
        let database = match TestDatabase::create(&postgres).await {
            Ok(database) => database,
            Err(error) => {
                service_missing("PostgreSQL", &postgres, &error);
                return None;
            }
        };
        let groups_database = match TestDatabase::create(&postgres).await {
            Ok(database) => database,
            Err(error) => {
                service_missing("PostgreSQL", &postgres, &error);
                return None;
            }
        };
        let rbac_database = match TestDatabase::create(&postgres).await {
            Ok(database) => database,
            Err(error) => {
                service_missing("PostgreSQL", &postgres, &error);
                return None;
            }
        };
        let audit_database = match TestDatabase::create(&postgres).await {
            Ok(database) => database,
            Err(error) => {
                service_missing("PostgreSQL", &postgres, &error);
                return None;
            }
        };

        // Ports are picked by binding port 0 and releasing it, so another
        // test may take one before a child binds it; a failed start is retried
        // on fresh ports.
        let http = http_client();
        let mut attempt = 0;
        let started = loop {
            attempt += 1;
            let databases = DatabaseUrls {
                identity: &database.url,
                groups: &groups_database.url,
                rbac: &rbac_database.url,
                audit: &audit_database.url,
            };
            match start_split_processes(program, &options, &http, &databases, &redis).await {
                Ok(started) => break started,
                Err(message) if attempt < SPLIT_START_ATTEMPTS => {
                    eprintln!(
                        "split stack start failed (attempt {attempt}), retrying on other ports: {message}"
                    );
                }
                Err(message) => panic!("{message}"),
            }
        };
        let SplitProcesses {
            data_dir,
            gateway_http,
            identity_grpc,
            rbac_grpc,
            audit_grpc,
            rbac,
            audit,
            groups,
            identity,
            gateway,
        } = started;

        let demo = read_demo_workspace(&data_dir.path().join("identity"));
        let base_url = format!("http://{gateway_http}/scim/v2/{}", demo.workspace_id);
        assert_eq!(
            demo.scim_url, base_url,
            "the bootstrap SCIM URL is not the gateway's"
        );
        Some(Self {
            base_url,
            token: demo.token,
            workspace_id: demo.workspace_id,
            http_addr: gateway_http,
            identity_addr: identity_grpc,
            rbac_addr: rbac_grpc,
            audit_addr: audit_grpc,
            services: Services::Split {
                _gateway: gateway,
                _identity: identity,
                _groups: groups,
                rbac,
                audit,
                _database: database,
                _groups_database: groups_database,
                _rbac_database: rbac_database,
                _audit_database: audit_database,
            },
            _data_dir: data_dir,
        })
    }

    /// Returns a client of the demo workspace.
    pub fn client(&self) -> ScimClient {
        self.tenant().client()
    }

    pub fn tenant(&self) -> Tenant {
        Tenant {
            workspace_id: self.workspace_id.clone(),
            base_url: self.base_url.clone(),
            token: self.token.clone(),
        }
    }

    /// Returns a gRPC channel to identity-svc.
    pub async fn identity_channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.identity_addr))
            .expect("invalid identity-svc URL")
            .connect()
            .await
            .expect("failed to connect to identity-svc")
    }

    /// Returns a gRPC channel to rbac-svc.
    pub async fn rbac_channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.rbac_addr))
            .expect("invalid rbac-svc URL")
            .connect()
            .await
            .expect("failed to connect to rbac-svc")
    }

    /// Returns a gRPC channel to audit-svc.
    pub async fn audit_channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.audit_addr))
            .expect("invalid audit-svc URL")
            .connect()
            .await
            .expect("failed to connect to audit-svc")
    }

    /// Kills the rbac-svc process of a split stack; its events queue up in
    /// the other services' outboxes. Panics on an embedded stack.
    pub fn stop_rbac(&mut self) {
        self.restartable("rbac").process = None;
    }

    /// Starts rbac-svc again on its previous addresses and database and
    /// waits until it is ready. Panics on an embedded stack.
    pub async fn start_rbac(&mut self) {
        self.restartable("rbac").start().await;
    }

    /// Kills the audit-svc process of a split stack. Panics on an embedded
    /// stack.
    pub fn stop_audit(&mut self) {
        self.restartable("audit").process = None;
    }

    /// Starts audit-svc again and waits until it is ready. Panics on an
    /// embedded stack.
    pub async fn start_audit(&mut self) {
        self.restartable("audit").start().await;
    }

    fn restartable(&mut self, name: &str) -> &mut Restartable {
        match &mut self.services {
            Services::Split { rbac, .. } if name == "rbac" => rbac,
            Services::Split { audit, .. } => audit,
            Services::Embedded(_) => panic!("{name} runs inside the embedded stack"),
        }
    }

    /// Creates another workspace (domain `b.example`) with its own token.
    pub async fn second_workspace(&self) -> Tenant {
        self.new_workspace("Second workspace", SECOND_DOMAIN).await
    }

    /// Creates a workspace with SCIM on, one email domain and a token.
    pub async fn new_workspace(&self, name: &str, domain: &str) -> Tenant {
        let channel = self.identity_channel().await;
        let workspace = WorkspaceServiceClient::new(channel.clone())
            .create_workspace(CreateWorkspaceRequest {
                name: name.to_owned(),
                domains: vec![domain.to_owned()],
                sso_enabled: true,
                scim_entitled: true,
                scim_enabled: true,
            })
            .await
            .expect("CreateWorkspace failed")
            .into_inner()
            .workspace
            .expect("CreateWorkspace returned no workspace");
        let issued = TokenServiceClient::new(channel)
            .issue_scim_token(IssueScimTokenRequest {
                workspace_id: workspace.id.clone(),
                name: "e2e".to_owned(),
                ttl_seconds: 0,
            })
            .await
            .expect("IssueScimToken failed")
            .into_inner();
        Tenant {
            base_url: format!("http://{}/scim/v2/{}", self.http_addr, workspace.id),
            workspace_id: workspace.id,
            token: issued.secret,
        }
    }

    /// Stops the stack: drains the embedded services, or kills the processes
    /// and drops their databases.
    pub async fn stop(self) {
        match self.services {
            Services::Embedded(stack) => stack.stop().await,
            Services::Split { .. } => {}
        }
    }
}

fn read_demo_workspace(data_dir: &Path) -> DemoWorkspace {
    let path = data_dir.join("demo-workspace.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not the expected JSON: {error}", path.display()))
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// Returns the launcher flags of a whole stack on `data_dir`, followed by
/// `extra`. Every listener is on an ephemeral port, so tests running at the
/// same time never compete for a fixed port.
pub fn run_args<S: AsRef<str>>(data_dir: &Path, extra: &[S]) -> RunArgs {
    let mut args = strings(&["run", "--data-dir"]);
    args.push(path_text(data_dir));
    for flag in [
        "--http-addr",
        "--identity-grpc-addr",
        "--groups-grpc-addr",
        "--rbac-grpc-addr",
        "--audit-grpc-addr",
    ] {
        args.extend(strings(&[flag, "127.0.0.1:0"]));
    }
    args.extend(extra.iter().map(|arg| arg.as_ref().to_owned()));
    // `try_parse_from`, because `parse_from` exits the whole test binary on
    // an unknown flag.
    RunArgs::try_parse_from(args).unwrap_or_else(|error| panic!("invalid launcher flags: {error}"))
}

/// How often a split stack start is tried before the test fails.
const SPLIT_START_ATTEMPTS: u32 = 3;

/// The processes of a split stack and where they listen.
struct SplitProcesses {
    data_dir: TempDir,
    gateway_http: SocketAddr,
    identity_grpc: SocketAddr,
    rbac_grpc: SocketAddr,
    audit_grpc: SocketAddr,
    rbac: Restartable,
    audit: Restartable,
    groups: ChildProcess,
    identity: ChildProcess,
    gateway: ChildProcess,
}

/// Database URL of each service of a split stack.
struct DatabaseUrls<'a> {
    identity: &'a str,
    groups: &'a str,
    rbac: &'a str,
    audit: &'a str,
}

/// Starts rbac-svc, groups-svc, identity-svc and the gateway as separate
/// processes on fresh loopback ports and waits until each is ready.
async fn start_split_processes(
    program: &str,
    options: &StackOptions,
    http: &reqwest::Client,
    databases: &DatabaseUrls<'_>,
    redis: &str,
) -> Result<SplitProcesses, String> {
    let data_dir = TempDir::new("e2e-split");
    let identity_http = free_loopback_addr();
    let identity_grpc = free_loopback_addr();
    let groups_http = free_loopback_addr();
    let groups_grpc = free_loopback_addr();
    let gateway_http = free_loopback_addr();
    let rbac_http = free_loopback_addr();
    let rbac_grpc = free_loopback_addr();
    let groups_url = format!("http://{groups_grpc}");
    let rbac_url = format!("http://{rbac_grpc}");
    let audit_http = free_loopback_addr();
    let audit_grpc = free_loopback_addr();
    let audit_url = format!("http://{audit_grpc}");

    // audit-svc and rbac-svc consume the other services' events, so they
    // start first.
    let mut audit_args = strings(&[
        "run",
        "--services",
        "audit",
        "--data-dir",
        &path_text(&data_dir.path().join("audit")),
        "--http-addr",
        &audit_http.to_string(),
        "--audit-grpc-addr",
        &audit_grpc.to_string(),
        "--audit-database-url",
        databases.audit,
        "--bootstrap-demo",
        "false",
    ]);
    audit_args.extend(options.args());
    let mut audit = ChildProcess::spawn("audit", program, &audit_args, data_dir.path());
    audit.try_wait_ready(http, audit_http).await?;

    let mut rbac_args = strings(&[
        "run",
        "--services",
        "rbac",
        "--data-dir",
        &path_text(&data_dir.path().join("rbac")),
        "--http-addr",
        &rbac_http.to_string(),
        "--rbac-grpc-addr",
        &rbac_grpc.to_string(),
        "--rbac-database-url",
        databases.rbac,
        "--audit-url",
        &audit_url,
        "--redis-url",
        redis,
        "--bootstrap-demo",
        "false",
    ]);
    rbac_args.extend(options.args());
    let mut rbac = ChildProcess::spawn("rbac", program, &rbac_args, data_dir.path());
    rbac.try_wait_ready(http, rbac_http).await?;

    // groups-svc starts next, so it is ready before identity-svc's
    // outbox relay delivers events and the gateway sends requests to it.
    let mut groups_args = strings(&[
        "run",
        "--services",
        "groups",
        "--data-dir",
        &path_text(&data_dir.path().join("groups")),
        "--http-addr",
        &groups_http.to_string(),
        "--groups-grpc-addr",
        &groups_grpc.to_string(),
        "--groups-database-url",
        databases.groups,
        "--rbac-url",
        &rbac_url,
        "--audit-url",
        &audit_url,
        "--redis-url",
        redis,
        "--bootstrap-demo",
        "false",
    ]);
    groups_args.extend(options.args());
    let mut groups = ChildProcess::spawn("groups", program, &groups_args, data_dir.path());
    groups.try_wait_ready(http, groups_http).await?;

    let mut identity_args = strings(&[
        "run",
        "--services",
        "identity",
        "--data-dir",
        &path_text(&data_dir.path().join("identity")),
        "--http-addr",
        &identity_http.to_string(),
        "--identity-grpc-addr",
        &identity_grpc.to_string(),
        "--identity-database-url",
        databases.identity,
        "--groups-url",
        &groups_url,
        "--rbac-url",
        &rbac_url,
        "--audit-url",
        &audit_url,
        "--redis-url",
        redis,
        "--bootstrap-demo",
        "true",
        "--public-url",
        &format!("http://{gateway_http}"),
    ]);
    identity_args.extend(options.args());
    let mut identity = ChildProcess::spawn("identity", program, &identity_args, data_dir.path());
    identity.try_wait_ready(http, identity_http).await?;
    identity
        .try_wait_for_file(&data_dir.path().join("identity").join("demo-workspace.json"))
        .await?;

    let mut gateway_args = strings(&[
        "run",
        "--services",
        "gateway",
        "--data-dir",
        &path_text(&data_dir.path().join("gateway")),
        "--http-addr",
        &gateway_http.to_string(),
        "--identity-url",
        &format!("http://{identity_grpc}"),
        "--groups-url",
        &groups_url,
        "--rbac-url",
        &rbac_url,
        "--audit-url",
        &audit_url,
        "--redis-url",
        redis,
        "--bootstrap-demo",
        "false",
    ]);
    gateway_args.extend(options.args());
    let mut gateway = ChildProcess::spawn("gateway", program, &gateway_args, data_dir.path());
    gateway.try_wait_ready(http, gateway_http).await?;

    let log_dir = data_dir.path().to_owned();
    Ok(SplitProcesses {
        data_dir,
        gateway_http,
        identity_grpc,
        rbac_grpc,
        audit_grpc,
        rbac: Restartable {
            name: "rbac",
            process: Some(rbac),
            program: program.to_owned(),
            args: rbac_args,
            http: rbac_http,
            log_dir: log_dir.clone(),
        },
        audit: Restartable {
            name: "audit",
            process: Some(audit),
            program: program.to_owned(),
            args: audit_args,
            http: audit_http,
            log_dir,
        },
        groups,
        identity,
        gateway,
    })
}
