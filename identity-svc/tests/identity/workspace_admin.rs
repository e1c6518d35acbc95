//! Domain administration, users created outside SCIM, and login checks on
//! both engines.

use identity_svc::ServiceError;
use proto::events::v1::event::Payload;
use proto::identity::v1::{
    AttributePath, AttributeSchema, CheckLoginRequest, Comparison, ComparisonOperator,
    CreateUnmanagedUserRequest, Filter, FilterValue, ListUsersRequest, LoginDecision,
    ReplaceUserRequest, User, ValuePathFilter, check_login_request::Subject, filter::Expr,
    filter_value::Kind,
};

use crate::support::{
    TestContext, create, email, event_types, events, user, workspace, workspace_with,
};

async fn create_with_email(
    ctx: &TestContext,
    workspace_id: &str,
    address: &str,
) -> Result<User, ServiceError> {
    let user = User {
        emails: vec![email(address, "work", true)],
        ..user(address)
    };
    ctx.service
        .create_user(proto::identity::v1::CreateUserRequest {
            workspace_id: workspace_id.to_owned(),
            user: Some(user),
        })
        .await
}

fn unmanaged(workspace_id: &str, address: &str) -> CreateUnmanagedUserRequest {
    CreateUnmanagedUserRequest {
        workspace_id: workspace_id.to_owned(),
        email: address.to_owned(),
        given_name: Some("Ada".to_owned()),
        family_name: Some("Lovelace".to_owned()),
        display_name: None,
    }
}

fn equals(name: &str, sub_attribute: &str, value: &str) -> Filter {
    Filter {
        expr: Some(Expr::Comparison(Comparison {
            attribute: Some(AttributePath {
                schema: AttributeSchema::Core as i32,
                name: name.to_owned(),
                sub_attribute: sub_attribute.to_owned(),
            }),
            operator: ComparisonOperator::Eq as i32,
            value: Some(FilterValue {
                kind: Some(Kind::StringValue(value.to_owned())),
            }),
        })),
    }
}

async fn found(ctx: &TestContext, workspace_id: &str, filter: Filter) -> Vec<String> {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        filter: Some(filter),
        count: 10,
        ..ListUsersRequest::default()
    };
    let response = ctx.service.list_users(request).await.unwrap();
    response.users.into_iter().map(|user| user.id).collect()
}

async fn check(ctx: &TestContext, workspace_id: &str, subject: Subject) -> (LoginDecision, String) {
    let response = ctx
        .service
        .check_login(CheckLoginRequest {
            workspace_id: workspace_id.to_owned(),
            subject: Some(subject),
        })
        .await
        .unwrap();
    (response.decision(), response.user_id)
}

async fn added_domain_admits_users(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let before = create_with_email(&ctx, &workspace_id, "ada@Example.ORG").await;

    let domains = ctx
        .service
        .add_workspace_domain(&workspace_id, "EXAMPLE.org")
        .await
        .unwrap();
    let again = ctx
        .service
        .add_workspace_domain(&workspace_id, "example.org")
        .await
        .unwrap();
    let after = create_with_email(&ctx, &workspace_id, "ada@Example.ORG").await;

    assert!(
        matches!(before, Err(ServiceError::InvalidArgument { .. })),
        "{before:?}"
    );
    assert_eq!(domains, vec!["example.com", "example.org"]);
    assert_eq!(again, domains);
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(
        event_types(&ctx.service, &workspace_id).await,
        vec!["domain_added", "user_created"]
    );
}

async fn wildcard_domain_admits_only_subdomains(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    ctx.service
        .add_workspace_domain(&workspace_id, "*.Example.NET")
        .await
        .unwrap();

    let subdomain = create_with_email(&ctx, &workspace_id, "ada@eu.example.net").await;
    let apex = create_with_email(&ctx, &workspace_id, "bob@example.net").await;
    let lookalike = create_with_email(&ctx, &workspace_id, "eve@evilexample.net").await;

    assert!(subdomain.is_ok(), "{subdomain:?}");
    assert!(
        matches!(apex, Err(ServiceError::InvalidArgument { .. })),
        "{apex:?}"
    );
    assert!(
        matches!(lookalike, Err(ServiceError::InvalidArgument { .. })),
        "{lookalike:?}"
    );
}

