//! Starts the chosen services, serves HTTP and gRPC, and shuts down in order:
//! readiness off, stop accepting, drain in-flight requests, close pools.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use audit_svc::AuditService;
use axum::Router;
use groups_svc::GroupsService;
use identity_svc::IdentityService;
use plumbing::outbox::Consumer;
use plumbing::{
    cache::Cache,
    ratelimit::RateLimiter,
    shutdown::{Readiness, Shutdown, ShutdownConfig},
    token_cache::TokenCache,
};
use rbac_svc::RbacService;
use redis::aio::ConnectionManager;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    admin_key, bootstrap,
    cli::{RunArgs, Service},
    services,
};

/// Label of the per-workspace SCIM request limit in metrics and Redis keys.
const RATE_LIMIT_SCOPE: &str = "scim";

/// Label of the per-client limit on failed SCIM authentications.
const AUTH_FAILURE_SCOPE: &str = "scim_auth_failures";

/// Entries of the token cache shared in process when there is no Redis.
const TOKEN_CACHE_ENTRIES: u64 = 10_000;

/// A started set of services.
pub struct Stack {
    /// Bound HTTP address (SCIM when the gateway runs, health and metrics).
    pub http_addr: SocketAddr,
    /// Bound identity-svc gRPC address, when it runs here.
    pub identity_addr: Option<SocketAddr>,
    /// Bound groups-svc gRPC address, when it runs here.
    pub groups_addr: Option<SocketAddr>,
    /// Bound rbac-svc gRPC address, when it runs here.
    pub rbac_addr: Option<SocketAddr>,
    /// Bound audit-svc gRPC address, when it runs here.
    pub audit_addr: Option<SocketAddr>,
    /// SCIM URL of the demo workspace, when the demo bootstrap is on.
    pub demo_scim_url: Option<String>,
    shutdown: Shutdown,
    readiness: Readiness,
    tasks: JoinSet<anyhow::Result<()>>,
    identity: Option<IdentityService>,
    groups: Option<GroupsService>,
    rbac: Option<RbacService>,
    audit: Option<AuditService>,
    relay_stop: CancellationToken,
    relay_tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stops the gateway's reporter of rejected SCIM requests.
    reporter_stop: CancellationToken,
    reporter: Option<tokio::task::JoinHandle<()>>,
    shutdown_config: ShutdownConfig,
}

/// Runs the services until SIGTERM or SIGINT, then shuts them down.
pub async fn run(args: Box<RunArgs>) -> anyhow::Result<()> {
    let mut stack = start(*args).await?;
    if let Some(scim_url) = &stack.demo_scim_url {
        println!("Demo workspace SCIM URL: {scim_url}");
    }

    // The signal gets its own trigger so that readiness goes off before the
    // servers stop accepting.
    let signal = Shutdown::new();
    let signalled = signal.token();
    tokio::spawn(signal.wait_for_signal());
    tokio::select! {
        () = signalled.cancelled() => {}
        finished = stack.tasks.join_next() => {
            // A server ended on its own: report it and stop the rest.
            if let Some(Ok(Err(error))) = finished {
                tracing::error!(error = %format!("{error:#}"), "server stopped with an error");
            }
        }
    }
    stack.stop().await;
    Ok(())
}

