//! Manual User Groups: create, read, list, rename, delete, and set-based
//! member changes, each with exactly its events, input checks that change
//! nothing, and tenant isolation. Every test runs on SQLite and on
//! PostgreSQL.

use groups_svc::{MAX_USER_GROUP_NAME_CHARS, MAX_USER_IDS_PER_REQUEST, ServiceError};
use proto::events::v1::actor::Kind;
use proto::groups::v1::{
    DeleteUserGroupRequest, ListUserGroupMembersRequest, ListUserGroupsRequest,
    RenameUserGroupRequest, UserGroupSource,
};

use crate::support::{TestContext, create, events, ids, kinds, workspace};
use crate::user_group_support::{
    ADMIN, add_members, add_request, create_request, create_user_group, events_of, get_user_group,
    is_user_group_member, members_changed, remove_members, remove_request, sync_on,
    user_group_created, user_group_deleted, user_group_member_ids, user_group_renamed,
};

fn rename_request(workspace_id: &str, user_group_id: &str, name: &str) -> RenameUserGroupRequest {
    RenameUserGroupRequest {
        workspace_id: workspace_id.to_owned(),
        user_group_id: user_group_id.to_owned(),
        name: name.to_owned(),
        actor: ADMIN.to_owned(),
    }
}

fn delete_request(workspace_id: &str, user_group_id: &str) -> DeleteUserGroupRequest {
    DeleteUserGroupRequest {
        workspace_id: workspace_id.to_owned(),
        user_group_id: user_group_id.to_owned(),
        actor: ADMIN.to_owned(),
    }
}

fn list_request(
    workspace_id: &str,
    source: UserGroupSource,
    page_size: i32,
) -> ListUserGroupsRequest {
    ListUserGroupsRequest {
        workspace_id: workspace_id.to_owned(),
        source: source as i32,
        page_size,
        page_token: String::new(),
    }
}

/// Returns the names of every User Group of the workspace, paging through
/// ListUserGroups with `page_size`.
async fn all_names(ctx: &TestContext, workspace_id: &str, page_size: i32) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut request = list_request(workspace_id, UserGroupSource::Unspecified, page_size);
    loop {
        let page = ctx.service.list_user_groups(request.clone()).await.unwrap();
        pages += 1;
        names.extend(
            page.user_groups
                .into_iter()
                .map(|user_group| user_group.name),
        );
        if page.next_page_token.is_empty() {
            return (names, pages);
        }
        request.page_token = page.next_page_token;
    }
}

fn is_invalid(error: &ServiceError, expected_field: &str) -> bool {
    matches!(error, ServiceError::InvalidArgument { field, .. } if field == expected_field)
}

async fn create_then_get_round_trip(ctx: TestContext) {
    let workspace_id = workspace();

    let created = create_user_group(&ctx.service, &workspace_id, "Partners").await;
    let read = get_user_group(&ctx.service, &workspace_id, &created.id)
        .await
        .unwrap();

    assert_eq!(read, created);
    assert_eq!(read.name, "Partners");
    assert_eq!(read.source, UserGroupSource::Manual as i32);
    assert!(read.idp_group_id.is_empty());
    assert_eq!(read.member_count, 0);
    assert_eq!(read.version, 1);
}

async fn create_writes_user_group_created(ctx: TestContext) {
    let workspace_id = workspace();

    let created = create_user_group(&ctx.service, &workspace_id, "Partners").await;

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["user_group_created"]);
    assert_eq!(recorded[0].aggregate_type, "user_group");
    assert_eq!(recorded[0].aggregate_id, created.id);
    let payload = user_group_created(&recorded[0]);
    assert_eq!(payload.name, "Partners");
    assert_eq!(payload.source, "manual");
    assert!(payload.idp_group_id.is_empty());
    assert!(payload.member_ids.is_empty());
    assert_eq!(payload.member_count, 0);
}

