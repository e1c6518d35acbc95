//! Starts each gRPC service on its listener with health, reflection and the
//! shared server layer.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use audit_svc::{AuditConfig, AuditService};
use groups_svc::{GroupsConfig, GroupsService};
use identity_svc::{GroupsResetParticipant, IdentityConfig, IdentityService};
use plumbing::{
    shutdown::{Readiness, Shutdown},
    token_cache::TokenCache,
};
use rbac_svc::{RbacConfig, RbacService};
use tokio::task::JoinSet;
use tonic::service::Routes;

use crate::cli::RunArgs;

/// Names registered with gRPC health for identity-svc.
const IDENTITY_SERVICES: &[&str] = &[
    "identity.v1.WorkspaceService",
    "identity.v1.TokenService",
    "identity.v1.UserService",
];

/// Names registered with gRPC health for groups-svc.
const GROUPS_SERVICES: &[&str] = &[
    "groups.v1.GroupService",
    "groups.v1.UserGroupService",
    "groups.v1.MembershipService",
    "events.v1.EventSink",
];

/// Names registered with gRPC health for rbac-svc.
const RBAC_SERVICES: &[&str] = &[
    "rbac.v1.RoleAdminService",
    "rbac.v1.RoleService",
    "events.v1.EventSink",
];

/// Names registered with gRPC health for audit-svc.
const AUDIT_SERVICES: &[&str] = &["audit.v1.AuditService", "events.v1.EventSink"];

/// Connects identity-svc to its database and serves it. SCIM resets call
/// groups-svc at `groups_url`.
pub async fn start_identity(
    args: &RunArgs,
    groups_url: &str,
    token_cache: Option<TokenCache>,
    shutdown: &Shutdown,
    readiness: &Readiness,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<(IdentityService, SocketAddr)> {
    let config = IdentityConfig {
        database_url: args.identity_database_url(),
        max_connections: args.database_max_connections,
    };
    // Lazy, because groups-svc may start later; a reset while it is down
    // stays pending and finishes when run again.
    let groups = tonic::transport::Endpoint::from_shared(groups_url.to_owned())
        .with_context(|| format!("invalid groups-svc URL {groups_url}"))?
        .timeout(args.gateway.grpc_timeout)
        .connect_lazy();
    let service = IdentityService::connect(&config)
        .await
        .context("failed to start identity-svc")?
        .with_reset_participant(Arc::new(GroupsResetParticipant::new(groups)));
    let service = match token_cache {
        Some(cache) => service.with_token_cache(cache),
        None => service,
    };

    let routes = Routes::new(service.workspace_server())
        .add_service(service.token_server())
        .add_service(service.user_server());
    let addr = serve(
        "identity-svc",
        &args.identity_grpc_addr,
        IDENTITY_SERVICES,
        routes,
        shutdown,
        readiness,
        tasks,
    )
    .await?;
    Ok((service, addr))
}

/// Connects groups-svc to its database and cache and serves it.
pub async fn start_groups(
    args: &RunArgs,
    shutdown: &Shutdown,
    readiness: &Readiness,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<(GroupsService, SocketAddr)> {
    let config = GroupsConfig {
        database_url: args.groups_database_url(),
        max_connections: args.database_max_connections,
        redis_url: args.redis_url.clone(),
    };
    let service = GroupsService::connect(&config)
        .await
        .context("failed to start groups-svc")?;

    let routes = Routes::new(service.group_server())
        .add_service(service.user_group_server())
        .add_service(service.membership_server())
        .add_service(service.event_sink_server());
    let addr = serve(
        "groups-svc",
        &args.groups_grpc_addr,
        GROUPS_SERVICES,
        routes,
        shutdown,
        readiness,
        tasks,
    )
    .await?;
    Ok((service, addr))
}

/// Connects rbac-svc to its database and cache and serves it.
pub async fn start_rbac(
    args: &RunArgs,
    shutdown: &Shutdown,
    readiness: &Readiness,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<(RbacService, SocketAddr)> {
    let config = RbacConfig {
        database_url: args.rbac_database_url(),
        max_connections: args.database_max_connections,
        redis_url: args.redis_url.clone(),
    };
    let service = RbacService::connect(&config)
        .await
        .context("failed to start rbac-svc")?;

    let routes = Routes::new(service.role_admin_server())
        .add_service(service.role_server())
        .add_service(service.event_sink_server());
    let addr = serve(
        "rbac-svc",
        &args.rbac_grpc_addr,
        RBAC_SERVICES,
        routes,
        shutdown,
        readiness,
        tasks,
    )
    .await?;
    Ok((service, addr))
}

/// Connects audit-svc to its database and serves it.
pub async fn start_audit(
    args: &RunArgs,
    shutdown: &Shutdown,
    readiness: &Readiness,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<(AuditService, SocketAddr)> {
    let config = AuditConfig {
        database_url: args.audit_database_url(),
        max_connections: args.database_max_connections,
        retention: std::time::Duration::from_secs(u64::from(args.audit_retention_days) * 86_400),
    };
    let service = AuditService::connect(&config)
        .await
        .context("failed to start audit-svc")?;

    let routes = Routes::new(service.audit_server()).add_service(service.event_sink_server());
    let addr = serve(
        "audit-svc",
        &args.audit_grpc_addr,
        AUDIT_SERVICES,
        routes,
        shutdown,
        readiness,
        tasks,
    )
    .await?;
    Ok((service, addr))
}

/// Binds `addr` and serves `routes` plus health and reflection until
/// shutdown. Returns the bound address.
async fn serve(
    name: &'static str,
    addr: &str,
    health_names: &'static [&'static str],
    routes: Routes,
    shutdown: &Shutdown,
    readiness: &Readiness,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<SocketAddr> {
    let (reporter, health, reflection_v1, reflection_v1alpha) =
        plumbing::grpc::health_and_reflection(proto::FILE_DESCRIPTOR_SET, health_names).await?;
    plumbing::grpc::not_serving_when_withdrawn(reporter, health_names, readiness);
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let router = tonic::transport::Server::builder()
        .layer(plumbing::grpc::GrpcServerLayer::new())
        .add_routes(routes);

    let listener = plumbing::listen::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(service = name, addr = %bound, "grpc listening");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let token = shutdown.token();
    tasks.spawn(async move {
        router
            .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
            .await
            .with_context(|| format!("{name} grpc server failed"))
    });
    Ok(bound)
}
