//! Storage suite for users: uniqueness, round trips, versions, deletion and
//! tenant isolation. Every test runs on SQLite and on PostgreSQL.

use identity_svc::{ServiceError, store::UserRecord};
use proto::identity::v1::{
    BatchGetUsersRequest, CreateUserRequest, DeleteUserRequest, EnterpriseUser, GetUserRequest,
    ListUsersRequest, Manager, MultiValue, Name, ReplaceUserRequest, User,
};

use crate::support::{TestContext, create, email, user, workspace};

fn create_request(workspace_id: &str, user: User) -> CreateUserRequest {
    CreateUserRequest {
        workspace_id: workspace_id.to_owned(),
        user: Some(user),
    }
}

fn get_request(workspace_id: &str, user_id: &str) -> GetUserRequest {
    GetUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

fn replace_request(
    workspace_id: &str,
    user: User,
    expected_version: Option<i64>,
) -> ReplaceUserRequest {
    ReplaceUserRequest {
        workspace_id: workspace_id.to_owned(),
        user: Some(user),
        expected_version,
    }
}

fn delete_request(
    workspace_id: &str,
    user_id: &str,
    expected_version: Option<i64>,
) -> DeleteUserRequest {
    DeleteUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        expected_version,
    }
}

fn full_user() -> User {
    User {
        user_name: "ada@example.com".to_owned(),
        external_id: Some("EXT-1".to_owned()),
        name: Some(Name {
            given_name: Some("Ada".to_owned()),
            family_name: Some("Lovelace".to_owned()),
            ..Name::default()
        }),
        display_name: Some("Ada Lovelace".to_owned()),
        title: Some("Counsel".to_owned()),
        active: Some(true),
        emails: vec![email("ada@example.com", "work", true)],
        roles: vec![MultiValue {
            value: Some("partner".to_owned()),
            ..MultiValue::default()
        }],
        entitlements: vec![MultiValue {
            value: Some("billing".to_owned()),
            ..MultiValue::default()
        }],
        enterprise: Some(EnterpriseUser {
            department: Some("Litigation".to_owned()),
            manager: Some(Manager {
                value: Some("mgr-1".to_owned()),
                r#ref: Some("https://scim.example/Users/mgr-1".to_owned()),
                display_name: None,
            }),
            ..EnterpriseUser::default()
        }),
        ..User::default()
    }
}

async fn user_count(ctx: &TestContext, workspace_id: &str) -> i64 {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        ..ListUsersRequest::default()
    };
    ctx.service.list_users(request).await.unwrap().total_results
}

async fn create_assigns_id_and_version(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let created = create(&ctx.service, &workspace_id, user("ada")).await;

    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.meta.unwrap().version, 1);
}

async fn get_round_trips_attributes(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, full_user()).await;

    let mut fetched = ctx
        .service
        .get_user(get_request(&workspace_id, &created.id))
        .await
        .unwrap();

    assert_eq!(fetched, created);
    assert!(fetched.scim_managed);
    // `id`, `meta` and `scim_managed` are output only.
    fetched.id = String::new();
    fetched.meta = None;
    fetched.scim_managed = false;
    assert_eq!(fetched, full_user());
}

async fn user_name_unique_ignoring_ascii_case(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &workspace_id, user("Ada@Example.com")).await;

    let result = ctx
        .service
        .create_user(create_request(&workspace_id, user("ada@EXAMPLE.COM")))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNameTaken)),
        "{result:?}"
    );
}

async fn user_name_unique_folding_sharp_s(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &workspace_id, user("Straße")).await;

    let result = ctx
        .service
        .create_user(create_request(&workspace_id, user("STRASSE")))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNameTaken)),
        "{result:?}"
    );
}

async fn user_name_unique_folding_accents(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &workspace_id, user("ÉMILE")).await;

    let result = ctx
        .service
        .create_user(create_request(&workspace_id, user("émile")))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNameTaken)),
        "{result:?}"
    );
}

async fn user_name_reusable_across_workspaces(ctx: TestContext) {
    let first = workspace(&ctx.service, &["example.com"]).await;
    let second = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &first, user("ada")).await;

    let result = ctx
        .service
        .create_user(create_request(&second, user("ADA")))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

async fn concurrent_creates_one_wins(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let tasks: Vec<_> = ["race", "RACE", "Race", "rAcE"]
        .into_iter()
        .map(|name| {
            let service = ctx.service.clone();
            let request = create_request(&workspace_id, user(name));
            tokio::spawn(async move { service.create_user(request).await })
        })
        .collect();

    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
    assert_eq!(
        results
            .iter()
            .filter(|result| matches!(result, Err(ServiceError::UserNameTaken)))
            .count(),
        3
    );
}