async fn request_actor_stamped_on_events(ctx: TestContext) {
    let workspace_id = workspace();

    create_user_group(&ctx.service, &workspace_id, "Partners").await;

    let recorded = events(&ctx.service, &workspace_id).await;
    let actor = recorded[0].actor.clone().unwrap();
    assert_eq!(actor.kind(), Kind::Admin);
    assert_eq!(actor.id, ADMIN);
}

async fn names_need_not_be_unique(ctx: TestContext) {
    let workspace_id = workspace();

    let first = create_user_group(&ctx.service, &workspace_id, "Team").await;
    let second = create_user_group(&ctx.service, &workspace_id, "Team").await;

    assert_ne!(first.id, second.id);
    assert_eq!(second.name, "Team");
}

async fn invalid_names_rejected(ctx: TestContext) {
    let workspace_id = workspace();
    let too_long = "n".repeat(MAX_USER_GROUP_NAME_CHARS + 1);

    for name in ["", "   ", too_long.as_str(), "a\0b"] {
        let error = ctx
            .service
            .create_user_group(create_request(&workspace_id, name))
            .await
            .unwrap_err();
        assert!(is_invalid(&error, "name"), "{name:?}: {error:?}");
    }

    let (names, _) = all_names(&ctx, &workspace_id, 10).await;
    assert!(names.is_empty());
    assert!(events(&ctx.service, &workspace_id).await.is_empty());
}

async fn longest_name_accepted(ctx: TestContext) {
    let workspace_id = workspace();
    let longest = "é".repeat(MAX_USER_GROUP_NAME_CHARS);

    let created = create_user_group(&ctx.service, &workspace_id, &longest).await;

    assert_eq!(created.name, longest);
}

async fn rename_writes_user_group_renamed(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Old").await;

    let renamed = ctx
        .service
        .rename_user_group(rename_request(&workspace_id, &created.id, "New"))
        .await
        .unwrap();

    assert_eq!(renamed.name, "New");
    assert_eq!(renamed.version, 2);
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(
        kinds(&recorded),
        vec!["user_group_created", "user_group_renamed"]
    );
    let payload = user_group_renamed(&recorded[1]);
    assert_eq!(payload.previous_name, "Old");
    assert_eq!(payload.name, "New");
}

async fn rename_to_same_name_changes_nothing(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Same").await;

    let renamed = ctx
        .service
        .rename_user_group(rename_request(&workspace_id, &created.id, "Same"))
        .await
        .unwrap();

    assert_eq!(renamed.version, 1);
    assert_eq!(events(&ctx.service, &workspace_id).await.len(), 1);
}

async fn rename_with_invalid_name_changes_nothing(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Kept").await;

    let error = ctx
        .service
        .rename_user_group(rename_request(&workspace_id, &created.id, " "))
        .await
        .unwrap_err();

    assert!(is_invalid(&error, "name"), "{error:?}");
    let read = get_user_group(&ctx.service, &workspace_id, &created.id)
        .await
        .unwrap();
    assert_eq!(read.name, "Kept");
    assert_eq!(read.version, 1);
}

async fn add_reports_only_new_members(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Team").await;

    let first = add_members(&ctx.service, &workspace_id, &created.id, &["a", "b"]).await;
    let second = add_members(&ctx.service, &workspace_id, &created.id, &["b", "c", "c"]).await;
    let repeated = add_members(&ctx.service, &workspace_id, &created.id, &["a"]).await;

    assert_eq!(first.added_user_ids, ids(&["a", "b"]));
    assert_eq!(second.added_user_ids, ids(&["c"]));
    assert!(repeated.added_user_ids.is_empty());
    let after = repeated.user_group.unwrap();
    assert_eq!(after.member_count, 3);
    assert_eq!(
        after.version, 3,
        "the add of a present member bumps nothing"
    );
    assert_eq!(
        user_group_member_ids(&ctx.service, &workspace_id, &created.id).await,
        ids(&["a", "b", "c"])
    );
}

