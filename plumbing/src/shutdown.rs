//! Graceful shutdown: the signal watcher, the readiness flag and the
//! `/livez` and `/readyz` routes.
//!
//! [`graceful_shutdown`] runs the steps in this order:
//!
//! 1. readiness off ([`Readiness::set_not_ready`]), so load balancers stop
//!    sending new work, then an optional pause for them to notice;
//! 2. stop accepting connections, by cancelling the token the servers were
//!    built with (`with_graceful_shutdown(token.cancelled_owned())`);
//! 3. drain in-flight requests, all servers under one deadline
//!    ([`ShutdownConfig::drain_timeout`], default 30 s);
//! 4. close pools (database, Redis) last.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::parse_duration;

/// Default time allowed for in-flight requests to finish after shutdown starts.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Shutdown timing options shared by every service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct ShutdownConfig {
    /// Maximum time for in-flight requests to finish after the servers stop
    /// accepting, such as `30s`.
    #[arg(long, env = "SHUTDOWN_DRAIN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// Pause between readiness off and stop accepting, such as `5s`, so that
    /// load balancers stop routing first. Zero skips the pause.
    #[arg(long, env = "SHUTDOWN_READINESS_DELAY", default_value = "0s", value_parser = parse_duration)]
    pub readiness_delay: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            readiness_delay: Duration::ZERO,
        }
    }
}

/// Process-wide shutdown trigger, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the token that is cancelled when shutdown starts. Use
    /// `child_token()` on it for per-component tokens.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Starts shutdown.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Returns whether shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere than Unix) or for an
    /// earlier [`Shutdown::trigger`], then triggers shutdown.
    pub async fn wait_for_signal(self) {
        tokio::select! {
            signal = termination_signal() => match signal {
                Ok(name) => tracing::info!(signal = name, "shutdown signal received"),
                Err(error) => tracing::error!(%error, "failed to listen for shutdown signals; shutting down"),
            },
            () = self.token.cancelled() => {}
        }
        self.trigger();
    }
}

/// Runs the shutdown steps in order: readiness off, the configured pause,
/// `stop_accepting` cancelled, `servers` drained under
/// [`ShutdownConfig::drain_timeout`], then `close_pools`.
///
/// `servers` are the servers' own futures (or their task handles mapped to
/// `()`), built with `with_graceful_shutdown(stop_accepting.cancelled_owned())`.
/// Returns `true` when every server drained before the deadline. Pools are
/// closed in both cases.
pub async fn graceful_shutdown<S, P>(
    readiness: &Readiness,
    stop_accepting: &CancellationToken,
    servers: Vec<S>,
    config: &ShutdownConfig,
    close_pools: P,
) -> bool
where
    S: Future<Output = ()>,
    P: Future<Output = ()>,
{
    readiness.set_not_ready();
    tracing::info!(
        delay_ms = config.readiness_delay.as_millis() as u64,
        "readiness off; shutting down"
    );
    if !config.readiness_delay.is_zero() {
        tokio::time::sleep(config.readiness_delay).await;
    }

    stop_accepting.cancel();
    let drained = drain(servers, config.drain_timeout).await;

    close_pools.await;
    tracing::info!(drained, "shutdown complete");
    drained
}

/// Waits until every future in `in_flight` completes or `timeout` passes.
///
/// `in_flight` are the servers' own futures (such as axum's or tonic's
/// graceful-shutdown futures), which finish once their connections drain.
/// Returns `true` when all drained in time; on timeout, it logs a warning and
/// returns `false`, and the caller closes pools and exits anyway.
pub async fn drain<F>(in_flight: Vec<F>, timeout: Duration) -> bool
where
    F: Future<Output = ()>,
{
    let all = futures::future::join_all(in_flight);
    match tokio::time::timeout(timeout, all).await {
        Ok(_) => {
            tracing::info!("in-flight requests drained");
            true
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "drain deadline passed; in-flight requests abandoned"
            );
            false
        }
    }
}

/// Readiness flag read by `/readyz`, by Kubernetes readiness probes and by
/// the gRPC health services.
///
/// Starts not ready. Clones share one flag.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<watch::Sender<State>>);

/// The readiness flag's value, which distinguishes "not ready yet" from "no longer
/// ready".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Starting,
    Ready,
    Withdrawn,
}

impl Default for Readiness {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(State::Starting)))
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_ready(&self) {
        self.0.send_replace(State::Ready);
    }

    /// Turns readiness off. Before the first [`Readiness::set_ready`] it
    /// stays "not ready yet".
    pub fn set_not_ready(&self) {
        self.0.send_if_modified(|state| {
            let withdrawn = *state == State::Ready;
            if withdrawn {
                *state = State::Withdrawn;
            }
            withdrawn
        });
    }

    pub fn is_ready(&self) -> bool {
        *self.0.borrow() == State::Ready
    }

    /// Returns a future that completes with `true` once readiness is turned
    /// off after it was on, as at the start of a shutdown, or with `false`
    /// when every clone of the flag is dropped first. The future does not
    /// keep the flag alive.
    pub fn withdrawn(&self) -> impl Future<Output = bool> + Send + 'static {
        let mut receiver = self.0.subscribe();
        async move {
            receiver
                .wait_for(|state| *state == State::Withdrawn)
                .await
                .is_ok()
        }
    }
}

/// Returns a router with `GET /livez` (200 while the process serves HTTP)
/// and `GET /readyz` (200 with `{"status":"ready"}` when `readiness` is set,
/// else 503 with `{"status":"not_ready"}`).
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/livez",
            get(|| async { axum::Json(serde_json::json!({ "status": "alive" })) }),
        )
        .route(
            "/readyz",
            get(move || {
                let ready = readiness.is_ready();
                async move {
                    if ready {
                        (
                            StatusCode::OK,
                            axum::Json(serde_json::json!({ "status": "ready" })),
                        )
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(serde_json::json!({ "status": "not_ready" })),
                        )
                    }
                }
            }),
        )
}

#[cfg(unix)]
async fn termination_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => Ok("SIGINT"),
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

#[cfg(not(unix))]
async fn termination_signal() -> std::io::Result<&'static str> {
    tokio::signal::ctrl_c().await?;
    Ok("ctrl-c")
}

#[cfg(test)]
#[path = "shutdown_tests.rs"]
mod tests;