async fn idn_domain_stored_as_punycode(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let domains = ctx
        .service
        .add_workspace_domain(&workspace_id, "Bücher.example")
        .await
        .unwrap();
    let removed = ctx
        .service
        .remove_workspace_domain(&workspace_id, "xn--bcher-kva.EXAMPLE")
        .await
        .unwrap();

    assert_eq!(domains, vec!["example.com", "xn--bcher-kva.example"]);
    assert_eq!(removed, vec!["example.com"]);
}

async fn removed_domain_rejects_new_users(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com", "example.org"]).await;
    let existing = create_with_email(&ctx, &workspace_id, "ada@example.org")
        .await
        .unwrap();

    let domains = ctx
        .service
        .remove_workspace_domain(&workspace_id, "Example.org")
        .await
        .unwrap();
    let rejected = create_with_email(&ctx, &workspace_id, "bob@example.org").await;
    let missing = ctx
        .service
        .remove_workspace_domain(&workspace_id, "example.org")
        .await;
    let still_stored = ctx
        .service
        .get_user(proto::identity::v1::GetUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: existing.id,
        })
        .await;

    assert_eq!(domains, vec!["example.com"]);
    assert!(
        matches!(rejected, Err(ServiceError::InvalidArgument { .. })),
        "{rejected:?}"
    );
    assert!(
        matches!(missing, Err(ServiceError::DomainNotFound(_))),
        "{missing:?}"
    );
    assert!(still_stored.is_ok(), "{still_stored:?}");
}

async fn invalid_domain_entry_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    for entry in ["", "a@example.org", "a.*.example.org", "example..org"] {
        let result = ctx.service.add_workspace_domain(&workspace_id, entry).await;

        assert!(
            matches!(&result, Err(ServiceError::InvalidArgument { field, .. }) if field == "domain"),
            "{entry:?}: {result:?}"
        );
    }
}

async fn unmanaged_user_found_by_idp_filters(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let created = ctx
        .service
        .create_unmanaged_user(unmanaged(&workspace_id, "Ada@Example.com"))
        .await
        .unwrap();
    let by_user_name = found(
        &ctx,
        &workspace_id,
        equals("userName", "", "ada@example.com"),
    )
    .await;
    let by_email_value = found(
        &ctx,
        &workspace_id,
        equals("emails", "value", "ADA@example.com"),
    )
    .await;
    let value_path = Filter {
        expr: Some(Expr::ValuePath(Box::new(ValuePathFilter {
            attribute: Some(AttributePath {
                schema: AttributeSchema::Core as i32,
                name: "emails".to_owned(),
                sub_attribute: String::new(),
            }),
            filter: Some(Box::new(equals("value", "", "ada@example.com"))),
        }))),
    };
    let by_value_path = found(&ctx, &workspace_id, value_path).await;

    assert!(!created.scim_managed);
    assert_eq!(created.active, Some(true));
    assert_eq!(created.name.unwrap().given_name.as_deref(), Some("Ada"));
    assert_eq!(by_user_name, vec![created.id.clone()]);
    assert_eq!(by_email_value, vec![created.id.clone()]);
    assert_eq!(by_value_path, vec![created.id]);
}

async fn unmanaged_user_outside_domains_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let lookalike = ctx
        .service
        .create_unmanaged_user(unmanaged(&workspace_id, "ada@evilexample.com"))
        .await;
    let double_at = ctx
        .service
        .create_unmanaged_user(unmanaged(&workspace_id, "a@evil.com@example.com"))
        .await;
    let empty = ctx
        .service
        .create_unmanaged_user(unmanaged(&workspace_id, " "))
        .await;

    assert!(
        matches!(lookalike, Err(ServiceError::InvalidArgument { .. })),
        "{lookalike:?}"
    );
    assert!(
        matches!(double_at, Err(ServiceError::InvalidArgument { .. })),
        "{double_at:?}"
    );
    assert!(
        matches!(empty, Err(ServiceError::InvalidArgument { .. })),
        "{empty:?}"
    );
}

