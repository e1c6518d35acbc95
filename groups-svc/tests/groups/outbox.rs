//! Outbox writes and the store's `OutboxSource`: each group write commits
//! with exactly its events (`GroupCreated`, `GroupUpdated`, `GroupDeleted`),
//! a write that changes nothing or fails writes none, and the relay's
//! cursor, failure state and pruning are stored. Every test runs on SQLite
//! and on PostgreSQL.

use std::time::{Duration, SystemTime};

use groups_svc::{ServiceError, StoreError};
use plumbing::outbox::DeliveryFailure;
use proto::events::v1::{
    DeliverRequest, Event, GroupCreated, GroupDeleted, GroupUpdated, UserDeleted, event::Payload,
};
use proto::groups::v1::{
    CreateGroupRequest, DeleteGroupRequest, RemoveUserMembershipsRequest, ReplaceGroupRequest,
    ResetWorkspaceRequest, UpdateGroupRequest,
};
use sqlx::{Connection, Executor};

use crate::support::{
    Engine, INSPECTOR, TestContext, add, apply, create, events, group_updated, ids, kinds,
    member_ids, members, remove, replace, update, workspace,
};

fn group_created(event: &Event) -> &GroupCreated {
    match &event.payload {
        Some(Payload::GroupCreated(payload)) => payload,
        other => panic!("expected GroupCreated, got {other:?}"),
    }
}

fn group_deleted(event: &Event) -> &GroupDeleted {
    match &event.payload {
        Some(Payload::GroupDeleted(payload)) => payload,
        other => panic!("expected GroupDeleted, got {other:?}"),
    }
}

fn delete_request(
    workspace_id: &str,
    group_id: &str,
    expected_version: Option<i64>,
) -> DeleteGroupRequest {
    DeleteGroupRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        expected_version,
    }
}

fn reset_request(workspace_id: &str) -> ResetWorkspaceRequest {
    ResetWorkspaceRequest {
        workspace_id: workspace_id.to_owned(),
    }
}

fn user_deleted_event(event_id: &str, workspace_id: &str, user_id: &str) -> Event {
    Event {
        id: event_id.to_owned(),
        workspace_id: workspace_id.to_owned(),
        aggregate_type: "user".to_owned(),
        aggregate_id: user_id.to_owned(),
        occurred: None,
        payload: Some(Payload::UserDeleted(UserDeleted {
            user_id: user_id.to_owned(),
        })),
        ..Event::default()
    }
}

async fn outbox_len(ctx: &TestContext) -> usize {
    ctx.service
        .store()
        .fetch_pending(INSPECTOR, 1_000)
        .await
        .unwrap()
        .len()
}

/// Makes every insert into `outbox` fail, through a trigger.
async fn reject_outbox_inserts(ctx: &TestContext) {
    match ctx.engine {
        Engine::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute("CREATE TRIGGER reject_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox rejected by test'); END")
                .await
                .unwrap();
        }
        Engine::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&ctx.database_url)
                .await
                .unwrap();
            connection
                .execute(
                    "CREATE FUNCTION reject_outbox() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'outbox rejected by test'; END $$",
                )
                .await
                .unwrap();
            connection
                .execute("CREATE TRIGGER reject_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION reject_outbox()")
                .await
                .unwrap();
        }
    }
}

async fn create_writes_group_created(ctx: TestContext) {
    let workspace_id = workspace();

    let created = create(
        &ctx.service,
        &workspace_id,
        "Litigation",
        &["u2", "u1", "u2"],
    )
    .await;

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["group_created"]);
    let event = &recorded[0];
    let id = uuid::Uuid::parse_str(&event.id).unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(event.aggregate_type, "group");
    assert_eq!(event.aggregate_id, created.id);
    assert_eq!(event.occurred, created.meta.unwrap().created);
    let expected = GroupCreated {
        group_id: created.id.clone(),
        display_name: "Litigation".to_owned(),
        member_ids: ids(&["u2", "u1"]),
    };
    assert_eq!(group_created(event), &expected);
}

