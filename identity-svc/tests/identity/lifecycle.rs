//! SCIM lifecycle suite on both engines: the prerequisites of enabling,
//! disabling with configuration kept, setup of the identity provider, the
//! SSO and entitlement switches, and the events each change records.

use identity_svc::{
    ServiceError,
    error::{REASON_SCIM_NOT_ENTITLED, REASON_SSO_NOT_ENABLED},
};
use proto::identity::v1::{AuthenticateScimTokenRequest, IdentityProvider, IssueScimTokenRequest};
use tonic_types::StatusExt;

use crate::support::{TestContext, event_types, workspace_with};

/// Returns the violation types of a precondition failure, or panics.
fn violation_types(
    result: Result<proto::identity::v1::IdentitySettings, ServiceError>,
) -> Vec<&'static str> {
    match result {
        Err(ServiceError::PreconditionFailed { violations, .. }) => {
            violations.iter().map(|(kind, _)| *kind).collect()
        }
        other => panic!("expected a precondition failure, got {other:?}"),
    }
}

async fn enable_without_sso_names_sso(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, false, true).await;

    let result = ctx.service.enable_scim(&workspace_id).await;

    assert_eq!(violation_types(result), vec![REASON_SSO_NOT_ENABLED]);
    let settings = ctx.service.identity_settings(&workspace_id).await.unwrap();
    assert!(!settings.scim_enabled);
}

async fn enable_without_entitlement_names_it(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, false).await;

    let result = ctx.service.enable_scim(&workspace_id).await;

    assert_eq!(violation_types(result), vec![REASON_SCIM_NOT_ENTITLED]);
}

async fn enable_lists_every_missing_prerequisite(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, false, false).await;

    let result = ctx.service.enable_scim(&workspace_id).await;

    assert_eq!(
        violation_types(result),
        vec![REASON_SSO_NOT_ENABLED, REASON_SCIM_NOT_ENTITLED]
    );
}

async fn precondition_status_carries_details(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, false, true).await;

    let status = tonic::Status::from(ctx.service.enable_scim(&workspace_id).await.unwrap_err());

    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let details = status.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, REASON_SSO_NOT_ENABLED);
    let violations = &details.precondition_failure().unwrap().violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].r#type, REASON_SSO_NOT_ENABLED);
    assert_eq!(violations[0].subject, format!("workspaces/{workspace_id}"));
}

async fn enable_with_prerequisites_succeeds(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;

    let settings = ctx.service.enable_scim(&workspace_id).await.unwrap();
    let again = ctx.service.enable_scim(&workspace_id).await.unwrap();

    assert!(settings.scim_enabled);
    assert!(again.scim_enabled);
    assert_eq!(settings.scim_path, format!("/scim/v2/{workspace_id}"));
    // Enabling twice records one event.
    assert_eq!(
        event_types(&ctx.service, &workspace_id).await,
        vec!["scim_enabled"]
    );
}

async fn disable_keeps_tokens_and_setup(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;
    ctx.service.enable_scim(&workspace_id).await.unwrap();
    ctx.service
        .setup_scim(&workspace_id, IdentityProvider::Okta)
        .await
        .unwrap();
    let issued = ctx
        .service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.clone(),
            name: "okta".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap();

    let disabled = ctx.service.disable_scim(&workspace_id).await.unwrap();
    let rejected = ctx
        .service
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: issued.secret.clone(),
        })
        .await;
    ctx.service.enable_scim(&workspace_id).await.unwrap();
    let accepted = ctx
        .service
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: issued.secret,
        })
        .await;

    assert!(!disabled.scim_enabled);
    assert_eq!(disabled.tokens.len(), 1);
    assert_eq!(disabled.identity_provider(), IdentityProvider::Okta);
    assert!(
        matches!(rejected, Err(ServiceError::ScimDisabled(_))),
        "{rejected:?}"
    );
    assert!(accepted.is_ok(), "{accepted:?}");
}

async fn setup_entra_adds_query_flag(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;

    let entra = ctx
        .service
        .setup_scim(&workspace_id, IdentityProvider::Entra)
        .await
        .unwrap();
    let okta = ctx
        .service
        .setup_scim(&workspace_id, IdentityProvider::Okta)
        .await
        .unwrap();

    assert_eq!(entra.identity_provider(), IdentityProvider::Entra);
    assert_eq!(entra.scim_query, "aadOptscim062020");
    assert_eq!(okta.identity_provider(), IdentityProvider::Okta);
    assert_eq!(okta.scim_query, "");
}

async fn setup_without_provider_rejected(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;

    let result = ctx
        .service
        .setup_scim(&workspace_id, IdentityProvider::Unspecified)
        .await;

    assert!(
        matches!(&result, Err(ServiceError::InvalidArgument { field, .. }) if field == "identity_provider"),
        "{result:?}"
    );
}

async fn sso_off_turns_scim_off(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;
    ctx.service.enable_scim(&workspace_id).await.unwrap();

    let settings = ctx
        .service
        .set_sso_enabled(&workspace_id, false)
        .await
        .unwrap();

    assert!(!settings.sso_enabled);
    assert!(!settings.scim_enabled);
    assert_eq!(
        event_types(&ctx.service, &workspace_id).await,
        vec!["scim_enabled", "sso_enabled_changed", "scim_disabled"]
    );
}

async fn withdrawn_entitlement_turns_scim_off(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;
    ctx.service.enable_scim(&workspace_id).await.unwrap();

    let settings = ctx
        .service
        .set_scim_entitlement(&workspace_id, false)
        .await
        .unwrap();
    let enable = ctx.service.enable_scim(&workspace_id).await;

    assert!(!settings.scim_entitled);
    assert!(!settings.scim_enabled);
    assert_eq!(violation_types(enable), vec![REASON_SCIM_NOT_ENTITLED]);
}

async fn granted_entitlement_allows_enable(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, false, false).await;

    ctx.service
        .set_sso_enabled(&workspace_id, true)
        .await
        .unwrap();
    ctx.service
        .set_scim_entitlement(&workspace_id, true)
        .await
        .unwrap();
    let settings = ctx.service.enable_scim(&workspace_id).await.unwrap();

    assert!(settings.scim_enabled);
}

async fn concurrent_sso_off_and_enable_never_both_win(ctx: TestContext) {
    for _ in 0..5 {
        let workspace_id = workspace_with(&ctx.service, true, true).await;

        let (_, _) = tokio::join!(
            ctx.service.enable_scim(&workspace_id),
            ctx.service.set_sso_enabled(&workspace_id, false)
        );
        let settings = ctx.service.identity_settings(&workspace_id).await.unwrap();

        assert!(!settings.sso_enabled);
        assert!(
            !settings.scim_enabled,
            "SCIM must not stay on after SSO went off"
        );
    }
}

async fn unknown_workspace_not_found(ctx: TestContext) {
    let result = ctx.service.enable_scim("no-such-workspace").await;

    assert!(
        matches!(result, Err(ServiceError::WorkspaceNotFound(_))),
        "{result:?}"
    );
}

crate::engine_tests!(
    enable_without_sso_names_sso,
    enable_without_entitlement_names_it,
    enable_lists_every_missing_prerequisite,
    precondition_status_carries_details,
    enable_with_prerequisites_succeeds,
    disable_keeps_tokens_and_setup,
    setup_entra_adds_query_flag,
    setup_without_provider_rejected,
    sso_off_turns_scim_off,
    withdrawn_entitlement_turns_scim_off,
    granted_entitlement_allows_enable,
    concurrent_sso_off_and_enable_never_both_win,
    unknown_workspace_not_found,
);
