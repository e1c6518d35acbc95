//! Token administration suite on both engines: listing without secrets,
//! rotation with an overlap window, revocation, and their events.

use std::time::Duration;

use identity_svc::{ServiceError, error::REASON_TOKEN_INACTIVE};
use proto::events::v1::event::Payload;
use proto::identity::v1::{
    AuthenticateScimTokenRequest, IssueScimTokenRequest, ListScimTokensRequest,
    RevokeScimTokenRequest, RotateScimTokenRequest,
};

use crate::support::{TestContext, event_types, events, workspace};

async fn issue(ctx: &TestContext, workspace_id: &str, name: &str) -> (String, String) {
    let response = ctx
        .service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.to_owned(),
            name: name.to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap();
    (response.token.unwrap().id, response.secret)
}

async fn works(ctx: &TestContext, secret: &str) -> bool {
    ctx.service
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: secret.to_owned(),
        })
        .await
        .is_ok()
}

fn rotate_request(
    workspace_id: &str,
    token_id: &str,
    overlap_seconds: i64,
) -> RotateScimTokenRequest {
    RotateScimTokenRequest {
        workspace_id: workspace_id.to_owned(),
        token_id: token_id.to_owned(),
        overlap_seconds,
        ttl_seconds: 0,
    }
}

async fn list(ctx: &TestContext, workspace_id: &str, include_inactive: bool) -> Vec<String> {
    let response = ctx
        .service
        .list_scim_tokens(ListScimTokensRequest {
            workspace_id: workspace_id.to_owned(),
            include_inactive,
        })
        .await
        .unwrap();
    response.tokens.into_iter().map(|token| token.id).collect()
}

async fn several_tokens_listed_newest_first(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (first, first_secret) = issue(&ctx, &workspace_id, "entra").await;
    let (second, second_secret) = issue(&ctx, &workspace_id, "backup").await;

    let listed = list(&ctx, &workspace_id, false).await;

    assert_eq!(listed, vec![second, first]);
    assert!(works(&ctx, &first_secret).await);
    assert!(works(&ctx, &second_secret).await);
}

async fn rotation_overlap_keeps_both(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (old_id, old_secret) = issue(&ctx, &workspace_id, "entra").await;

    let rotated = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, &old_id, 3600))
        .await
        .unwrap();

    assert!(rotated.secret.starts_with("scim_"));
    assert_ne!(rotated.secret, old_secret);
    assert_eq!(rotated.token.as_ref().unwrap().name, "entra");
    assert!(rotated.previous.unwrap().expires.is_some());
    assert!(works(&ctx, &old_secret).await);
    assert!(works(&ctx, &rotated.secret).await);
}

async fn rotation_ends_old_after_overlap(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (old_id, old_secret) = issue(&ctx, &workspace_id, "okta").await;

    let rotated = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, &old_id, 1))
        .await
        .unwrap();
    let mut old_works = true;
    for _ in 0..50 {
        old_works = works(&ctx, &old_secret).await;
        if !old_works {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert!(
        !old_works,
        "the old token still works long after its overlap"
    );
    assert!(works(&ctx, &rotated.secret).await);
    assert_eq!(
        list(&ctx, &workspace_id, false).await,
        vec![rotated.token.unwrap().id]
    );
}

async fn rotation_without_overlap_ends_old_now(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (old_id, old_secret) = issue(&ctx, &workspace_id, "okta").await;

    ctx.service
        .rotate_scim_token(rotate_request(&workspace_id, &old_id, 0))
        .await
        .unwrap();

    assert!(!works(&ctx, &old_secret).await);
}

async fn rotating_revoked_token_fails(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (token_id, _) = issue(&ctx, &workspace_id, "okta").await;
    ctx.service
        .revoke_scim_token(RevokeScimTokenRequest {
            workspace_id: workspace_id.clone(),
            token_id: token_id.clone(),
        })
        .await
        .unwrap();

    let result = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, &token_id, 60))
        .await;

    match result {
        Err(ServiceError::PreconditionFailed { violations, .. }) => {
            assert_eq!(violations[0].0, REASON_TOKEN_INACTIVE)
        }
        other => panic!("expected TOKEN_INACTIVE, got {other:?}"),
    }
    assert!(list(&ctx, &workspace_id, false).await.is_empty());
}

async fn rotating_unknown_token_not_found(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let other_workspace = workspace(&ctx.service, &["example.com"]).await;
    let (foreign_id, _) = issue(&ctx, &other_workspace, "okta").await;

    let unknown = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, "nope", 60))
        .await;
    let foreign = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, &foreign_id, 60))
        .await;

    assert!(
        matches!(unknown, Err(ServiceError::TokenNotFound(_))),
        "{unknown:?}"
    );
    assert!(
        matches!(foreign, Err(ServiceError::TokenNotFound(_))),
        "{foreign:?}"
    );
}

async fn revoked_token_fails_next_call(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (token_id, secret) = issue(&ctx, &workspace_id, "okta").await;
    assert!(works(&ctx, &secret).await);
    let request = RevokeScimTokenRequest {
        workspace_id: workspace_id.clone(),
        token_id: token_id.clone(),
    };

    let revoked = ctx
        .service
        .revoke_scim_token(request.clone())
        .await
        .unwrap();
    let again = ctx.service.revoke_scim_token(request).await.unwrap();

    assert!(!works(&ctx, &secret).await);
    assert!(revoked.token.unwrap().revoked.is_some());
    assert!(again.token.unwrap().revoked.is_some());
    assert_eq!(list(&ctx, &workspace_id, true).await, vec![token_id]);
    // Revoking twice records one event.
    assert_eq!(
        event_types(&ctx.service, &workspace_id).await,
        vec!["token_issued", "token_revoked"]
    );
}

async fn revoking_unknown_token_not_found(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let result = ctx
        .service
        .revoke_scim_token(RevokeScimTokenRequest {
            workspace_id: workspace_id.clone(),
            token_id: "nope".to_owned(),
        })
        .await;

    assert!(
        matches!(result, Err(ServiceError::TokenNotFound(_))),
        "{result:?}"
    );
    assert!(event_types(&ctx.service, &workspace_id).await.is_empty());
}

async fn token_events_never_carry_secret(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (token_id, secret) = issue(&ctx, &workspace_id, "okta").await;
    let rotated = ctx
        .service
        .rotate_scim_token(rotate_request(&workspace_id, &token_id, 60))
        .await
        .unwrap();

    let recorded = events(&ctx.service, &workspace_id).await;

    assert_eq!(recorded.len(), 2);
    for event in &recorded {
        let text = format!("{event:?}");
        assert!(
            !text.contains(&secret[5..]),
            "an event carries the secret: {text}"
        );
        assert!(
            !text.contains(&rotated.secret[5..]),
            "an event carries the secret: {text}"
        );
    }
    let Some(Payload::TokenRotated(payload)) = &recorded[1].payload else {
        panic!("expected TokenRotated, got {:?}", recorded[1].payload);
    };
    assert_eq!(payload.previous_token_id, token_id);
    assert_eq!(payload.token_id, rotated.token.unwrap().id);
}

crate::engine_tests!(
    several_tokens_listed_newest_first,
    rotation_overlap_keeps_both,
    rotation_ends_old_after_overlap,
    rotation_without_overlap_ends_old_now,
    rotating_revoked_token_fails,
    rotating_unknown_token_not_found,
    revoked_token_fails_next_call,
    revoking_unknown_token_not_found,
    token_events_never_carry_secret,
);