async fn empty_user_name_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let result = ctx
        .service
        .create_user(create_request(&workspace_id, user("  ")))
        .await;

    assert!(
        matches!(result, Err(ServiceError::InvalidArgument { field, .. }) if field == "userName")
    );
}

async fn roles_and_entitlements_kept(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let created = create(&ctx.service, &workspace_id, full_user()).await;

    assert_eq!(created.roles[0].value.as_deref(), Some("partner"));
    assert_eq!(created.entitlements[0].value.as_deref(), Some("billing"));
}

async fn batch_get_lists_missing_ids(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let ada = create(&ctx.service, &workspace_id, user("ada")).await;
    let bob = create(&ctx.service, &workspace_id, user("bob")).await;
    let request = BatchGetUsersRequest {
        workspace_id: workspace_id.clone(),
        user_ids: vec![
            bob.id.clone(),
            "missing".to_owned(),
            ada.id.clone(),
            bob.id.clone(),
        ],
    };

    let response = ctx.service.batch_get_users(request).await.unwrap();

    let ids: Vec<_> = response.users.iter().map(|user| user.id.clone()).collect();
    assert_eq!(ids, vec![bob.id, ada.id]);
    assert_eq!(response.missing_ids, vec!["missing".to_owned()]);
}

async fn replace_increments_version(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    let mut changed = created.clone();
    changed.title = Some("Partner".to_owned());

    let replaced = ctx
        .service
        .replace_user(replace_request(&workspace_id, changed, Some(1)))
        .await
        .unwrap();

    assert_eq!(replaced.meta.as_ref().unwrap().version, 2);
    assert_eq!(replaced.title.as_deref(), Some("Partner"));
    assert_eq!(
        replaced.meta.unwrap().created,
        created.meta.unwrap().created
    );
}

async fn replace_with_stale_version_aborts(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    ctx.service
        .replace_user(replace_request(&workspace_id, created.clone(), Some(1)))
        .await
        .unwrap();

    let result = ctx
        .service
        .replace_user(replace_request(&workspace_id, created, Some(1)))
        .await;

    assert!(
        matches!(result, Err(ServiceError::VersionMismatch { expected: 1 })),
        "{result:?}"
    );
}

async fn concurrent_replaces_one_wins(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    let tasks: Vec<_> = ["Partner", "Associate"]
        .into_iter()
        .map(|title| {
            let service = ctx.service.clone();
            let mut changed = created.clone();
            changed.title = Some(title.to_owned());
            let request = replace_request(&workspace_id, changed, Some(1));
            tokio::spawn(async move { service.replace_user(request).await })
        })
        .collect();

    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
    assert_eq!(
        results
            .iter()
            .filter(|result| matches!(result, Err(ServiceError::VersionMismatch { .. })))
            .count(),
        1
    );
}

async fn conditional_update_rejects_same_base_twice(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    let stored = ctx
        .service
        .store()
        .get_user(&workspace_id, &created.id)
        .await
        .unwrap()
        .unwrap();
    let next = UserRecord {
        version: 2,
        ..stored
    };

    let first = ctx.service.store().update_user(&next, 1).await.unwrap();
    let second = ctx.service.store().update_user(&next, 1).await.unwrap();

    assert!(first);
    assert!(!second);
}

async fn replace_without_version_uses_current(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    ctx.service
        .replace_user(replace_request(&workspace_id, created.clone(), None))
        .await
        .unwrap();

    let replaced = ctx
        .service
        .replace_user(replace_request(&workspace_id, created, None))
        .await
        .unwrap();

    assert_eq!(replaced.meta.unwrap().version, 3);
}

async fn replace_to_taken_user_name_conflicts(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    create(&ctx.service, &workspace_id, user("ada")).await;
    let mut bob = create(&ctx.service, &workspace_id, user("bob")).await;
    bob.user_name = "ADA".to_owned();

    let result = ctx
        .service
        .replace_user(replace_request(&workspace_id, bob, None))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNameTaken)),
        "{result:?}"
    );
}

async fn replace_missing_user_not_found(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let mut ghost = user("ghost");
    ghost.id = uuid::Uuid::now_v7().to_string();

    let result = ctx
        .service
        .replace_user(replace_request(&workspace_id, ghost, None))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNotFound(_))),
        "{result:?}"
    );
}

