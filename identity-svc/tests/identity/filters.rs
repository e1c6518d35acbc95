//! Filter suite: every operator, value paths, enterprise attributes and
//! logical combinations, on both engines with the same expected results.

use identity_svc::ServiceError;
use proto::identity::v1::{
    Address, AttributePath, AttributeSchema, Comparison, ComparisonOperator, EnterpriseUser,
    Filter, FilterList, FilterValue, ListUsersRequest, Manager, MultiValue, Name, User,
    ValuePathFilter, filter::Expr, filter_value::Kind,
};

use crate::support::{TestContext, create, email, workspace};

fn core(name: &str) -> AttributePath {
    AttributePath {
        schema: AttributeSchema::Core as i32,
        name: name.to_owned(),
        sub_attribute: String::new(),
    }
}

fn core_sub(name: &str, sub_attribute: &str) -> AttributePath {
    AttributePath {
        sub_attribute: sub_attribute.to_owned(),
        ..core(name)
    }
}

fn enterprise(name: &str, sub_attribute: &str) -> AttributePath {
    AttributePath {
        schema: AttributeSchema::Enterprise as i32,
        name: name.to_owned(),
        sub_attribute: sub_attribute.to_owned(),
    }
}

fn compare(attribute: AttributePath, operator: ComparisonOperator, value: Kind) -> Filter {
    Filter {
        expr: Some(Expr::Comparison(Comparison {
            attribute: Some(attribute),
            operator: operator as i32,
            value: Some(FilterValue { kind: Some(value) }),
        })),
    }
}

fn text(value: &str) -> Kind {
    Kind::StringValue(value.to_owned())
}

fn present(attribute: AttributePath) -> Filter {
    Filter {
        expr: Some(Expr::Present(attribute)),
    }
}

fn and(filters: Vec<Filter>) -> Filter {
    Filter {
        expr: Some(Expr::And(FilterList { filters })),
    }
}

fn or(filters: Vec<Filter>) -> Filter {
    Filter {
        expr: Some(Expr::Or(FilterList { filters })),
    }
}

fn not(filter: Filter) -> Filter {
    Filter {
        expr: Some(Expr::Not(Box::new(filter))),
    }
}

fn value_path(attribute: AttributePath, filter: Filter) -> Filter {
    Filter {
        expr: Some(Expr::ValuePath(Box::new(ValuePathFilter {
            attribute: Some(attribute),
            filter: Some(Box::new(filter)),
        }))),
    }
}

use ComparisonOperator::{Co, Eq, Ew, Ge, Gt, Le, Lt, Ne, Sw};

/// Seeds three users and returns the workspace id and their `meta.created`
/// values as RFC 3339 strings.
async fn seed(ctx: &TestContext) -> (String, Vec<String>) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let ada = User {
        user_name: "ada@example.com".to_owned(),
        external_id: Some("EXT-Ada".to_owned()),
        display_name: Some("Ada Lovelace".to_owned()),
        title: Some("Counsel".to_owned()),
        active: Some(true),
        name: Some(Name {
            given_name: Some("Ada".to_owned()),
            ..Name::default()
        }),
        emails: vec![
            email("ada@example.com", "work", true),
            email("ada@home.example", "home", false),
        ],
        enterprise: Some(EnterpriseUser {
            department: Some("Litigation".to_owned()),
            manager: Some(Manager {
                value: Some("mgr-1".to_owned()),
                ..Manager::default()
            }),
            ..EnterpriseUser::default()
        }),
        ..User::default()
    };
    let bob = User {
        user_name: "Bob@Example.com".to_owned(),
        external_id: Some("ext-bob".to_owned()),
        display_name: Some("Émile Zola".to_owned()),
        active: Some(false),
        emails: vec![email("bob@example.com", "Work", false)],
        phone_numbers: vec![MultiValue {
            value: Some("+1 555 0100".to_owned()),
            r#type: Some("mobile".to_owned()),
            ..MultiValue::default()
        }],
        enterprise: Some(EnterpriseUser {
            department: Some("Tax".to_owned()),
            ..EnterpriseUser::default()
        }),
        ..User::default()
    };
    let cyd = User {
        user_name: "cyd_100%".to_owned(),
        display_name: Some("Cyd".to_owned()),
        title: Some(String::new()),
        active: Some(true),
        addresses: vec![Address {
            locality: Some("Berlin".to_owned()),
            r#type: Some("work".to_owned()),
            primary: Some(true),
            ..Address::default()
        }],
        ..User::default()
    };

    let mut created = Vec::new();
    for user in [ada, bob, cyd] {
        let stored = create(&ctx.service, &workspace_id, user).await;
        let at = stored.meta.unwrap().created.unwrap();
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos),
        )
        .unwrap();
        created.push(
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        );
        // Distinct creation times make the meta.created cases exact.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    (workspace_id, created)
}

