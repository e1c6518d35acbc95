//! Shared plumbing for the SCIM gateway and the gRPC services: telemetry,
//! metrics, HTTP and gRPC middleware, shutdown, rate limiting, caching and
//! configuration helpers.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cache;
pub mod config;
pub mod grpc;
pub mod http;
pub mod listen;
pub mod metrics;
pub mod propagation;
pub mod ratelimit;
pub mod shutdown;
pub mod telemetry;

#[cfg(test)]
mod test_support;
