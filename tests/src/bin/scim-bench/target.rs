//! Target resolution: the SCIM base URL and token, the gRPC URLs, and the
//! loopback-only rule every target must pass before any request is sent.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    path::Path,
};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use url::{Host, Url};

use crate::cli::TargetArgs;

/// A SCIM endpoint that passed the loopback check.
#[derive(Debug, Clone)]
pub struct ScimTarget {
    /// Base URL without a trailing slash.
    pub base_url: Url,
    pub token: String,
    /// Addresses the host resolved to, all loopback; the HTTP client uses
    /// only these, so a later DNS answer cannot move the traffic.
    pub addrs: Vec<SocketAddr>,
}

/// The file `scim-server bootstrap` writes.
#[derive(Debug, Deserialize)]
struct DemoWorkspace {
    workspace_id: String,
    scim_url: String,
    token: String,
}

/// Returns true for 127.0.0.0/8 and ::1, the only addresses the tool sends to.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// Resolves the URL's host and returns its addresses, or an error unless
/// every one of them is a loopback address.
pub async fn resolve_loopback(url: &Url) -> Result<Vec<SocketAddr>> {
    if !matches!(url.scheme(), "http" | "https") {
        bail!("invalid URL {url}: the scheme must be http or https");
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| anyhow!("invalid URL {url}: no port"))?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .with_context(|| format!("failed to resolve the host of {url}"))?
            .collect(),
        None => bail!("invalid URL {url}: no host"),
    };
    check_all_loopback(url, &addrs)?;
    Ok(addrs)
}

/// Rejects an empty address list or any address outside the loopback range.
pub fn check_all_loopback(url: &Url, addrs: &[SocketAddr]) -> Result<()> {
    if addrs.is_empty() {
        bail!("rejected target {url}: its host resolved to no address");
    }
    if let Some(outside) = addrs.iter().find(|addr| !is_loopback(addr.ip())) {
        bail!(
            "rejected target {url}: it resolves to {}, outside 127.0.0.0/8 and ::1. \
             scim-bench sends traffic only to servers on this machine's loopback interface",
            outside.ip()
        );
    }
    Ok(())
}

/// Reads the SCIM target from the flags or the demo file and checks it.
/// Returns `None` when neither names one.
pub async fn scim_target(args: &TargetArgs) -> Result<Option<ScimTarget>> {
    let (base, token) = match (&args.base_url, &args.demo_file) {
        (Some(base), _) => {
            let token = args
                .token
                .clone()
                .ok_or_else(|| anyhow!("missing --token: --base-url needs a bearer token"))?;
            (base.clone(), token)
        }
        (None, Some(path)) => {
            let demo = read_demo_file(path)?;
            (demo.scim_url, demo.token)
        }
        (None, None) => return Ok(None),
    };

    let base_url = Url::parse(base.trim_end_matches('/'))
        .with_context(|| format!("invalid SCIM base URL {base:?}"))?;
    let addrs = resolve_loopback(&base_url).await?;
    Ok(Some(ScimTarget {
        base_url,
        token,
        addrs,
    }))
}

/// Returns the SCIM target or an error naming the flags that set one.
pub async fn require_scim_target(args: &TargetArgs) -> Result<ScimTarget> {
    scim_target(args).await?.ok_or_else(|| {
        anyhow!("missing SCIM target: pass --base-url URL --token TOKEN, or --demo-file data/demo-workspace.json")
    })
}

/// Returns the workspace id from --workspace-id or the demo file.
pub fn workspace_id(args: &TargetArgs) -> Result<String> {
    if let Some(id) = &args.workspace_id {
        return Ok(id.clone());
    }
    match &args.demo_file {
        Some(path) => Ok(read_demo_file(path)?.workspace_id),
        None => bail!("missing workspace id: pass --workspace-id or --demo-file"),
    }
}

/// Checks the gRPC URL given by `flag` (such as `--grpc-url`) and returns it
/// with the host replaced by its first resolved loopback address.
pub async fn grpc_target(flag: &str, raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw).with_context(|| format!("invalid {flag} {raw:?}"))?;
    let addrs = resolve_loopback(&url).await?;
    let first = addrs
        .first()
        .ok_or_else(|| anyhow!("rejected target {url}: no address"))?;
    url.set_ip_host(first.ip())
        .map_err(|()| anyhow!("invalid {flag} {raw:?}: cannot set its host"))?;
    Ok(url)
}

fn read_demo_file(path: &Path) -> Result<DemoWorkspace> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the demo file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "invalid demo file {}: expected JSON with workspace_id, scim_url and token",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|error| panic!("bad test URL {text}: {error}"))
    }

    #[test]
    fn loopback_v4_range_accepted() {
        assert!(is_loopback(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))));
        assert!(is_loopback(IpAddr::V4(Ipv4Addr::new(127, 255, 10, 3))));
    }

    #[test]
    fn loopback_v6_accepted() {
        assert!(is_loopback(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn non_loopback_rejected() {
        assert!(!is_loopback(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert!(!is_loopback(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0))));
        assert!(!is_loopback(IpAddr::V4(Ipv4Addr::new(128, 0, 0, 1))));
        assert!(!is_loopback(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
        assert!(!is_loopback(
            "::ffff:127.0.0.1"
                .parse()
                .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        ));
    }

    #[test]
    fn mixed_resolution_rejected() {
        let target = url("http://example.test:8080/");
        let addrs = [
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            SocketAddr::from(([192, 0, 2, 7], 8080)),
        ];

        let outcome = check_all_loopback(&target, &addrs);

        assert!(outcome.is_err());
    }

    #[test]
    fn empty_resolution_rejected() {
        assert!(check_all_loopback(&url("http://nowhere.test/"), &[]).is_err());
    }

    #[tokio::test]
    async fn literal_public_address_rejected() {
        assert!(
            resolve_loopback(&url("http://192.0.2.1:8080/scim/v2"))
                .await
                .is_err()
        );
        assert!(
            resolve_loopback(&url("http://[2001:db8::1]:8080/"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn literal_loopback_accepted() {
        let addrs = resolve_loopback(&url("http://127.0.0.1:8080/scim/v2")).await;

        assert!(matches!(addrs.as_deref(), Ok([addr]) if addr.port() == 8080));
    }

    #[tokio::test]
    async fn non_http_scheme_rejected() {
        assert!(resolve_loopback(&url("file:///etc/passwd")).await.is_err());
    }

    #[tokio::test]
    async fn grpc_url_host_pinned_to_address() {
        let pinned = grpc_target("--grpc-url", "http://127.0.0.2:50052").await;

        assert!(matches!(pinned, Ok(ref pinned) if pinned.as_str() == "http://127.0.0.2:50052/"));
    }

    #[tokio::test]
    async fn rbac_url_outside_loopback_rejected() {
        let rejected = grpc_target("--rbac-url", "http://192.0.2.1:50053").await;

        assert!(rejected.is_err());
    }

    #[tokio::test]
    async fn invalid_grpc_url_names_its_flag() {
        let error = grpc_target("--rbac-url", "not a url").await.err();

        assert!(
            error.is_some_and(|error| error.to_string().contains("--rbac-url")),
            "the error names the flag to fix"
        );
    }
}
