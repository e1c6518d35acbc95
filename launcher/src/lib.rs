//! Composition root: starts any set of the services in one process, and
//! bootstraps a demo workspace. The `scim-server` binary is a thin wrapper;
//! end-to-end tests start stacks through [`run::start`].

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod admin_key;
pub mod bootstrap;
pub mod cli;
pub mod run;
pub mod services;
