//! Integration tests of audit-svc against real SQLite and PostgreSQL
//! databases, and over gRPC on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;
mod support;