async fn first_scim_write_adopts_user(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = ctx
        .service
        .create_unmanaged_user(unmanaged(&workspace_id, "ada@example.com"))
        .await
        .unwrap();
    let replace = |user: User| ReplaceUserRequest {
        workspace_id: workspace_id.clone(),
        user: Some(User {
            external_id: Some("okta-1".to_owned()),
            ..user
        }),
        expected_version: None,
    };

    let adopted = ctx
        .service
        .replace_user(replace(created.clone()))
        .await
        .unwrap();
    let replaced_again = ctx
        .service
        .replace_user(replace(adopted.clone()))
        .await
        .unwrap();

    assert!(adopted.scim_managed);
    assert!(replaced_again.scim_managed);
    assert_eq!(
        event_types(&ctx.service, &workspace_id).await,
        vec!["user_created", "user_adopted", "user_updated"],
        "only the first write adopts, and the second changes nothing"
    );
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(recorded[1].aggregate_type, "user");
    let Some(Payload::UserAdopted(payload)) = &recorded[1].payload else {
        panic!("expected UserAdopted, got {:?}", recorded[1].payload);
    };
    assert_eq!(payload.user_id, created.id);
    let Some(Payload::UserUpdated(updated)) = &recorded[2].payload else {
        panic!("expected UserUpdated, got {:?}", recorded[2].payload);
    };
    let attributes: Vec<&str> = updated
        .changes
        .iter()
        .map(|change| change.attribute.as_str())
        .collect();
    assert_eq!(attributes, vec!["externalId"]);
}

async fn login_allows_active_provisioned_user(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let ada = create_with_email(&ctx, &workspace_id, "ada@example.com")
        .await
        .unwrap();

    let by_id = check(&ctx, &workspace_id, Subject::UserId(ada.id.clone())).await;
    let by_email = check(
        &ctx,
        &workspace_id,
        Subject::Email("ADA@example.com".to_owned()),
    )
    .await;

    assert_eq!(by_id, (LoginDecision::Allowed, ada.id.clone()));
    assert_eq!(by_email, (LoginDecision::Allowed, ada.id));
}

async fn login_denies_unprovisioned_user(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let by_email = check(
        &ctx,
        &workspace_id,
        Subject::Email("nobody@example.com".to_owned()),
    )
    .await;
    let by_id = check(
        &ctx,
        &workspace_id,
        Subject::UserId("no-such-user".to_owned()),
    )
    .await;

    assert_eq!(by_email.0, LoginDecision::DeniedNotProvisioned);
    assert_eq!(by_id.0, LoginDecision::DeniedNotProvisioned);
}

async fn login_denies_deactivated_user(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let ada = create_with_email(&ctx, &workspace_id, "ada@example.com")
        .await
        .unwrap();
    ctx.service
        .replace_user(ReplaceUserRequest {
            workspace_id: workspace_id.clone(),
            user: Some(User {
                active: Some(false),
                ..ada.clone()
            }),
            expected_version: None,
        })
        .await
        .unwrap();

    let decision = check(
        &ctx,
        &workspace_id,
        Subject::Email("ada@example.com".to_owned()),
    )
    .await;

    assert_eq!(decision, (LoginDecision::DeniedInactive, ada.id));
}

async fn login_matches_secondary_email(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let grace = User {
        emails: vec![
            email("grace@example.com", "work", true),
            email("g.hopper@example.com", "other", false),
        ],
        ..user("grace")
    };
    let created = create(&ctx.service, &workspace_id, grace).await;

    let decision = check(
        &ctx,
        &workspace_id,
        Subject::Email("G.Hopper@example.com".to_owned()),
    )
    .await;

    assert_eq!(decision, (LoginDecision::Allowed, created.id));
}

async fn login_with_scim_off_not_managed(ctx: TestContext) {
    let workspace_id = workspace_with(&ctx.service, true, true).await;

    let decision = check(
        &ctx,
        &workspace_id,
        Subject::Email("nobody@example.com".to_owned()),
    )
    .await;

    assert_eq!(decision.0, LoginDecision::NotScimManaged);
}

async fn login_without_subject_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let result = ctx
        .service
        .check_login(CheckLoginRequest {
            workspace_id,
            subject: None,
        })
        .await;

    assert!(
        matches!(result, Err(ServiceError::InvalidArgument { .. })),
        "{result:?}"
    );
}

crate::engine_tests!(
    added_domain_admits_users,
    wildcard_domain_admits_only_subdomains,
    idn_domain_stored_as_punycode,
    removed_domain_rejects_new_users,
    invalid_domain_entry_rejected,
    unmanaged_user_found_by_idp_filters,
    unmanaged_user_outside_domains_rejected,
    first_scim_write_adopts_user,
    login_allows_active_provisioned_user,
    login_denies_unprovisioned_user,
    login_denies_deactivated_user,
    login_matches_secondary_email,
    login_with_scim_off_not_managed,
    login_without_subject_rejected,
);
