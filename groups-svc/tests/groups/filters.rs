//! Filter, sort and paging suite for ListGroups, and cursor paging of
//! ListMembers. Every test runs on SQLite and on PostgreSQL.

use groups_svc::ServiceError;
use proto::groups::v1::{ListGroupsRequest, ListMembersRequest};
use proto::identity::v1::{
    AttributePath, AttributeSchema, Comparison, ComparisonOperator, Filter, FilterList,
    FilterValue, SortOrder, ValuePathFilter, filter::Expr, filter_value::Kind,
};

use crate::support::{TestContext, create, ids, workspace};

fn path(name: &str, sub_attribute: &str) -> AttributePath {
    AttributePath {
        schema: AttributeSchema::Core as i32,
        name: name.to_owned(),
        sub_attribute: sub_attribute.to_owned(),
    }
}

fn compare(name: &str, sub_attribute: &str, operator: ComparisonOperator, value: &str) -> Filter {
    Filter {
        expr: Some(Expr::Comparison(Comparison {
            attribute: Some(path(name, sub_attribute)),
            operator: operator as i32,
            value: Some(FilterValue {
                kind: Some(Kind::StringValue(value.to_owned())),
            }),
        })),
    }
}

fn eq(name: &str, value: &str) -> Filter {
    compare(name, "", ComparisonOperator::Eq, value)
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

fn present(name: &str) -> Filter {
    Filter {
        expr: Some(Expr::Present(path(name, ""))),
    }
}

fn members_value_path(inner: Filter) -> Filter {
    Filter {
        expr: Some(Expr::ValuePath(Box::new(ValuePathFilter {
            attribute: Some(path("members", "")),
            filter: Some(Box::new(inner)),
        }))),
    }
}

fn list_request(workspace_id: &str, filter: Option<Filter>) -> ListGroupsRequest {
    ListGroupsRequest {
        workspace_id: workspace_id.to_owned(),
        filter,
        count: 100,
        ..ListGroupsRequest::default()
    }
}

/// Returns the display names matching `filter`, in the default order.
async fn names(ctx: &TestContext, workspace_id: &str, filter: Filter) -> Vec<String> {
    let response = ctx
        .service
        .list_groups(list_request(workspace_id, Some(filter)))
        .await
        .unwrap();
    response
        .groups
        .into_iter()
        .map(|group| group.display_name)
        .collect()
}

/// Creates the fixture groups: Sales {u1, u2}, Straße {u2}, Legal {} with
/// externalId EXT-L, created in that order.
async fn fixture(ctx: &TestContext) -> (String, Vec<String>) {
    let workspace_id = workspace();
    let sales = create(&ctx.service, &workspace_id, "Sales", &["u1", "u2"]).await;
    let strasse = create(&ctx.service, &workspace_id, "Straße", &["u2"]).await;
    let legal = ctx
        .service
        .create_group(proto::groups::v1::CreateGroupRequest {
            workspace_id: workspace_id.clone(),
            display_name: "Legal".to_owned(),
            external_id: Some("EXT-L".to_owned()),
            members: Vec::new(),
        })
        .await
        .unwrap();
    (workspace_id, vec![sales.id, strasse.id, legal.id])
}

async fn display_name_eq_ignores_case(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    assert_eq!(
        names(&ctx, &workspace_id, eq("displayName", "SALES")).await,
        ids(&["Sales"])
    );
    assert_eq!(
        names(&ctx, &workspace_id, eq("displayName", "STRASSE")).await,
        ids(&["Straße"])
    );
}

async fn external_id_eq_is_case_exact(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    assert_eq!(
        names(&ctx, &workspace_id, eq("externalId", "EXT-L")).await,
        ids(&["Legal"])
    );
    assert!(
        names(&ctx, &workspace_id, eq("externalId", "ext-l"))
            .await
            .is_empty()
    );
}

async fn id_eq_finds_one(ctx: TestContext) {
    let (workspace_id, group_ids) = fixture(&ctx).await;

    assert_eq!(
        names(&ctx, &workspace_id, eq("id", &group_ids[1])).await,
        ids(&["Straße"])
    );
}

async fn members_eq_finds_groups_of_user(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    assert_eq!(
        names(&ctx, &workspace_id, eq("members", "u2")).await,
        ids(&["Sales", "Straße"])
    );
    let by_value = compare("members", "value", ComparisonOperator::Eq, "u1");
    assert_eq!(names(&ctx, &workspace_id, by_value).await, ids(&["Sales"]));
}

async fn id_and_members_eq_combined(ctx: TestContext) {
    let (workspace_id, group_ids) = fixture(&ctx).await;

    let member = and(vec![eq("id", &group_ids[0]), eq("members", "u1")]);
    let not_member = and(vec![eq("id", &group_ids[1]), eq("members", "u1")]);

    assert_eq!(names(&ctx, &workspace_id, member).await, ids(&["Sales"]));
    assert!(names(&ctx, &workspace_id, not_member).await.is_empty());
}

async fn members_value_path_matches(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    let filter = members_value_path(eq("value", "u1"));

    assert_eq!(names(&ctx, &workspace_id, filter).await, ids(&["Sales"]));
}

async fn members_ne_and_present(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    let without_u1 = compare("members", "", ComparisonOperator::Ne, "u1");

    assert_eq!(
        names(&ctx, &workspace_id, without_u1).await,
        ids(&["Straße", "Legal"])
    );
    assert_eq!(
        names(&ctx, &workspace_id, present("members")).await,
        ids(&["Sales", "Straße"])
    );
    assert_eq!(
        names(&ctx, &workspace_id, not(present("externalId"))).await,
        ids(&["Sales", "Straße"])
    );
}

async fn string_operators_on_display_name(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;
    let cases = [
        (ComparisonOperator::Co, "AL", vec!["Sales", "Legal"]),
        (ComparisonOperator::Sw, "st", vec!["Straße"]),
        (ComparisonOperator::Ew, "GAL", vec!["Legal"]),
        (ComparisonOperator::Gt, "s", vec!["Sales", "Straße"]),
        (ComparisonOperator::Le, "legal", vec!["Legal"]),
    ];

    for (operator, value, expected) in cases {
        let filter = compare("displayName", "", operator, value);

        assert_eq!(
            names(&ctx, &workspace_id, filter).await,
            ids(&expected),
            "{operator:?} {value}"
        );
    }
}

async fn or_combines_conditions(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    let filter = or(vec![eq("displayName", "legal"), eq("members", "u1")]);

    assert_eq!(
        names(&ctx, &workspace_id, filter).await,
        ids(&["Sales", "Legal"])
    );
}

async fn meta_created_compares_timestamps(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;

    let after_epoch = compare(
        "meta",
        "created",
        ComparisonOperator::Gt,
        "2000-01-01T00:00:00Z",
    );
    let before_epoch = compare(
        "meta",
        "lastModified",
        ComparisonOperator::Lt,
        "2000-01-01T00:00:00Z",
    );

    assert_eq!(names(&ctx, &workspace_id, after_epoch).await.len(), 3);
    assert!(names(&ctx, &workspace_id, before_epoch).await.is_empty());
}

async fn unknown_attributes_rejected(ctx: TestContext) {
    let workspace_id = workspace();
    let bad = [
        eq("userName", "x"),
        compare("members", "display", ComparisonOperator::Eq, "x"),
        members_value_path(eq("display", "x")),
        compare("meta", "created", ComparisonOperator::Co, "2000"),
        compare("meta", "created", ComparisonOperator::Eq, "yesterday"),
    ];

    for filter in bad {
        let result = ctx
            .service
            .list_groups(list_request(&workspace_id, Some(filter.clone())))
            .await;

        assert!(
            matches!(result, Err(ServiceError::InvalidArgument { ref field, .. }) if field == "filter"),
            "{filter:?}: {result:?}"
        );
    }
}

async fn paging_is_one_based(ctx: TestContext) {
    let workspace_id = workspace();
    for name in ["g1", "g2", "g3", "g4", "g5"] {
        create(&ctx.service, &workspace_id, name, &[]).await;
    }
    let page = |start_index, count| ListGroupsRequest {
        workspace_id: workspace_id.clone(),
        start_index,
        count,
        ..ListGroupsRequest::default()
    };

    let second = ctx.service.list_groups(page(2, 2)).await.unwrap();
    let totals_only = ctx.service.list_groups(page(1, 0)).await.unwrap();
    let past_end = ctx.service.list_groups(page(9, 2)).await.unwrap();

    let second_names: Vec<String> = second
        .groups
        .into_iter()
        .map(|group| group.display_name)
        .collect();
    assert_eq!(second_names, ids(&["g2", "g3"]));
    assert_eq!(second.total_results, 5);
    assert!(totals_only.groups.is_empty());
    assert_eq!(totals_only.total_results, 5);
    assert!(past_end.groups.is_empty());
}

async fn sort_by_display_name_descending(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;
    let request = ListGroupsRequest {
        sort_by: Some(path("displayName", "")),
        sort_order: SortOrder::Descending as i32,
        ..list_request(&workspace_id, None)
    };

    let response = ctx.service.list_groups(request).await.unwrap();

    let sorted: Vec<String> = response
        .groups
        .into_iter()
        .map(|group| group.display_name)
        .collect();
    assert_eq!(sorted, ids(&["Straße", "Sales", "Legal"]));
}

async fn sort_by_members_rejected(ctx: TestContext) {
    let request = ListGroupsRequest {
        sort_by: Some(path("members", "")),
        ..list_request(&workspace(), None)
    };

    let result = ctx.service.list_groups(request).await;

    assert!(
        matches!(result, Err(ServiceError::InvalidArgument { ref field, .. }) if field == "sortBy"),
        "{result:?}"
    );
}

async fn list_includes_members_only_when_asked(ctx: TestContext) {
    let (workspace_id, _) = fixture(&ctx).await;
    let with = ListGroupsRequest {
        include_members: true,
        ..list_request(&workspace_id, Some(eq("displayName", "sales")))
    };

    let without = ctx
        .service
        .list_groups(list_request(
            &workspace_id,
            Some(eq("displayName", "sales")),
        ))
        .await
        .unwrap();
    let with = ctx.service.list_groups(with).await.unwrap();

    assert!(without.groups[0].members.is_empty());
    assert_eq!(without.groups[0].member_count, 2);
    let member_values: Vec<String> = with.groups[0]
        .members
        .iter()
        .map(|member| member.value.clone())
        .collect();
    assert_eq!(member_values, ids(&["u1", "u2"]));
}

async fn list_members_pages_by_user_id(ctx: TestContext) {
    let workspace_id = workspace();
    let user_ids: Vec<String> = (0..25).map(|index| format!("user-{index:03}")).collect();
    let user_refs: Vec<&str> = user_ids.iter().map(String::as_str).collect();
    let group = create(&ctx.service, &workspace_id, "Big", &user_refs).await;

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let response = ctx
            .service
            .list_members(ListMembersRequest {
                workspace_id: workspace_id.clone(),
                group_id: group.id.clone(),
                page_size: 10,
                page_token: token.clone(),
            })
            .await
            .unwrap();
        pages += 1;
        seen.extend(response.members.into_iter().map(|member| member.value));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }

    assert_eq!(pages, 3);
    assert_eq!(seen, user_ids);
}