async fn add_writes_members_changed_per_change(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Team").await;

    add_members(&ctx.service, &workspace_id, &created.id, &["a", "b"]).await;
    add_members(&ctx.service, &workspace_id, &created.id, &["b", "c"]).await;
    add_members(&ctx.service, &workspace_id, &created.id, &["a"]).await;

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(
        kinds(&recorded),
        vec![
            "user_group_created",
            "user_group_members_changed",
            "user_group_members_changed"
        ]
    );
    assert_eq!(
        members_changed(&recorded[1]).added_member_ids,
        ids(&["a", "b"])
    );
    assert_eq!(members_changed(&recorded[2]).added_member_ids, ids(&["c"]));
    assert!(members_changed(&recorded[2]).removed_member_ids.is_empty());
    assert!(members_changed(&recorded[2]).idp_group_id.is_empty());
}

async fn remove_reports_only_present_members(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Team").await;
    add_members(&ctx.service, &workspace_id, &created.id, &["a", "b", "c"]).await;

    let removed = remove_members(&ctx.service, &workspace_id, &created.id, &["b", "ghost"]).await;
    let absent = remove_members(&ctx.service, &workspace_id, &created.id, &["ghost"]).await;

    assert_eq!(removed.removed_user_ids, ids(&["b"]));
    assert!(absent.removed_user_ids.is_empty());
    let after = absent.user_group.unwrap();
    assert_eq!(after.member_count, 2);
    assert_eq!(after.version, 3);
    assert_eq!(
        user_group_member_ids(&ctx.service, &workspace_id, &created.id).await,
        ids(&["a", "c"])
    );
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(
        recorded.len(),
        3,
        "the remove of an absent member writes nothing"
    );
    assert_eq!(
        members_changed(&recorded[2]).removed_member_ids,
        ids(&["b"])
    );
    assert!(members_changed(&recorded[2]).added_member_ids.is_empty());
}

async fn too_many_user_ids_rejected(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Big").await;
    let too_many: Vec<String> = (0..=MAX_USER_IDS_PER_REQUEST)
        .map(|index| format!("user-{index:05}"))
        .collect();

    let mut add = add_request(&workspace_id, &created.id, &[]);
    add.user_ids = too_many.clone();
    let add_error = ctx.service.add_user_group_members(add).await.unwrap_err();
    let mut remove = remove_request(&workspace_id, &created.id, &[]);
    remove.user_ids = too_many;
    let remove_error = ctx
        .service
        .remove_user_group_members(remove)
        .await
        .unwrap_err();

    assert!(is_invalid(&add_error, "user_ids"), "{add_error:?}");
    assert!(is_invalid(&remove_error, "user_ids"), "{remove_error:?}");
    let read = get_user_group(&ctx.service, &workspace_id, &created.id)
        .await
        .unwrap();
    assert_eq!(read.member_count, 0);
    assert_eq!(read.version, 1);
}

async fn max_user_ids_accepted(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Big").await;
    let mut add = add_request(&workspace_id, &created.id, &[]);
    add.user_ids = (0..MAX_USER_IDS_PER_REQUEST)
        .map(|index| format!("user-{index:05}"))
        .collect();

    let response = ctx.service.add_user_group_members(add).await.unwrap();

    assert_eq!(response.added_user_ids.len(), MAX_USER_IDS_PER_REQUEST);
    assert_eq!(
        response.user_group.unwrap().member_count,
        MAX_USER_IDS_PER_REQUEST as i64
    );
}

async fn empty_user_id_rejected(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Team").await;

    let error = ctx
        .service
        .add_user_group_members(add_request(&workspace_id, &created.id, &["a", ""]))
        .await
        .unwrap_err();

    assert!(is_invalid(&error, "user_ids"), "{error:?}");
    assert!(
        user_group_member_ids(&ctx.service, &workspace_id, &created.id)
            .await
            .is_empty()
    );
}

