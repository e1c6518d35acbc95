//! gRPC channels to the services behind the gateway, opened only to checked
//! loopback addresses, and the mapping of gRPC statuses to failures.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use tonic::transport::{Channel, Endpoint};

use crate::{stats::Failure, target};

/// Most HTTP/2 connections to one service.
pub const MAX_CONNECTIONS: usize = 64;

/// A gRPC service the workloads call, named in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Service name, such as `groups-svc`.
    pub name: &'static str,
    /// Flag that sets its URL, such as `--grpc-url`.
    pub flag: &'static str,
}

pub const GROUPS_SVC: Service = Service {
    name: "groups-svc",
    flag: "--grpc-url",
};

pub const RBAC_SVC: Service = Service {
    name: "rbac-svc",
    flag: "--rbac-url",
};

/// Rejects a connection count outside 1 to [`MAX_CONNECTIONS`].
pub fn check_connections(value: usize) -> Result<()> {
    if value == 0 || value > MAX_CONNECTIONS {
        bail!("invalid --connections {value}: use 1 to {MAX_CONNECTIONS}");
    }
    Ok(())
}

/// Opens `connections` channels to the checked loopback address of `raw`,
/// each with `timeout` as its per-request timeout.
pub async fn connect(
    service: Service,
    raw: &str,
    connections: usize,
    timeout: Duration,
) -> Result<Vec<Channel>> {
    let url = target::grpc_target(service.flag, raw).await?;
    let endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("invalid {} {raw:?}", service.flag))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .tcp_nodelay(true);

    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        let channel = endpoint.connect().await.with_context(|| {
            format!(
                "cannot reach {} at {raw}: start it (`scim-server run` runs it by default) or pass {}",
                service.name, service.flag
            )
        })?;
        channels.push(channel);
    }
    Ok(channels)
}

/// Returns the failure recorded for a gRPC status other than OK.
pub fn grpc_failure(status: tonic::Status) -> Failure {
    Failure::Grpc {
        code: status.code(),
        message: status.message().chars().take(300).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_bounds() {
        assert!(check_connections(0).is_err());
        assert!(check_connections(1).is_ok());
        assert!(check_connections(MAX_CONNECTIONS).is_ok());
        assert!(check_connections(MAX_CONNECTIONS + 1).is_err());
    }

    #[tokio::test]
    async fn connect_rejects_public_address() {
        let outcome = connect(
            RBAC_SVC,
            "http://192.0.2.1:50053",
            1,
            Duration::from_secs(1),
        )
        .await;

        assert!(outcome.is_err());
    }
}
