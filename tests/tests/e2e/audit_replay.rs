//! Every Entra ID and Okta request sequence of this suite, replayed through
//! the auditing proxy, each scenario in a workspace of its own. Afterwards
//! the audit trail must contain exactly one event for each resource a
//! request changed (with the right action and member ids). Requests that
//! changed nothing or only read must have none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e_tests::{
    StackOptions, TestStack,
    audit_check::{AuditCheck, verify_eventually},
    fixtures::DOMAIN,
};
use proto::audit::v1::audit_service_client::AuditServiceClient;

use crate::{entra, groups_entra, groups_okta, okta};

/// Maximum wait for audit-svc to receive every event.
const CATCH_UP: Duration = Duration::from_secs(60);

/// Points the stack's SCIM client at a fresh workspace behind the proxy and
/// returns the workspace id.
async fn enter_workspace(stack: &mut TestStack, check: &AuditCheck, name: &str) -> String {
    let tenant = stack.new_workspace(name, DOMAIN).await;
    stack.base_url = check.rebase(&tenant.base_url);
    stack.token = tenant.token;
    stack.workspace_id = tenant.workspace_id.clone();
    tenant.workspace_id
}

/// Runs each named scenario function in its own workspace.
macro_rules! replay {
    ($stack:expr, $check:expr, $workspaces:expr; $($module:ident :: $scenario:ident),+ $(,)?) => {
        $(
            let workspace_id = enter_workspace(
                $stack,
                $check,
                concat!(stringify!($module), "::", stringify!($scenario)),
            )
            .await;
            $workspaces.push(workspace_id);
            $module::$scenario($stack).await;
        )+
    };
}

async fn every_sequence_audited(mut stack: TestStack) {
    let check = AuditCheck::start(&format!("http://{}", stack.http_addr))
        .await
        .unwrap();
    let mut workspaces = Vec::new();
    replay!(&mut stack, &check, workspaces;
        entra::user_lifecycle,
        entra::user_matching,
        entra::legacy_patch_dialect,
        entra::manager_reference,
        entra::scim062020_flag_on_every_request,
        entra::test_connection_probes,
        entra::paging_by_five,
        groups_entra::group_lifecycle,
        groups_entra::member_reference_check,
        groups_entra::scim062020_flag_on_group_requests,
        groups_entra::remove_member_by_value_list,
        groups_entra::unknown_member_add_is_400,
        groups_entra::display_name_with_spaces_matches,
        groups_entra::display_name_filter_is_exact,
        groups_entra::test_connection_group_probe,
        groups_entra::groups_page,
        okta::user_lifecycle,
        okta::app_wizard_put_updates,
        okta::spec_test,
        okta::import_paging,
        groups_okta::group_push,
        groups_okta::aiw_put_updates,
        groups_okta::rename_repeating_own_id,
        groups_okta::rename_to_same_name_changes_nothing,
        groups_okta::remove_member_by_filter_path,
        groups_okta::replace_members_sets_exact_list,
        groups_okta::add_member_without_type,
        groups_okta::add_member_appends,
        groups_okta::push_25_members,
        groups_okta::import_groups_page,
    );

    let mut audit = AuditServiceClient::new(stack.audit_channel().await);
    let report = verify_eventually(&check.records(), &mut audit, &workspaces, CATCH_UP)
        .await
        .unwrap();
    println!("{report}");

    assert!(report.failures.is_empty(), "{report}");
    assert!(
        report.changes > 100,
        "too few changes were checked: {report}"
    );
    drop(check);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_every_sequence_audited() {
    every_sequence_audited(TestStack::embedded_with(StackOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_every_sequence_audited() {
    let Some(stack) =
        TestStack::split_with(env!("CARGO_BIN_EXE_scim-stack"), StackOptions::default()).await
    else {
        return;
    };
    every_sequence_audited(stack).await;
}