/// Starts the services named in `args` and returns once they accept requests.
pub async fn start(args: RunArgs) -> anyhow::Result<Stack> {
    let metrics = plumbing::metrics::install_recorder()?;
    let shutdown = Shutdown::new();
    let readiness = Readiness::new();
    let mut tasks = JoinSet::new();

    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "failed to create data directory {}",
            args.data_dir.display()
        )
    })?;

    // audit-svc consumes every service's events, so it starts first.
    let relay_stop = CancellationToken::new();
    let mut relay_tasks = Vec::new();
    let (audit, audit_addr) = if args.runs(Service::Audit) {
        let (service, addr) =
            services::start_audit(&args, &shutdown, &readiness, &mut tasks).await?;
        relay_tasks.push(tokio::spawn(
            service.clone().run_retention(relay_stop.clone()),
        ));
        (Some(service), Some(addr))
    } else {
        (None, None)
    };
    let audit_url = match (&args.audit_url, audit_addr) {
        (Some(url), _) => url.clone(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => format!("http://{}", args.audit_grpc_addr),
    };

    let (rbac, rbac_addr) = if args.runs(Service::Rbac) {
        let (service, addr) =
            services::start_rbac(&args, &shutdown, &readiness, &mut tasks).await?;
        let audit_sink = Consumer::grpc("audit-svc", &audit_url, args.gateway.grpc_timeout).await?;
        let relay = service.outbox_relay(vec![audit_sink], args.outbox.clone())?;
        relay_tasks.push(tokio::spawn(relay.run(relay_stop.clone())));
        relay_tasks.push(tokio::spawn(
            service
                .clone()
                .run_processed_events_retention(args.processed_events, relay_stop.clone()),
        ));
        (Some(service), Some(addr))
    } else {
        (None, None)
    };
    let rbac_url = match (&args.rbac_url, rbac_addr) {
        (Some(url), _) => url.clone(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => format!("http://{}", args.rbac_grpc_addr),
    };

    let (groups, groups_addr) = if args.runs(Service::Groups) {
        let (service, addr) =
            services::start_groups(&args, &shutdown, &readiness, &mut tasks).await?;
        let rbac_sink = Consumer::grpc("rbac-svc", &rbac_url, args.gateway.grpc_timeout).await?;
        let audit_sink = Consumer::grpc("audit-svc", &audit_url, args.gateway.grpc_timeout).await?;
        let relay = service.outbox_relay(vec![rbac_sink, audit_sink], args.outbox.clone())?;
        relay_tasks.push(tokio::spawn(relay.run(relay_stop.clone())));
        relay_tasks.push(tokio::spawn(
            service
                .clone()
                .run_processed_events_retention(args.processed_events, relay_stop.clone()),
        ));
        (Some(service), Some(addr))
    } else {
        (None, None)
    };
    let groups_url = match (&args.groups_url, groups_addr) {
        (Some(url), _) => url.clone(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => format!("http://{}", args.groups_grpc_addr),
    };

    let connects_redis = args.runs(Service::Identity) || args.runs(Service::Gateway);
    let redis = match &args.redis_url {
        Some(url) if connects_redis => Some(plumbing::cache::connect_redis(url).await?),
        _ => None,
    };
    // identity-svc fills and withdraws token authentications, and the
    // gateway reads them: in Redis when there is one, else in this process
    // when both run here. Any other cache would miss revocations made by
    // another process.
    let token_cache = match &redis {
        Some(manager) => Some(TokenCache::new(Cache::redis(manager.clone()))),
        None if args.runs(Service::Identity) && args.runs(Service::Gateway) => {
            Some(TokenCache::new(Cache::in_process(TOKEN_CACHE_ENTRIES)))
        }
        None => None,
    };

    let (identity, identity_addr) = if args.runs(Service::Identity) {
        let (service, addr) = services::start_identity(
            &args,
            &groups_url,
            token_cache.clone(),
            &shutdown,
            &readiness,
            &mut tasks,
        )
        .await?;
        relay_tasks.push(
            start_identity_relay(
                &service,
                &args,
                [&groups_url, &rbac_url, &audit_url],
                relay_stop.clone(),
            )
            .await?,
        );
        (Some(service), Some(addr))
    } else {
        (None, None)
    };
    let identity_url = match (&args.identity_url, identity_addr) {
        (Some(url), _) => url.clone(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => args.identity_url(),
    };

    let bootstraps = identity.is_some() && args.bootstrap_demo;
    let admin_key = if args.runs(Service::Gateway) || bootstraps {
        admin_key::hs256_key(&args.admin, &args.data_dir)?
    } else {
        None
    };

    let listener = plumbing::listen::bind(&args.http_addr).await?;
    let http_addr = listener.local_addr()?;
    let mut http = plumbing::shutdown::health_router(readiness.clone())
        .merge(plumbing::metrics::metrics_router(metrics));
    let reporter_stop = CancellationToken::new();
    let mut reporter = None;
    if args.runs(Service::Gateway) {
        let urls = GatewayUrls {
            identity: &identity_url,
            groups: &groups_url,
            rbac: &rbac_url,
            audit: &audit_url,
        };
        let caches = GatewayCaches {
            redis: redis.clone(),
            tokens: token_cache.clone(),
        };
        let (router, reporter_task) = build_gateway(
            &args,
            &urls,
            caches,
            admin_key.as_deref(),
            reporter_stop.clone(),
        )
        .await?;
        http = http.merge(router);
        reporter = Some(reporter_task);
    }
    tracing::info!(addr = %http_addr, "http listening");
    let token = shutdown.token();
    tasks.spawn(async move {
        let listener = plumbing::request_target::TolerantListener::new(listener);
        let service =
            http.into_make_service_with_connect_info::<plumbing::request_target::ClientAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .context("http server failed")
    });

    let demo_scim_url = if bootstraps {
        let public_url = args
            .gateway
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http_addr}"));
        bootstrap_on_first_start(&args, &identity_url, &public_url, admin_key.as_deref()).await?
    } else {
        None
    };

    readiness.set_ready();
    tracing::info!(services = ?args.services, "ready");
    Ok(Stack {
        http_addr,
        identity_addr,
        groups_addr,
        rbac_addr,
        audit_addr,
        demo_scim_url,
        shutdown,
        readiness,
        tasks,
        identity,
        groups,
        rbac,
        audit,
        relay_stop,
        relay_tasks,
        reporter_stop,
        reporter,
        shutdown_config: args.shutdown,
    })
}

impl Stack {
    /// Stops accepting, drains in-flight requests within the grace period and
    /// closes the database pools.
    pub async fn stop(mut self) {
        self.readiness.set_not_ready();
        tracing::info!(drain_timeout = ?self.shutdown_config.drain_timeout, "readiness off; shutting down");
        if !self.shutdown_config.readiness_delay.is_zero() {
            tokio::time::sleep(self.shutdown_config.readiness_delay).await;
        }
        // The reporter sends its last counts while the servers still run,
        // so an audit-svc in this process receives them. Requests rejected
        // during the drain below are not reported.
        self.reporter_stop.cancel();
        if let Some(reporter) = self.reporter.take()
            && let Err(error) = reporter.await
        {
            tracing::error!(error = %error, "rejected-request reporter task failed");
        }
        self.shutdown.trigger();

        let drained =
            tokio::time::timeout(self.shutdown_config.drain_timeout, drain(&mut self.tasks)).await;
        if drained.is_err() {
            tracing::warn!("shutdown grace period ended with requests still in flight");
            self.tasks.abort_all();
        }
        // The relays read their services' databases, so they stop before
        // the pools close.
        self.relay_stop.cancel();
        for relay in self.relay_tasks.drain(..) {
            if let Err(error) = relay.await {
                tracing::error!(error = %error, "outbox relay task failed");
            }
        }
        if let Some(identity) = self.identity.take() {
            identity.close().await;
        }
        if let Some(groups) = self.groups.take() {
            groups.close().await;
        }
        if let Some(rbac) = self.rbac.take() {
            rbac.close().await;
        }
        if let Some(audit) = self.audit.take() {
            audit.close().await;
        }
        tracing::info!("stopped");
    }
}

/// Starts identity-svc's outbox relay, delivering its events to groups-svc,
/// rbac-svc and audit-svc at `urls`, in that order.
async fn start_identity_relay(
    identity: &IdentityService,
    args: &RunArgs,
    urls: [&str; 3],
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let [groups_url, rbac_url, audit_url] = urls;
    // A consumer's name keys its stored position, so it never changes.
    let groups = Consumer::grpc("groups-svc", groups_url, args.gateway.grpc_timeout).await?;
    let rbac = Consumer::grpc("rbac-svc", rbac_url, args.gateway.grpc_timeout).await?;
    let audit = Consumer::grpc("audit-svc", audit_url, args.gateway.grpc_timeout).await?;
    let relay = identity.outbox_relay(vec![groups, rbac, audit], args.outbox.clone())?;
    Ok(tokio::spawn(relay.run(stop)))
}

/// gRPC URLs of the services the gateway calls.
struct GatewayUrls<'a> {
    identity: &'a str,
    groups: &'a str,
    rbac: &'a str,
    audit: &'a str,
}

/// The gateway's Redis connection and token cache, shared with the other
/// services of this process.
struct GatewayCaches {
    redis: Option<ConnectionManager>,
    tokens: Option<TokenCache>,
}

/// Builds the SCIM and admin routers, and starts the task that reports
/// rejected SCIM requests to audit-svc until `reporter_stop` fires.
async fn build_gateway(
    args: &RunArgs,
    urls: &GatewayUrls<'_>,
    caches: GatewayCaches,
    admin_key: Option<&[u8]>,
    reporter_stop: CancellationToken,
) -> anyhow::Result<(Router, tokio::task::JoinHandle<()>)> {
    let timeout = args.gateway.grpc_timeout;
    let identity = plumbing::grpc::connect_traced_channel(urls.identity, timeout).await?;
    let groups = plumbing::grpc::connect_traced_channel(urls.groups, timeout).await?;
    let rbac = plumbing::grpc::connect_traced_channel(urls.rbac, timeout).await?;
    let audit = plumbing::grpc::connect_traced_channel(urls.audit, timeout).await?;
    let auth_failure_limit = plumbing::ratelimit::RateLimitConfig {
        per_second: args.gateway.auth_failures_per_second,
        burst: args.gateway.auth_failure_burst,
    };
    let (limiter, auth_failures) = match caches.redis {
        Some(manager) => (
            RateLimiter::redis(manager.clone(), &args.rate_limit, RATE_LIMIT_SCOPE),
            RateLimiter::redis(manager, &auth_failure_limit, AUTH_FAILURE_SCOPE),
        ),
        None => (
            RateLimiter::in_process(&args.rate_limit, RATE_LIMIT_SCOPE),
            RateLimiter::in_process(&auth_failure_limit, AUTH_FAILURE_SCOPE),
        ),
    };
    let verifier = admin_key::verifier(&args.admin, admin_key).await?;
    let state = gateway::AppState::new(
        identity.clone(),
        groups.clone(),
        limiter,
        auth_failures,
        caches.tokens,
        args.gateway.clone(),
    );
    let reporter = tokio::spawn(
        state
            .rejections
            .clone()
            .run_reporter(audit.clone(), reporter_stop),
    );
    let admin =
        gateway::admin::AdminState::new(state.clone(), identity, groups, rbac, audit, verifier);
    let router =
        gateway::router_with_admin(state, admin).layer(plumbing::http::HttpTelemetryLayer::new());
    Ok((router, reporter))
}

/// Creates the demo workspace unless the data directory already has one.
/// Returns the demo workspace's SCIM URL.
async fn bootstrap_on_first_start(
    args: &RunArgs,
    identity_url: &str,
    public_url: &str,
    admin_key: Option<&[u8]>,
) -> anyhow::Result<Option<String>> {
    let output = args.data_dir.join("demo-workspace.json");
    if output.exists() {
        return Ok(bootstrap::read_scim_url(&output));
    }
    let channel = plumbing::grpc::connect_channel(identity_url, Duration::from_secs(10)).await?;
    let domains = ["example.com".to_owned()];
    let scim_url = bootstrap::create_demo_workspace(
        channel,
        public_url,
        "Demo workspace",
        &domains,
        &output,
        admin_key,
    )
    .await?;
    tracing::info!(path = %output.display(), "demo workspace ready");
    Ok(Some(scim_url))
}

async fn drain(tasks: &mut JoinSet<anyhow::Result<()>>) {
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(error = %format!("{error:#}"), "server stopped with an error")
            }
            Err(error) => tracing::error!(error = %error, "server task failed"),
        }
    }
}