async fn duplicate_create_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Sales", &["a"]).await;

    let again = ctx
        .service
        .create_group(CreateGroupRequest {
            workspace_id: workspace_id.clone(),
            display_name: "SALES".to_owned(),
            external_id: None,
            members: members(&["b"]),
        })
        .await;

    assert!(
        matches!(again, Err(ServiceError::DisplayNameTaken)),
        "{again:?}"
    );
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["group_created"]
    );
}

async fn patch_reports_only_changed_members(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["u1", "u2"]).await;

    apply(
        &ctx.service,
        &workspace_id,
        &group.id,
        vec![add(&["u2", "u3", "u4"]), remove(&["u1", "u9"])],
    )
    .await;

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["group_created", "group_updated"]);
    assert_eq!(recorded[1].aggregate_type, "group");
    assert_eq!(recorded[1].aggregate_id, group.id);
    let expected = GroupUpdated {
        group_id: group.id.clone(),
        display_name: "Team".to_owned(),
        previous_display_name: String::new(),
        added_member_ids: ids(&["u3", "u4"]),
        removed_member_ids: ids(&["u1"]),
        changed_attributes: ids(&["members"]),
    };
    assert_eq!(group_updated(&recorded[1]), &expected);
}

async fn unchanging_updates_write_no_event(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b"]).await;
    let with_external_id = UpdateGroupRequest {
        set_external_id: true,
        external_id: Some("EXT".to_owned()),
        ..update(&workspace_id, &group.id, Vec::new())
    };
    ctx.service
        .update_group(with_external_id.clone())
        .await
        .unwrap();
    let same_name = UpdateGroupRequest {
        display_name: Some("Team".to_owned()),
        ..update(&workspace_id, &group.id, Vec::new())
    };
    let unchanged = [
        same_name,
        with_external_id,
        update(&workspace_id, &group.id, vec![add(&["a"])]),
        update(&workspace_id, &group.id, vec![remove(&["ghost"])]),
        update(&workspace_id, &group.id, vec![replace(&["b", "a"])]),
        update(&workspace_id, &group.id, vec![add(&["x"]), remove(&["x"])]),
    ];

    for request in unchanged {
        let response = ctx.service.update_group(request.clone()).await.unwrap();
        assert!(!response.changed, "{request:?}");
    }
    let replaced = ctx
        .service
        .replace_group(ReplaceGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            display_name: "Team".to_owned(),
            external_id: Some("EXT".to_owned()),
            members: members(&["a", "b"]),
            expected_version: None,
        })
        .await
        .unwrap();

    assert_eq!(crate::support::version(&replaced), 2);
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["group_created", "group_updated"],
        "only setting the externalId changed the group"
    );
}

async fn rename_reports_previous_name(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;
    let request = UpdateGroupRequest {
        display_name: Some("Team Renamed".to_owned()),
        ..update(&workspace_id, &group.id, Vec::new())
    };

    ctx.service.update_group(request).await.unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    let expected = GroupUpdated {
        group_id: group.id.clone(),
        display_name: "Team Renamed".to_owned(),
        previous_display_name: "Team".to_owned(),
        added_member_ids: Vec::new(),
        removed_member_ids: Vec::new(),
        changed_attributes: ids(&["displayName"]),
    };
    assert_eq!(group_updated(&recorded[1]), &expected);
}

async fn external_id_change_reported(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &[]).await;
    let request = UpdateGroupRequest {
        set_external_id: true,
        external_id: Some("okta-7".to_owned()),
        ..update(&workspace_id, &group.id, Vec::new())
    };

    ctx.service.update_group(request).await.unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    let payload = group_updated(&recorded[1]);
    assert_eq!(payload.changed_attributes, ids(&["externalId"]));
    assert_eq!(payload.previous_display_name, "");
    assert!(payload.added_member_ids.is_empty());
    assert!(payload.removed_member_ids.is_empty());
}