/// Returns the short names (ada, bob, cyd) of the users matching `filter`.
async fn matching(ctx: &TestContext, workspace_id: &str, filter: Filter) -> Vec<String> {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        filter: Some(filter),
        count: 100,
        ..ListUsersRequest::default()
    };
    let response = ctx.service.list_users(request).await.unwrap();
    let mut names: Vec<String> = response
        .users
        .iter()
        .map(|user| user.user_name.to_lowercase()[..3].to_owned())
        .collect();
    names.sort();
    assert_eq!(response.total_results, names.len() as i64);
    names
}

async fn rejected_field(ctx: &TestContext, workspace_id: &str, filter: Filter) -> String {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        filter: Some(filter),
        count: 10,
        ..ListUsersRequest::default()
    };
    match ctx.service.list_users(request).await {
        Err(ServiceError::InvalidArgument { field, .. }) => field,
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

async fn eq_user_name_ignores_case(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let found = matching(
        &ctx,
        &workspace_id,
        compare(core("userName"), Eq, text("BOB@EXAMPLE.COM")),
    )
    .await;

    assert_eq!(found, ["bob"]);
}

async fn eq_external_id_is_case_exact(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let exact = matching(
        &ctx,
        &workspace_id,
        compare(core("externalId"), Eq, text("EXT-Ada")),
    )
    .await;
    let other_case = matching(
        &ctx,
        &workspace_id,
        compare(core("externalId"), Eq, text("ext-ada")),
    )
    .await;

    assert_eq!(exact, ["ada"]);
    assert!(other_case.is_empty());
}

async fn eq_non_ascii_ignores_case(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let found = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Eq, text("ÉMILE ZOLA")),
    )
    .await;

    assert_eq!(found, ["bob"]);
}

async fn ne_matches_missing_and_empty(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let found = matching(
        &ctx,
        &workspace_id,
        compare(core("title"), Ne, text("counsel")),
    )
    .await;

    assert_eq!(found, ["bob", "cyd"]);
}

async fn co_sw_ew_match_substrings(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let contains = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Co, text("ZOL")),
    )
    .await;
    let starts = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Sw, text("ada ")),
    )
    .await;
    let ends = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Ew, text("LACE")),
    )
    .await;

    assert_eq!(contains, ["bob"]);
    assert_eq!(starts, ["ada"]);
    assert_eq!(ends, ["ada"]);
}

async fn like_wildcards_match_literally(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let underscore = matching(
        &ctx,
        &workspace_id,
        compare(core("userName"), Co, text("_")),
    )
    .await;
    let percent = matching(
        &ctx,
        &workspace_id,
        compare(core("userName"), Ew, text("100%")),
    )
    .await;
    let bare_percent = matching(
        &ctx,
        &workspace_id,
        compare(core("userName"), Sw, text("%")),
    )
    .await;

    assert_eq!(underscore, ["cyd"]);
    assert_eq!(percent, ["cyd"]);
    assert!(bare_percent.is_empty());
}

