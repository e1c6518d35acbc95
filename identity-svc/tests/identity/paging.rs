//! Paging and sorting suite on both engines.

use proto::identity::v1::{AttributePath, AttributeSchema, ListUsersRequest, SortOrder, User};

use crate::support::{TestContext, create, user, workspace};

fn sort_path(name: &str) -> AttributePath {
    AttributePath {
        schema: AttributeSchema::Core as i32,
        name: name.to_owned(),
        sub_attribute: String::new(),
    }
}

/// Creates users u1..u5 in that order and returns the workspace id.
async fn seed(ctx: &TestContext) -> String {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    for index in 1..=5 {
        let mut member = user(&format!("u{index}"));
        member.title = Some("Associate".to_owned());
        if index % 2 == 1 {
            member.display_name = Some(format!("Person {index}"));
        }
        create(&ctx.service, &workspace_id, member).await;
    }
    workspace_id
}

async fn page(ctx: &TestContext, request: ListUsersRequest) -> (Vec<String>, i64) {
    let response = ctx.service.list_users(request).await.unwrap();
    let names = response
        .users
        .into_iter()
        .map(|user: User| user.user_name)
        .collect();
    (names, response.total_results)
}

fn request(workspace_id: &str, start_index: i64, count: i64) -> ListUsersRequest {
    ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        start_index,
        count,
        ..ListUsersRequest::default()
    }
}

async fn page_starts_at_one_based_index(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (names, total) = page(&ctx, request(&workspace_id, 2, 2)).await;

    assert_eq!(names, ["u2", "u3"]);
    assert_eq!(total, 5);
}

async fn start_index_below_one_means_one(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (names, _) = page(&ctx, request(&workspace_id, 0, 1)).await;

    assert_eq!(names, ["u1"]);
}

async fn count_zero_returns_only_total(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (names, total) = page(&ctx, request(&workspace_id, 1, 0)).await;

    assert!(names.is_empty());
    assert_eq!(total, 5);
}

async fn page_past_end_is_empty(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (names, total) = page(&ctx, request(&workspace_id, 6, 10)).await;

    assert!(names.is_empty());
    assert_eq!(total, 5);
}

async fn default_sort_is_creation_order(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (ascending, _) = page(&ctx, request(&workspace_id, 1, 10)).await;
    let (descending, _) = page(
        &ctx,
        ListUsersRequest {
            sort_order: SortOrder::Descending as i32,
            ..request(&workspace_id, 1, 10)
        },
    )
    .await;

    assert_eq!(ascending, ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(descending, ["u5", "u4", "u3", "u2", "u1"]);
}

async fn sort_by_user_name_descending(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (names, _) = page(
        &ctx,
        ListUsersRequest {
            sort_by: Some(sort_path("userName")),
            sort_order: SortOrder::Descending as i32,
            ..request(&workspace_id, 1, 10)
        },
    )
    .await;

    assert_eq!(names, ["u5", "u4", "u3", "u2", "u1"]);
}

async fn sort_ties_break_by_id(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;
    let all = ctx
        .service
        .list_users(request(&workspace_id, 1, 10))
        .await
        .unwrap()
        .users;
    let mut by_id: Vec<(String, String)> = all
        .into_iter()
        .map(|user| (user.id, user.user_name))
        .collect();
    by_id.sort();
    let expected: Vec<String> = by_id.into_iter().map(|(_, name)| name).collect();

    let (names, _) = page(
        &ctx,
        ListUsersRequest {
            sort_by: Some(sort_path("title")),
            ..request(&workspace_id, 1, 10)
        },
    )
    .await;

    assert_eq!(names, expected);
}

async fn sort_puts_missing_values_last(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let (ascending, _) = page(
        &ctx,
        ListUsersRequest {
            sort_by: Some(sort_path("displayName")),
            ..request(&workspace_id, 1, 10)
        },
    )
    .await;
    let (descending, _) = page(
        &ctx,
        ListUsersRequest {
            sort_by: Some(sort_path("displayName")),
            sort_order: SortOrder::Descending as i32,
            ..request(&workspace_id, 1, 10)
        },
    )
    .await;

    assert_eq!(ascending, ["u1", "u3", "u5", "u2", "u4"]);
    assert_eq!(descending, ["u5", "u3", "u1", "u2", "u4"]);
}

async fn sort_by_multi_valued_rejected(ctx: TestContext) {
    let workspace_id = seed(&ctx).await;

    let result = ctx
        .service
        .list_users(ListUsersRequest {
            sort_by: Some(sort_path("emails")),
            ..request(&workspace_id, 1, 10)
        })
        .await;

    assert!(
        matches!(&result, Err(identity_svc::ServiceError::InvalidArgument { field, .. }) if field == "sortBy"),
        "{result:?}"
    );
}

crate::engine_tests!(
    page_starts_at_one_based_index,
    start_index_below_one_means_one,
    count_zero_returns_only_total,
    page_past_end_is_empty,
    default_sort_is_creation_order,
    sort_by_user_name_descending,
    sort_ties_break_by_id,
    sort_puts_missing_values_last,
    sort_by_multi_valued_rejected,
);