async fn replace_writes_one_event(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Old", &["a", "b"]).await;

    ctx.service
        .replace_group(ReplaceGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: group.id.clone(),
            display_name: "New".to_owned(),
            external_id: Some("X".to_owned()),
            members: members(&["b", "c"]),
            expected_version: Some(1),
        })
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["group_created", "group_updated"]);
    let expected = GroupUpdated {
        group_id: group.id.clone(),
        display_name: "New".to_owned(),
        previous_display_name: "Old".to_owned(),
        added_member_ids: ids(&["c"]),
        removed_member_ids: ids(&["a"]),
        changed_attributes: ids(&["displayName", "externalId", "members"]),
    };
    assert_eq!(group_updated(&recorded[1]), &expected);
}

async fn failed_updates_write_no_event(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Taken", &[]).await;
    let group = create(&ctx.service, &workspace_id, "Mine", &["a"]).await;
    let stale = UpdateGroupRequest {
        expected_version: Some(5),
        ..update(&workspace_id, &group.id, vec![add(&["b"])])
    };
    let rename_onto_taken = UpdateGroupRequest {
        display_name: Some("TAKEN".to_owned()),
        ..update(&workspace_id, &group.id, vec![add(&["b"])])
    };
    let missing = update(&workspace_id, "no-such-group", vec![add(&["b"])]);

    let stale_result = ctx.service.update_group(stale).await;
    let taken_result = ctx.service.update_group(rename_onto_taken).await;
    let missing_result = ctx.service.update_group(missing).await;

    assert!(
        matches!(
            stale_result,
            Err(ServiceError::VersionMismatch { expected: 5 })
        ),
        "{stale_result:?}"
    );
    assert!(
        matches!(taken_result, Err(ServiceError::DisplayNameTaken)),
        "{taken_result:?}"
    );
    assert!(
        matches!(missing_result, Err(ServiceError::GroupNotFound(_))),
        "{missing_result:?}"
    );
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["group_created", "group_created"]
    );
}

async fn delete_writes_group_deleted(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a", "b"]).await;
    let stale = ctx
        .service
        .delete_group(delete_request(&workspace_id, &group.id, Some(9)))
        .await;

    ctx.service
        .delete_group(delete_request(&workspace_id, &group.id, Some(1)))
        .await
        .unwrap();
    let again = ctx
        .service
        .delete_group(delete_request(&workspace_id, &group.id, None))
        .await;

    assert!(
        matches!(stale, Err(ServiceError::VersionMismatch { .. })),
        "{stale:?}"
    );
    assert!(
        matches!(again, Err(ServiceError::GroupNotFound(_))),
        "{again:?}"
    );
    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["group_created", "group_deleted"]);
    assert_eq!(recorded[1].aggregate_id, group.id);
    let expected = GroupDeleted {
        group_id: group.id.clone(),
        display_name: "Team".to_owned(),
        member_count: 2,
    };
    assert_eq!(group_deleted(&recorded[1]), &expected);
}

async fn reset_writes_event_per_group(ctx: TestContext) {
    let reset = workspace();
    let kept = workspace();
    let mut groups = [
        create(&ctx.service, &reset, "First", &["a", "b"]).await,
        create(&ctx.service, &reset, "Second", &["b", "c", "d"]).await,
        create(&ctx.service, &reset, "Empty", &[]).await,
    ];
    create(&ctx.service, &kept, "First", &["a"]).await;
    groups.sort_by(|left, right| left.id.cmp(&right.id));

    ctx.service
        .reset_workspace(reset_request(&reset))
        .await
        .unwrap();
    ctx.service
        .reset_workspace(reset_request(&reset))
        .await
        .unwrap();

    let recorded = events(&ctx.service, &reset).await;
    let deleted: Vec<&GroupDeleted> = recorded[3..].iter().map(group_deleted).collect();
    let expected: Vec<GroupDeleted> = groups
        .iter()
        .map(|group| GroupDeleted {
            group_id: group.id.clone(),
            display_name: group.display_name.clone(),
            member_count: group.member_count,
        })
        .collect();
    assert_eq!(
        recorded.len(),
        6,
        "three creations, then one deletion per group"
    );
    assert_eq!(deleted, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        kinds(&events(&ctx.service, &kept).await),
        vec!["group_created"]
    );
}

