//! Email-domain rule suite on both engines: a user's work email and an
//! email-like userName must belong to the workspace's domains, and a
//! rejected user is not stored.

use identity_svc::ServiceError;
use proto::identity::v1::{
    CreateUserRequest, CreateWorkspaceRequest, GetWorkspaceRequest, ListUsersRequest,
    ReplaceUserRequest, User,
};

use crate::support::{TestContext, create, email, user, workspace};

fn with_email(user_name: &str, address: &str, kind: &str, primary: bool) -> User {
    User {
        emails: vec![email(address, kind, primary)],
        ..user(user_name)
    }
}

/// Creates `user` and returns the field of the violation, or "" on success.
async fn violation_field(ctx: &TestContext, workspace_id: &str, user: User) -> String {
    let result = ctx
        .service
        .create_user(CreateUserRequest {
            workspace_id: workspace_id.to_owned(),
            user: Some(user),
        })
        .await;
    match result {
        Ok(_) => String::new(),
        Err(ServiceError::InvalidArgument { field, .. }) => field,
        Err(other) => panic!("expected success or an invalid argument, got {other:?}"),
    }
}

async fn stored_users(ctx: &TestContext, workspace_id: &str) -> i64 {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        ..ListUsersRequest::default()
    };
    ctx.service.list_users(request).await.unwrap().total_results
}

async fn exact_domain_accepted(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let field = violation_field(
        &ctx,
        &workspace_id,
        with_email("ada", "ada@example.com", "work", true),
    )
    .await;

    assert_eq!(field, "");
}

async fn domain_case_ignored(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["Example.COM"]).await;

    let field = violation_field(
        &ctx,
        &workspace_id,
        with_email("ADA@EXAMPLE.com", "Ada@eXample.Com", "WORK", false),
    )
    .await;

    assert_eq!(field, "");
}

async fn wildcard_admits_subdomain(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["*.example.com"]).await;

    let subdomain = violation_field(
        &ctx,
        &workspace_id,
        with_email("ada", "ada@eu.example.com", "work", true),
    )
    .await;
    let apex = violation_field(
        &ctx,
        &workspace_id,
        with_email("bob", "bob@example.com", "work", true),
    )
    .await;

    assert_eq!(subdomain, "");
    assert_eq!(apex, "emails");
}

async fn lookalike_domain_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com", "*.example.com"]).await;

    let field = violation_field(
        &ctx,
        &workspace_id,
        with_email("ada", "ada@evilexample.com", "work", true),
    )
    .await;

    assert_eq!(field, "emails");
    assert_eq!(stored_users(&ctx, &workspace_id).await, 0);
}

async fn idn_domain_matches_punycode(ctx: TestContext) {
    let unicode_listed = workspace(&ctx.service, &["bücher.example"]).await;
    let punycode_listed = workspace(&ctx.service, &["xn--bcher-kva.example"]).await;

    let punycode_address = violation_field(
        &ctx,
        &unicode_listed,
        with_email("ada", "ada@xn--bcher-kva.example", "work", true),
    )
    .await;
    let unicode_address = violation_field(
        &ctx,
        &punycode_listed,
        with_email("ada", "ada@BÜCHER.example", "work", true),
    )
    .await;

    assert_eq!(punycode_address, "");
    assert_eq!(unicode_address, "");
}

async fn double_at_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let field = violation_field(
        &ctx,
        &workspace_id,
        with_email("ada", "ada@evil.com@example.com", "work", true),
    )
    .await;

    assert_eq!(field, "emails");
}

async fn quoted_local_part_with_at_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let field = violation_field(
        &ctx,
        &workspace_id,
        with_email("ada", "\"ada@evil.com\"@example.com", "work", true),
    )
    .await;

    assert_eq!(field, "emails");
}

async fn email_like_user_name_checked(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let outside = violation_field(&ctx, &workspace_id, user("ada@other.example")).await;
    let plain = violation_field(&ctx, &workspace_id, user("ada")).await;

    assert_eq!(outside, "userName");
    assert_eq!(plain, "");
}

async fn primary_email_used_without_work_type(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let home_primary = User {
        emails: vec![
            email("ada@other.example", "home", true),
            email("ada2@other.example", "other", false),
        ],
        ..user("ada")
    };
    let work_first = User {
        emails: vec![
            email("bob@other.example", "home", true),
            email("bob@example.com", "work", false),
        ],
        ..user("bob")
    };

    let primary = violation_field(&ctx, &workspace_id, home_primary).await;
    let work = violation_field(&ctx, &workspace_id, work_first).await;

    assert_eq!(primary, "emails");
    assert_eq!(work, "");
}

async fn replace_checks_domains(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(
        &ctx.service,
        &workspace_id,
        with_email("ada", "ada@example.com", "work", true),
    )
    .await;
    let mut moved = created.clone();
    moved.emails = vec![email("ada@evilexample.com", "work", true)];

    let result = ctx
        .service
        .replace_user(ReplaceUserRequest {
            workspace_id: workspace_id.clone(),
            user: Some(moved),
            expected_version: None,
        })
        .await;

    assert!(
        matches!(&result, Err(ServiceError::InvalidArgument { field, .. }) if field == "emails"),
        "{result:?}"
    );
    let stored = ctx
        .service
        .store()
        .get_user(&workspace_id, &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);
}

async fn workspace_domains_normalised(ctx: TestContext) {
    let created = ctx
        .service
        .create_workspace(CreateWorkspaceRequest {
            name: "Firm".to_owned(),
            domains: vec![
                "Bücher.Example".to_owned(),
                "*.EXAMPLE.com".to_owned(),
                "bücher.example".to_owned(),
            ],
            sso_enabled: true,
            scim_enabled: true,
            scim_entitled: false,
        })
        .await
        .unwrap();

    let fetched = ctx
        .service
        .get_workspace(GetWorkspaceRequest {
            workspace_id: created.id.clone(),
        })
        .await
        .unwrap();

    assert_eq!(fetched.domains, ["*.example.com", "xn--bcher-kva.example"]);
    assert_eq!(fetched, created);
}

async fn invalid_workspace_domain_rejected(ctx: TestContext) {
    let result = ctx
        .service
        .create_workspace(CreateWorkspaceRequest {
            name: "Firm".to_owned(),
            domains: vec!["ada@example.com".to_owned()],
            sso_enabled: true,
            scim_enabled: true,
            scim_entitled: false,
        })
        .await;

    assert!(
        matches!(&result, Err(ServiceError::InvalidArgument { field, .. }) if field == "domains"),
        "{result:?}"
    );
}

crate::engine_tests!(
    exact_domain_accepted,
    domain_case_ignored,
    wildcard_admits_subdomain,
    lookalike_domain_rejected,
    idn_domain_matches_punycode,
    double_at_rejected,
    quoted_local_part_with_at_rejected,
    email_like_user_name_checked,
    primary_email_used_without_work_type,
    replace_checks_domains,
    workspace_domains_normalised,
    invalid_workspace_domain_rejected,
);
