//! Binding of listening sockets with errors that name the address.

use anyhow::Context;
use tokio::net::TcpListener;

/// Binds a TCP listener on `addr` (`host:port`; port 0 picks a free port).
///
/// The error names the address, so a port clash reads as such in the logs.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to bind {addr}: is the address valid and the port free?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_picks_free_port() {
        let listener = bind("127.0.0.1:0").await.unwrap();

        assert_ne!(listener.local_addr().unwrap().port(), 0);
    }

    #[tokio::test]
    async fn bind_error_names_address() {
        let first = bind("127.0.0.1:0").await.unwrap();
        let bound_address = first.local_addr().unwrap().to_string();

        let error = bind(&bound_address).await.unwrap_err();

        assert!(format!("{error:#}").contains(&bound_address), "{error:#}");
    }
}
