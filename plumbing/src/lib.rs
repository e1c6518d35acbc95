//! Shared plumbing for the SCIM gateway and the gRPC services: telemetry,
//! metrics, HTTP and gRPC middleware, shutdown, rate limiting, caching and
//! configuration helpers.
//!
//! A service's `main` wires it in this order:
//!
//! ```no_run
//! use plumbing::{http::HttpTelemetryLayer, listen, metrics, shutdown, telemetry};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn run() -> anyhow::Result<()> {
//! let _telemetry = telemetry::init(&telemetry::TelemetryConfig::new("gateway"))?;
//! let prometheus = metrics::install_recorder()?;
//! let shutdown = shutdown::Shutdown::new();
//! let readiness = shutdown::Readiness::new();
//! let stop_accepting = CancellationToken::new();
//!
//! let app = axum::Router::new()
//!     .route("/Users/{id}", axum::routing::get(|| async { "user" }))
//!     .layer(HttpTelemetryLayer::new())
//!     .merge(metrics::metrics_router(prometheus))
//!     .merge(shutdown::health_router(readiness.clone()));
//! let listener = listen::bind("0.0.0.0:8080").await?;
//! let server = axum::serve(listener, app)
//!     .with_graceful_shutdown(stop_accepting.clone().cancelled_owned());
//! let server = tokio::spawn(async move { server.await.ok(); });
//!
//! readiness.set_ready();
//! shutdown.clone().wait_for_signal().await;
//! let servers = vec![async move { server.await.ok(); }];
//! let close_pools = async { /* close database and Redis pools */ };
//! shutdown::graceful_shutdown(&readiness, &stop_accepting, servers, &Default::default(), close_pools).await;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod actor;
pub mod cache;
pub mod config;
pub mod epoch_cache;
pub mod grpc;
pub mod http;
pub mod listen;
pub mod metrics;
pub mod outbox;
pub mod propagation;
pub mod ratelimit;
pub mod request_target;
pub mod shutdown;
pub mod telemetry;
pub mod token_cache;

#[cfg(test)]
mod test_support;