async fn delete_removes_group_and_members(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Doomed").await;
    add_members(&ctx.service, &workspace_id, &created.id, &["a"]).await;

    ctx.service
        .delete_user_group(delete_request(&workspace_id, &created.id))
        .await
        .unwrap();

    let read = get_user_group(&ctx.service, &workspace_id, &created.id).await;
    assert!(
        matches!(read, Err(ServiceError::UserGroupNotFound(_))),
        "{read:?}"
    );
    assert!(!is_user_group_member(&ctx.service, &workspace_id, &created.id, "a").await);
    let members = ctx
        .service
        .list_user_group_members(ListUserGroupMembersRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: created.id.clone(),
            ..ListUserGroupMembersRequest::default()
        })
        .await;
    assert!(
        matches!(members, Err(ServiceError::UserGroupNotFound(_))),
        "{members:?}"
    );
}

async fn delete_writes_user_group_deleted(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Doomed").await;
    add_members(&ctx.service, &workspace_id, &created.id, &["a", "b"]).await;

    ctx.service
        .delete_user_group(delete_request(&workspace_id, &created.id))
        .await
        .unwrap();
    let again = ctx
        .service
        .delete_user_group(delete_request(&workspace_id, &created.id))
        .await;

    assert!(
        matches!(again, Err(ServiceError::UserGroupNotFound(_))),
        "{again:?}"
    );
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(recorded.len(), 3, "the second delete writes nothing");
    let payload = user_group_deleted(&recorded[2]);
    assert_eq!(payload.cause, "admin");
    assert_eq!(payload.name, "Doomed");
    assert_eq!(payload.member_count, 2);
}

async fn other_workspace_sees_not_found(ctx: TestContext) {
    let owner = workspace();
    let intruder = workspace();
    let created = create_user_group(&ctx.service, &owner, "Private").await;
    add_members(&ctx.service, &owner, &created.id, &["a"]).await;
    let random_id = uuid::Uuid::now_v7().to_string();

    for user_group_id in [created.id.as_str(), random_id.as_str()] {
        let read = get_user_group(&ctx.service, &intruder, user_group_id).await;
        let renamed = ctx
            .service
            .rename_user_group(rename_request(&intruder, user_group_id, "Taken"))
            .await;
        let added = ctx
            .service
            .add_user_group_members(add_request(&intruder, user_group_id, &["x"]))
            .await;
        let removed = ctx
            .service
            .remove_user_group_members(remove_request(&intruder, user_group_id, &["a"]))
            .await;
        let deleted = ctx
            .service
            .delete_user_group(delete_request(&intruder, user_group_id))
            .await;

        assert!(
            matches!(read, Err(ServiceError::UserGroupNotFound(_))),
            "{read:?}"
        );
        assert!(
            matches!(renamed, Err(ServiceError::UserGroupNotFound(_))),
            "{renamed:?}"
        );
        assert!(
            matches!(added, Err(ServiceError::UserGroupNotFound(_))),
            "{added:?}"
        );
        assert!(
            matches!(removed, Err(ServiceError::UserGroupNotFound(_))),
            "{removed:?}"
        );
        assert!(
            matches!(deleted, Err(ServiceError::UserGroupNotFound(_))),
            "{deleted:?}"
        );
    }
    assert!(!is_user_group_member(&ctx.service, &intruder, &created.id, "a").await);
    let kept = get_user_group(&ctx.service, &owner, &created.id)
        .await
        .unwrap();
    assert_eq!(kept.name, "Private");
    assert_eq!(kept.member_count, 1);
    assert!(events(&ctx.service, &intruder).await.is_empty());
}

async fn list_pages_by_id(ctx: TestContext) {
    let workspace_id = workspace();
    for name in ["One", "Two", "Three", "Four", "Five"] {
        create_user_group(&ctx.service, &workspace_id, name).await;
    }

    let (names, pages) = all_names(&ctx, &workspace_id, 2).await;

    // UUIDv7 ids sort by creation time, so id order is creation order.
    assert_eq!(names, ["One", "Two", "Three", "Four", "Five"]);
    assert_eq!(pages, 3);
}