async fn list_members_rejects_bad_requests(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;
    let request = |group_id: &str, page_size, page_token: &str| ListMembersRequest {
        workspace_id: workspace_id.clone(),
        group_id: group_id.to_owned(),
        page_size,
        page_token: page_token.to_owned(),
    };

    let bad_token = ctx
        .service
        .list_members(request(&group.id, 10, "not-hex"))
        .await;
    let negative = ctx.service.list_members(request(&group.id, -1, "")).await;
    let missing = ctx.service.list_members(request("missing", 10, "")).await;
    let capped = ctx
        .service
        .list_members(request(&group.id, 5_000, ""))
        .await
        .unwrap();

    assert!(
        matches!(bad_token, Err(ServiceError::InvalidArgument { ref field, .. }) if field == "page_token")
    );
    assert!(
        matches!(negative, Err(ServiceError::InvalidArgument { ref field, .. }) if field == "page_size")
    );
    assert!(matches!(missing, Err(ServiceError::GroupNotFound(_))));
    assert_eq!(capped.members.len(), 1);
}

crate::engine_tests!(
    display_name_eq_ignores_case,
    external_id_eq_is_case_exact,
    id_eq_finds_one,
    members_eq_finds_groups_of_user,
    id_and_members_eq_combined,
    members_value_path_matches,
    members_ne_and_present,
    string_operators_on_display_name,
    or_combines_conditions,
    meta_created_compares_timestamps,
    unknown_attributes_rejected,
    paging_is_one_based,
    sort_by_display_name_descending,
    sort_by_members_rejected,
    list_includes_members_only_when_asked,
    list_members_pages_by_user_id,
    list_members_rejects_bad_requests,
);