async fn ordering_compares_code_points(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let greater = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Gt, text("b")),
    )
    .await;
    let greater_equal = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Ge, text("cyd")),
    )
    .await;
    let less = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Lt, text("b")),
    )
    .await;
    let less_equal = matching(
        &ctx,
        &workspace_id,
        compare(core("displayName"), Le, text("ada lovelace")),
    )
    .await;

    assert_eq!(greater, ["bob", "cyd"]);
    assert_eq!(greater_equal, ["bob", "cyd"]);
    assert_eq!(less, ["ada"]);
    assert_eq!(less_equal, ["ada"]);
}

async fn meta_timestamps_compare_chronologically(ctx: TestContext) {
    let (workspace_id, created) = seed(&ctx).await;

    let after_first = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("meta", "created"), Gt, text(&created[0])),
    )
    .await;
    let up_to_first = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("meta", "created"), Le, text(&created[0])),
    )
    .await;
    let modified = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("meta", "lastModified"), Ge, text(&created[1])),
    )
    .await;

    assert_eq!(after_first, ["bob", "cyd"]);
    assert_eq!(up_to_first, ["ada"]);
    assert_eq!(modified, ["bob", "cyd"]);
}

async fn pr_needs_non_empty_value(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let title = matching(&ctx, &workspace_id, present(core("title"))).await;
    let emails = matching(&ctx, &workspace_id, present(core("emails"))).await;
    let name = matching(&ctx, &workspace_id, present(core("name"))).await;
    let external_id = matching(&ctx, &workspace_id, present(core("externalId"))).await;

    assert_eq!(title, ["ada"]);
    assert_eq!(emails, ["ada", "bob"]);
    assert_eq!(name, ["ada"]);
    assert_eq!(external_id, ["ada", "bob"]);
}

async fn eq_null_means_absent(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let found = matching(
        &ctx,
        &workspace_id,
        compare(core("title"), Eq, Kind::NullValue(true)),
    )
    .await;

    assert_eq!(found, ["bob", "cyd"]);
}

async fn active_compares_as_boolean(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let active = matching(
        &ctx,
        &workspace_id,
        compare(core("active"), Eq, Kind::BoolValue(true)),
    )
    .await;
    let inactive = matching(
        &ctx,
        &workspace_id,
        compare(core("active"), Ne, Kind::BoolValue(true)),
    )
    .await;

    assert_eq!(active, ["ada", "cyd"]);
    assert_eq!(inactive, ["bob"]);
}

async fn multi_valued_without_sub_means_value(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let equal = matching(
        &ctx,
        &workspace_id,
        compare(core("emails"), Eq, text("BOB@example.com")),
    )
    .await;
    let not_equal = matching(
        &ctx,
        &workspace_id,
        compare(core("emails"), Ne, text("bob@example.com")),
    )
    .await;

    assert_eq!(equal, ["bob"]);
    assert_eq!(not_equal, ["ada", "cyd"]);
}

async fn multi_valued_sub_attributes_match_any_element(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let email_type = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("emails", "type"), Eq, text("WORK")),
    )
    .await;
    let phone = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("phoneNumbers", "value"), Sw, text("+1")),
    )
    .await;
    let primary = matching(
        &ctx,
        &workspace_id,
        compare(core_sub("addresses", "primary"), Eq, Kind::BoolValue(true)),
    )
    .await;

    assert_eq!(email_type, ["ada", "bob"]);
    assert_eq!(phone, ["bob"]);
    assert_eq!(primary, ["cyd"]);
}