async fn user_removal_writes_event_per_group(ctx: TestContext) {
    let workspace_id = workspace();
    let first = create(&ctx.service, &workspace_id, "First", &["gone", "stays"]).await;
    let second = create(&ctx.service, &workspace_id, "Second", &["gone"]).await;
    create(&ctx.service, &workspace_id, "Third", &["stays"]).await;
    let mut affected = [first, second];
    affected.sort_by(|left, right| left.id.cmp(&right.id));

    ctx.service
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: workspace_id.clone(),
            user_id: "gone".to_owned(),
        })
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    let updates: Vec<&GroupUpdated> = recorded[3..].iter().map(group_updated).collect();
    let expected: Vec<GroupUpdated> = affected
        .iter()
        .map(|group| GroupUpdated {
            group_id: group.id.clone(),
            display_name: group.display_name.clone(),
            previous_display_name: String::new(),
            added_member_ids: Vec::new(),
            removed_member_ids: ids(&["gone"]),
            changed_attributes: ids(&["members"]),
        })
        .collect();
    assert_eq!(recorded.len(), 5, "three creations, then two updates");
    assert_eq!(updates, expected.iter().collect::<Vec<_>>());
}

async fn user_deleted_event_writes_updates_once(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["doomed", "other"]).await;
    let request = DeliverRequest {
        events: vec![user_deleted_event("event-1", &workspace_id, "doomed")],
    };

    ctx.service.deliver(request.clone()).await.unwrap();
    ctx.service.deliver(request).await.unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;
    assert_eq!(kinds(&recorded), vec!["group_created", "group_updated"]);
    let payload = group_updated(&recorded[1]);
    assert_eq!(payload.group_id, group.id);
    assert_eq!(payload.removed_member_ids, ids(&["doomed"]));
}

async fn removing_user_without_groups_writes_no_event(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Team", &["a"]).await;

    let response = ctx
        .service
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: workspace_id.clone(),
            user_id: "stranger".to_owned(),
        })
        .await
        .unwrap();

    assert!(response.group_ids.is_empty());
    assert_eq!(
        kinds(&events(&ctx.service, &workspace_id).await),
        vec!["group_created"]
    );
}

async fn writes_roll_back_with_outbox(ctx: TestContext) {
    let workspace_id = workspace();
    let group = create(&ctx.service, &workspace_id, "Team", &["a"]).await;
    reject_outbox_inserts(&ctx).await;

    let created = ctx
        .service
        .create_group(CreateGroupRequest {
            workspace_id: workspace_id.clone(),
            display_name: "Other".to_owned(),
            external_id: None,
            members: members(&["a"]),
        })
        .await;
    let updated = ctx
        .service
        .update_group(update(&workspace_id, &group.id, vec![add(&["b"])]))
        .await;
    let deleted = ctx
        .service
        .delete_group(delete_request(&workspace_id, &group.id, None))
        .await;

    for result in [created.map(|_| ()), updated.map(|_| ()), deleted] {
        assert!(
            matches!(result, Err(ServiceError::Store(StoreError::Database(_)))),
            "{result:?}"
        );
    }
    assert_eq!(
        member_ids(&ctx.service, &workspace_id, &group.id).await,
        ids(&["a"]),
        "the update and the delete must roll back with the outbox insert"
    );
    let listed = ctx
        .service
        .list_groups(proto::groups::v1::ListGroupsRequest {
            workspace_id: workspace_id.clone(),
            count: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        listed.total_results, 1,
        "the create must roll back with the outbox insert"
    );
    assert_eq!(outbox_len(&ctx).await, 1);
}

async fn cursor_moves_only_forward(ctx: TestContext) {
    let workspace_id = workspace();
    for name in ["First", "Second", "Third"] {
        create(&ctx.service, &workspace_id, name, &["a"]).await;
    }
    let store = ctx.service.store();
    let state = store.register_consumer("rbac-svc").await.unwrap();
    let all = store.fetch_pending("rbac-svc", 10).await.unwrap();

    store
        .mark_delivered("rbac-svc", all[1].sequence)
        .await
        .unwrap();
    store
        .mark_delivered("rbac-svc", all[0].sequence)
        .await
        .unwrap();

    assert_eq!(state.delivered_sequence, 0);
    let pending = store.fetch_pending("rbac-svc", 10).await.unwrap();
    assert_eq!(pending, all[2..].to_vec());
    let backlog = store.backlog("rbac-svc").await.unwrap();
    assert_eq!(backlog.pending, 1);
    assert_eq!(backlog.oldest, Some(all[2].created));
}

async fn failure_state_survives_reload(ctx: TestContext) {
    let store = ctx.service.store();
    store.register_consumer("rbac-svc").await.unwrap();
    let next_attempt_at = SystemTime::now() + Duration::from_secs(5);
    let failure = DeliveryFailure {
        event_id: "event-1".to_owned(),
        attempts: 3,
        next_attempt_at,
        error: "consumer returned Unavailable: connection refused\0".to_owned(),
    };

    store.record_failure("rbac-svc", &failure).await.unwrap();
    let failed = store.register_consumer("rbac-svc").await.unwrap();
    store.mark_delivered("rbac-svc", 0).await.unwrap();
    let recovered = store.register_consumer("rbac-svc").await.unwrap();

    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.failed_event_id.as_deref(), Some("event-1"));
    assert_eq!(
        failed.last_error.as_deref(),
        Some("consumer returned Unavailable: connection refused")
    );
    let stored_at = failed.next_attempt_at.unwrap();
    let drift = stored_at
        .duration_since(next_attempt_at)
        .unwrap_or_else(|error| error.duration());
    assert!(
        drift < Duration::from_millis(1),
        "stored {stored_at:?}, expected {next_attempt_at:?}"
    );
    assert_eq!(recovered.attempts, 0);
    assert_eq!(recovered.next_attempt_at, None);
    assert_eq!(recovered.last_error, None);
}

