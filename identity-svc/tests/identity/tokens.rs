//! SCIM token suite on both engines: digests at rest, revocation, expiry,
//! the SCIM switch and `last_used` bookkeeping.

use identity_svc::{
    ServiceError,
    store::TokenRecord,
    tokens::{generate_secret, secret_digest},
};
use proto::identity::v1::{
    AuthenticateScimTokenRequest, CreateWorkspaceRequest, IssueScimTokenRequest,
};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use time::{Duration, OffsetDateTime};

use crate::support::{Engine, TestContext, workspace};

async fn issue(ctx: &TestContext, workspace_id: &str, ttl_seconds: i64) -> (String, String) {
    let response = ctx
        .service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.to_owned(),
            name: "okta".to_owned(),
            ttl_seconds,
        })
        .await
        .unwrap();
    (response.token.unwrap().id, response.secret)
}

async fn authenticate(ctx: &TestContext, secret: &str) -> Result<(String, String), ServiceError> {
    let response = ctx
        .service
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: secret.to_owned(),
        })
        .await?;
    Ok((response.workspace_id, response.token_id))
}

/// Returns every column of every token row as text.
async fn token_rows_as_text(ctx: &TestContext) -> Vec<String> {
    match ctx.engine {
        Engine::Sqlite => {
            let mut connection = SqliteConnection::connect(&ctx.database_url).await.unwrap();
            let rows = sqlx::query(
                "SELECT CAST(id || '|' || workspace_id || '|' || name || '|' || prefix || '|' || hex(digest) || '|' || \
                 CAST(digest AS TEXT) || '|' || created || '|' || COALESCE(last_used, '') || '|' || \
                 COALESCE(expires, '') || '|' || COALESCE(revoked, '') AS BLOB) FROM scim_tokens",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            rows.iter()
                .map(|row| String::from_utf8_lossy(&row.get::<Vec<u8>, _>(0)).into_owned())
                .collect()
        }
        Engine::Postgres => {
            let mut connection = PgConnection::connect(&ctx.database_url).await.unwrap();
            let rows = sqlx::query("SELECT t::text FROM scim_tokens AS t")
                .fetch_all(&mut connection)
                .await
                .unwrap();
            rows.iter().map(|row| row.get::<String, _>(0)).collect()
        }
    }
}

async fn issued_token_authenticates(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (token_id, secret) = issue(&ctx, &workspace_id, 0).await;

    let resolved = authenticate(&ctx, &secret).await.unwrap();

    assert_eq!(resolved, (workspace_id, token_id));
}

async fn token_prefix_is_secret_start(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let response = ctx
        .service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id,
            name: "entra".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap();

    assert_eq!(response.token.unwrap().prefix, response.secret[..12]);
}

async fn secret_not_stored(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (_, secret) = issue(&ctx, &workspace_id, 3600).await;

    let rows = token_rows_as_text(&ctx).await;

    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(&secret));
    assert!(!rows[0].contains(&secret[12..]));
}

async fn unknown_secret_unauthenticated(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    issue(&ctx, &workspace_id, 0).await;

    let result = authenticate(&ctx, &generate_secret()).await;

    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

async fn revoked_token_unauthenticated(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (token_id, secret) = issue(&ctx, &workspace_id, 0).await;
    let revoked = ctx
        .service
        .store()
        .revoke_token(&workspace_id, &token_id, OffsetDateTime::now_utc())
        .await
        .unwrap();

    let result = authenticate(&ctx, &secret).await;

    assert!(revoked);
    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

async fn expired_token_unauthenticated(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let secret = generate_secret();
    let issued_at = OffsetDateTime::now_utc() - Duration::hours(2);
    let token = TokenRecord {
        id: uuid::Uuid::now_v7().to_string(),
        workspace_id,
        name: "old".to_owned(),
        prefix: secret[..12].to_owned(),
        digest: secret_digest(&secret),
        created: issued_at,
        last_used: None,
        expires: Some(issued_at + Duration::hours(1)),
        revoked: None,
    };
    ctx.service.store().insert_token(&token).await.unwrap();

    let result = authenticate(&ctx, &secret).await;

    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

async fn scim_disabled_fails_precondition(ctx: TestContext) {
    let workspace_id = ctx
        .service
        .create_workspace(CreateWorkspaceRequest {
            name: "No SCIM".to_owned(),
            domains: vec!["example.com".to_owned()],
            sso_enabled: true,
            scim_enabled: false,
            scim_entitled: false,
        })
        .await
        .unwrap()
        .id;
    let (_, secret) = issue(&ctx, &workspace_id, 0).await;

    let result = authenticate(&ctx, &secret).await;

    assert!(
        matches!(result, Err(ServiceError::ScimDisabled(_))),
        "{result:?}"
    );
}

async fn last_used_written_once_per_minute(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;
    let (_, secret) = issue(&ctx, &workspace_id, 0).await;
    let digest = secret_digest(&secret);

    authenticate(&ctx, &secret).await.unwrap();
    let first = ctx
        .service
        .store()
        .find_token(&digest)
        .await
        .unwrap()
        .unwrap()
        .token
        .last_used;
    authenticate(&ctx, &secret).await.unwrap();
    let second = ctx
        .service
        .store()
        .find_token(&digest)
        .await
        .unwrap()
        .unwrap()
        .token
        .last_used;

    assert!(first.is_some());
    assert_eq!(second, first);
}

async fn negative_ttl_rejected(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let result = ctx
        .service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id,
            name: "bad".to_owned(),
            ttl_seconds: -1,
        })
        .await;

    assert!(
        matches!(result, Err(ServiceError::InvalidArgument { .. })),
        "{result:?}"
    );
}

crate::engine_tests!(
    issued_token_authenticates,
    token_prefix_is_secret_start,
    secret_not_stored,
    unknown_secret_unauthenticated,
    revoked_token_unauthenticated,
    expired_token_unauthenticated,
    scim_disabled_fails_precondition,
    last_used_written_once_per_minute,
    negative_ttl_rejected,
);
