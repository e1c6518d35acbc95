//! Harness of the end-to-end tests: starts whole stacks, and talks SCIM over
//! HTTP and identity-svc's API over gRPC, as identity providers and
//! operators do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod assertions;
pub mod audit_check;
pub mod client;
pub mod fixtures;
pub mod process;
pub mod services;
pub mod stack;

pub use client::{ScimClient, ScimResponse, encode_percent, encode_plus, filter_query};
pub use stack::{StackOptions, Tenant, TestStack};

/// Defines two tests per scenario function, `embedded::<name>` and
/// `split::<name>`, each running `async fn <name>(stack: &TestStack)` in the
/// calling module against a fresh stack of that kind. Pass
/// `options: <StackOptions>;` first to start the stacks with extra flags.
#[macro_export]
macro_rules! stack_tests {
    ($($scenario:ident),+ $(,)?) => {
        $crate::stack_tests!(options: $crate::StackOptions::default(); $($scenario),+);
    };
    (options: $options:expr; $($scenario:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let stack = $crate::TestStack::embedded_with($options).await;
                    super::$scenario(&stack).await;
                    stack.stop().await;
                }
            )+
        }

        mod split {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some(stack) = $crate::TestStack::split_with(env!("CARGO_BIN_EXE_scim-stack"), $options).await else {
                        return;
                    };
                    super::$scenario(&stack).await;
                    stack.stop().await;
                }
            )+
        }
    };
}
