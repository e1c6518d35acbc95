//! The effective-role cache in Redis: results after a change are fresh,
//! because every change bumps the user's version and drops its epoch entry.

use proto::rbac::v1::SetGroupMappingRequest;
use rbac_svc::{RbacConfig, RbacService};

use crate::support::{
    deliver, effective, group_created, members_changed, redis_url_or_skip, user_active,
    user_created, user_ids, workspace,
};

async fn redis_service() -> Option<RbacService> {
    let redis_url = redis_url_or_skip().await?;
    let config = RbacConfig {
        database_url: "sqlite::memory:".to_owned(),
        max_connections: 4,
        redis_url: Some(redis_url),
    };
    Some(RbacService::connect(&config).await.unwrap())
}

#[tokio::test]
async fn mapping_change_visible_at_once() {
    let Some(service) = redis_service().await else {
        return;
    };
    let ws = workspace();
    let users = user_ids(1);
    deliver(
        &service,
        vec![
            user_created(&ws, &users[0], true),
            group_created(&ws, "g", &users),
        ],
    )
    .await;
    assert_eq!(effective(&service, &ws, &users[0]).await.role, "member");

    service
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: ws.clone(),
            group_id: "g".to_owned(),
            role: "admin".to_owned(),
            actor: String::new(),
        })
        .await
        .unwrap();

    assert_eq!(effective(&service, &ws, &users[0]).await.role, "admin");
}

#[tokio::test]
async fn membership_change_visible_at_once() {
    let Some(service) = redis_service().await else {
        return;
    };
    let ws = workspace();
    let users = user_ids(1);
    deliver(
        &service,
        vec![
            user_created(&ws, &users[0], true),
            group_created(&ws, "g", &[]),
        ],
    )
    .await;
    service
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: ws.clone(),
            group_id: "g".to_owned(),
            role: "viewer".to_owned(),
            actor: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(effective(&service, &ws, &users[0]).await.role, "member");

    deliver(&service, vec![members_changed(&ws, "g", &users, &[])]).await;

    assert_eq!(effective(&service, &ws, &users[0]).await.role, "viewer");
}

#[tokio::test]
async fn deactivation_visible_at_once() {
    let Some(service) = redis_service().await else {
        return;
    };
    let ws = workspace();
    let users = user_ids(1);
    deliver(&service, vec![user_created(&ws, &users[0], true)]).await;
    assert!(effective(&service, &ws, &users[0]).await.active);

    deliver(&service, vec![user_active(&ws, &users[0], false)]).await;

    assert!(!effective(&service, &ws, &users[0]).await.active);
}