async fn prune_keeps_unacknowledged_events(ctx: TestContext) {
    let workspace_id = workspace();
    create(&ctx.service, &workspace_id, "Team", &["a"]).await;
    let store = ctx.service.store();
    let consumers = vec!["rbac-svc".to_owned(), "audit-svc".to_owned()];
    let future = SystemTime::now() + Duration::from_secs(60);
    let sequence = store.fetch_pending(INSPECTOR, 10).await.unwrap()[0].sequence;

    let before_registration = store.prune(&consumers, future).await.unwrap();
    store.register_consumer("rbac-svc").await.unwrap();
    store.register_consumer("audit-svc").await.unwrap();
    store.mark_delivered("rbac-svc", sequence).await.unwrap();
    let one_acknowledged = store.prune(&consumers, future).await.unwrap();
    store.mark_delivered("audit-svc", sequence).await.unwrap();
    let too_young = store
        .prune(&consumers, SystemTime::now() - Duration::from_secs(60))
        .await
        .unwrap();
    let both_acknowledged = store.prune(&consumers, future).await.unwrap();

    assert_eq!(before_registration, 0);
    assert_eq!(one_acknowledged, 0);
    assert_eq!(too_young, 0);
    assert_eq!(both_acknowledged, 1);
    assert_eq!(outbox_len(&ctx).await, 0);

    // A sequence at or below a cursor would never be delivered, so pruning
    // the newest row must not let the next event reuse its sequence.
    create(&ctx.service, &workspace_id, "Next", &[]).await;
    let pending = store.fetch_pending("rbac-svc", 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].sequence > sequence,
        "sequence {} reused",
        pending[0].sequence
    );
}

crate::engine_tests!(
    create_writes_group_created,
    duplicate_create_writes_no_event,
    patch_reports_only_changed_members,
    unchanging_updates_write_no_event,
    rename_reports_previous_name,
    external_id_change_reported,
    replace_writes_one_event,
    failed_updates_write_no_event,
    delete_writes_group_deleted,
    reset_writes_event_per_group,
    user_removal_writes_event_per_group,
    user_deleted_event_writes_updates_once,
    removing_user_without_groups_writes_no_event,
    writes_roll_back_with_outbox,
    cursor_moves_only_forward,
    failure_state_survives_reload,
    prune_keeps_unacknowledged_events,
);