async fn list_filters_by_source(ctx: TestContext) {
    let workspace_id = workspace();
    let manual = create_user_group(&ctx.service, &workspace_id, "Manual").await;
    let group = create(&ctx.service, &workspace_id, "Entra group", &["a"]).await;
    let synced = sync_on(&ctx.service, &workspace_id, &group.id).await;

    let manual_page = ctx
        .service
        .list_user_groups(list_request(&workspace_id, UserGroupSource::Manual, 10))
        .await
        .unwrap();
    let idp_page = ctx
        .service
        .list_user_groups(list_request(&workspace_id, UserGroupSource::Idp, 10))
        .await
        .unwrap();
    let mut unknown = list_request(&workspace_id, UserGroupSource::Unspecified, 10);
    unknown.source = 99;
    let unknown_error = ctx.service.list_user_groups(unknown).await.unwrap_err();

    let ids_of = |page: &proto::groups::v1::ListUserGroupsResponse| -> Vec<String> {
        page.user_groups
            .iter()
            .map(|user_group| user_group.id.clone())
            .collect()
    };
    assert_eq!(ids_of(&manual_page), vec![manual.id]);
    assert_eq!(ids_of(&idp_page), vec![synced.id]);
    assert!(is_invalid(&unknown_error, "source"), "{unknown_error:?}");
}

async fn list_members_pages_by_user_id(ctx: TestContext) {
    let workspace_id = workspace();
    let created = create_user_group(&ctx.service, &workspace_id, "Team").await;
    add_members(
        &ctx.service,
        &workspace_id,
        &created.id,
        &["e", "a", "d", "b", "c"],
    )
    .await;
    let page = |page_token: String| ListUserGroupMembersRequest {
        workspace_id: workspace_id.clone(),
        user_group_id: created.id.clone(),
        page_size: 2,
        page_token,
    };

    let first = ctx
        .service
        .list_user_group_members(page(String::new()))
        .await
        .unwrap();
    let second = ctx
        .service
        .list_user_group_members(page(first.next_page_token.clone()))
        .await
        .unwrap();
    let third = ctx
        .service
        .list_user_group_members(page(second.next_page_token.clone()))
        .await
        .unwrap();
    let bad_token = ctx
        .service
        .list_user_group_members(page("zz".to_owned()))
        .await
        .unwrap_err();

    assert_eq!(first.user_ids, ids(&["a", "b"]));
    assert_eq!(second.user_ids, ids(&["c", "d"]));
    assert_eq!(third.user_ids, ids(&["e"]));
    assert!(third.next_page_token.is_empty());
    assert!(is_invalid(&bad_token, "page_token"), "{bad_token:?}");
}

async fn member_changes_touch_only_their_group(ctx: TestContext) {
    let workspace_id = workspace();
    let first = create_user_group(&ctx.service, &workspace_id, "First").await;
    let second = create_user_group(&ctx.service, &workspace_id, "Second").await;
    add_members(&ctx.service, &workspace_id, &second.id, &["a"]).await;

    add_members(&ctx.service, &workspace_id, &first.id, &["a", "b"]).await;
    remove_members(&ctx.service, &workspace_id, &first.id, &["a"]).await;

    assert_eq!(
        user_group_member_ids(&ctx.service, &workspace_id, &second.id).await,
        ids(&["a"])
    );
    assert_eq!(
        events_of(&events(&ctx.service, &workspace_id).await, &second.id).len(),
        2
    );
}

crate::engine_tests!(
    create_then_get_round_trip,
    create_writes_user_group_created,
    request_actor_stamped_on_events,
    names_need_not_be_unique,
    invalid_names_rejected,
    longest_name_accepted,
    rename_writes_user_group_renamed,
    rename_to_same_name_changes_nothing,
    rename_with_invalid_name_changes_nothing,
    add_reports_only_new_members,
    add_writes_members_changed_per_change,
    remove_reports_only_present_members,
    too_many_user_ids_rejected,
    max_user_ids_accepted,
    empty_user_id_rejected,
    delete_removes_group_and_members,
    delete_writes_user_group_deleted,
    other_workspace_sees_not_found,
    list_pages_by_id,
    list_filters_by_source,
    list_members_pages_by_user_id,
    member_changes_touch_only_their_group,
);
