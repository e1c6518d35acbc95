//! End-to-end tests: every scenario runs against an embedded stack (one
//! process, SQLite) and a split stack (identity-svc, groups-svc and the
//! gateway in separate processes, PostgreSQL and Redis).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_audit;
mod admin_roles;
mod audit;
mod audit_replay;
mod auth;
mod bootstrap;
mod concurrency;
mod discovery;
mod entra;
mod errors;
mod filters;
mod groups;
mod groups_concurrency;
mod groups_entra;
mod groups_isolation;
mod groups_okta;
mod grpc;
mod isolation;
mod limits;
mod okta;
mod pagination;
mod patch;
mod roles;
mod scimctl_audit;
mod scimctl_roles;
mod scimctl_user_groups;
mod user_groups;
mod users;