async fn value_path_tests_one_element(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;
    let work_at_example = value_path(
        core("emails"),
        and(vec![
            compare(core("type"), Eq, text("work")),
            compare(core("value"), Ew, text("@example.com")),
        ]),
    );
    // Ada has a home email and an example.com email, but not in one element.
    let home_at_example = value_path(
        core("emails"),
        and(vec![
            compare(core("type"), Eq, text("home")),
            compare(core("value"), Ew, text("@example.com")),
        ]),
    );

    let work = matching(&ctx, &workspace_id, work_at_example).await;
    let home = matching(&ctx, &workspace_id, home_at_example).await;
    let primary = matching(
        &ctx,
        &workspace_id,
        value_path(
            core("emails"),
            compare(core("primary"), Eq, Kind::BoolValue(true)),
        ),
    )
    .await;
    let address = matching(
        &ctx,
        &workspace_id,
        value_path(
            core("addresses"),
            compare(core("locality"), Eq, text("berlin")),
        ),
    )
    .await;

    assert_eq!(work, ["ada", "bob"]);
    assert!(home.is_empty());
    assert_eq!(primary, ["ada"]);
    assert_eq!(address, ["cyd"]);
}

async fn enterprise_attributes_match(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let department = matching(
        &ctx,
        &workspace_id,
        compare(enterprise("department", ""), Eq, text("litigation")),
    )
    .await;
    let manager = matching(
        &ctx,
        &workspace_id,
        compare(enterprise("manager", "value"), Eq, text("MGR-1")),
    )
    .await;
    let manager_present = matching(&ctx, &workspace_id, present(enterprise("manager", ""))).await;

    assert_eq!(department, ["ada"]);
    assert_eq!(manager, ["ada"]);
    assert_eq!(manager_present, ["ada"]);
}

async fn logical_operators_combine(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;

    let both = matching(
        &ctx,
        &workspace_id,
        and(vec![
            compare(core("active"), Eq, Kind::BoolValue(true)),
            present(core("title")),
        ]),
    )
    .await;
    let either = matching(
        &ctx,
        &workspace_id,
        or(vec![
            compare(core("userName"), Sw, text("bob")),
            compare(core("displayName"), Eq, text("cyd")),
        ]),
    )
    .await;
    let negated = matching(&ctx, &workspace_id, not(present(core("emails")))).await;
    let nested = matching(
        &ctx,
        &workspace_id,
        not(or(vec![
            compare(core("userName"), Sw, text("ada")),
            compare(enterprise("department", ""), Eq, text("tax")),
        ])),
    )
    .await;

    assert_eq!(both, ["ada"]);
    assert_eq!(either, ["bob", "cyd"]);
    assert_eq!(negated, ["cyd"]);
    assert_eq!(nested, ["cyd"]);
}

async fn unsupported_filters_rejected(ctx: TestContext) {
    let (workspace_id, _) = seed(&ctx).await;
    let cases = [
        compare(core("password"), Eq, text("x")),
        compare(core("active"), Gt, Kind::BoolValue(true)),
        compare(core("active"), Eq, text("true")),
        compare(core_sub("meta", "created"), Co, text("2026")),
        compare(core_sub("meta", "created"), Gt, text("yesterday")),
        compare(core("name"), Eq, text("ada")),
        compare(core("addresses"), Eq, text("berlin")),
        value_path(core("title"), compare(core("value"), Eq, text("x"))),
        value_path(core("emails"), compare(core("unknown"), Eq, text("x"))),
        Filter { expr: None },
    ];

    for filter in cases {
        let description = format!("{filter:?}");
        assert_eq!(
            rejected_field(&ctx, &workspace_id, filter).await,
            "filter",
            "{description}"
        );
    }
}

crate::engine_tests!(
    eq_user_name_ignores_case,
    eq_external_id_is_case_exact,
    eq_non_ascii_ignores_case,
    ne_matches_missing_and_empty,
    co_sw_ew_match_substrings,
    like_wildcards_match_literally,
    ordering_compares_code_points,
    meta_timestamps_compare_chronologically,
    pr_needs_non_empty_value,
    eq_null_means_absent,
    active_compares_as_boolean,
    multi_valued_without_sub_means_value,
    multi_valued_sub_attributes_match_any_element,
    value_path_tests_one_element,
    enterprise_attributes_match,
    logical_operators_combine,
    unsupported_filters_rejected,
);