async fn delete_removes_user(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;

    ctx.service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await
        .unwrap();

    let result = ctx
        .service
        .get_user(get_request(&workspace_id, &created.id))
        .await;
    assert!(
        matches!(result, Err(ServiceError::UserNotFound(_))),
        "{result:?}"
    );
}

async fn delete_twice_not_found(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    ctx.service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await
        .unwrap();

    let result = ctx
        .service
        .delete_user(delete_request(&workspace_id, &created.id, None))
        .await;

    assert!(
        matches!(result, Err(ServiceError::UserNotFound(_))),
        "{result:?}"
    );
}

async fn delete_with_stale_version_aborts(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &workspace_id, user("ada")).await;
    ctx.service
        .replace_user(replace_request(&workspace_id, created.clone(), None))
        .await
        .unwrap();

    let result = ctx
        .service
        .delete_user(delete_request(&workspace_id, &created.id, Some(1)))
        .await;

    assert!(
        matches!(result, Err(ServiceError::VersionMismatch { expected: 1 })),
        "{result:?}"
    );
    assert_eq!(user_count(&ctx, &workspace_id).await, 1);
}

async fn unknown_workspace_not_found(ctx: TestContext) {
    let missing = uuid::Uuid::now_v7().to_string();

    let create_result = ctx
        .service
        .create_user(create_request(&missing, user("ada")))
        .await;
    let list_result = ctx
        .service
        .list_users(ListUsersRequest {
            workspace_id: missing.clone(),
            ..ListUsersRequest::default()
        })
        .await;

    assert!(
        matches!(create_result, Err(ServiceError::WorkspaceNotFound(_))),
        "{create_result:?}"
    );
    assert!(
        matches!(list_result, Err(ServiceError::WorkspaceNotFound(_))),
        "{list_result:?}"
    );
}

async fn other_workspace_user_not_found(ctx: TestContext) {
    let home = workspace(&ctx.service, &["example.com"]).await;
    let other = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &home, user("ada")).await;
    let random_id = uuid::Uuid::now_v7().to_string();

    let foreign = ctx
        .service
        .get_user(get_request(&other, &created.id))
        .await
        .unwrap_err();
    let random = ctx
        .service
        .get_user(get_request(&other, &random_id))
        .await
        .unwrap_err();

    assert_eq!(
        foreign.to_string().replace(&created.id, "ID"),
        random.to_string().replace(&random_id, "ID")
    );
    assert!(matches!(foreign, ServiceError::UserNotFound(_)));
}

async fn other_workspace_cannot_change_user(ctx: TestContext) {
    let home = workspace(&ctx.service, &["example.com"]).await;
    let other = workspace(&ctx.service, &["example.com"]).await;
    let created = create(&ctx.service, &home, user("ada")).await;

    let replaced = ctx
        .service
        .replace_user(replace_request(&other, created.clone(), None))
        .await;
    let deleted = ctx
        .service
        .delete_user(delete_request(&other, &created.id, None))
        .await;
    let batch = ctx
        .service
        .batch_get_users(BatchGetUsersRequest {
            workspace_id: other.clone(),
            user_ids: vec![created.id.clone()],
        })
        .await
        .unwrap();

    assert!(
        matches!(replaced, Err(ServiceError::UserNotFound(_))),
        "{replaced:?}"
    );
    assert!(
        matches!(deleted, Err(ServiceError::UserNotFound(_))),
        "{deleted:?}"
    );
    assert_eq!(batch.missing_ids, vec![created.id.clone()]);
    assert_eq!(user_count(&ctx, &other).await, 0);
    assert_eq!(user_count(&ctx, &home).await, 1);
}

crate::engine_tests!(
    create_assigns_id_and_version,
    get_round_trips_attributes,
    user_name_unique_ignoring_ascii_case,
    user_name_unique_folding_sharp_s,
    user_name_unique_folding_accents,
    user_name_reusable_across_workspaces,
    concurrent_creates_one_wins,
    empty_user_name_rejected,
    roles_and_entitlements_kept,
    batch_get_lists_missing_ids,
    replace_increments_version,
    replace_with_stale_version_aborts,
    concurrent_replaces_one_wins,
    conditional_update_rejects_same_base_twice,
    replace_without_version_uses_current,
    replace_to_taken_user_name_conflicts,
    replace_missing_user_not_found,
    delete_removes_user,
    delete_twice_not_found,
    delete_with_stale_version_aborts,
    unknown_workspace_not_found,
    other_workspace_user_not_found,
    other_workspace_cannot_change_user,
);
