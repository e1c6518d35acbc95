//! Integration tests of identity-svc against real SQLite and PostgreSQL
//! databases, and over gRPC on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod filters;
mod paging;
mod tokens;
mod users;
