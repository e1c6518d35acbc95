//! The token cache on both engines: every change that rejects a token or
//! changes what it authenticates as reaches the next authentication, in
//! this process and, through Redis, in another replica.

use identity_svc::{IdentityConfig, IdentityService, ServiceError};
use plumbing::{cache::Cache, token_cache::TokenCache};
use proto::identity::v1::{
    AuthenticateScimTokenRequest, AuthenticateScimTokenResponse, IdentityProvider,
    IssueScimTokenRequest, RevokeScimTokenRequest, RotateScimTokenRequest,
};

use crate::support::{TestContext, workspace};

async fn issue(service: &IdentityService, workspace_id: &str) -> (String, String) {
    let response = service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.to_owned(),
            name: "entra".to_owned(),
            ttl_seconds: 0,
        })
        .await
        .unwrap();
    (response.token.unwrap().id, response.secret)
}

async fn authenticate(
    service: &IdentityService,
    secret: &str,
) -> Result<AuthenticateScimTokenResponse, ServiceError> {
    service
        .authenticate_scim_token(AuthenticateScimTokenRequest {
            secret: secret.to_owned(),
        })
        .await
}

/// Returns the context's service with an in-process token cache, as when
/// the gateway runs in the same process.
fn cached(ctx: &TestContext) -> IdentityService {
    ctx.service
        .clone()
        .with_token_cache(TokenCache::new(Cache::in_process(100)))
}

fn revoke_request(workspace_id: &str, token_id: &str) -> RevokeScimTokenRequest {
    RevokeScimTokenRequest {
        workspace_id: workspace_id.to_owned(),
        token_id: token_id.to_owned(),
    }
}

async fn revoked_after_cached_use_rejected(ctx: TestContext) {
    let service = cached(&ctx);
    let workspace_id = workspace(&service, &["example.com"]).await;
    let (token_id, secret) = issue(&service, &workspace_id).await;
    authenticate(&service, &secret).await.unwrap();

    service
        .revoke_scim_token(revoke_request(&workspace_id, &token_id))
        .await
        .unwrap();
    let result = authenticate(&service, &secret).await;

    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

async fn rotated_without_overlap_rejects_previous(ctx: TestContext) {
    let service = cached(&ctx);
    let workspace_id = workspace(&service, &["example.com"]).await;
    let (token_id, secret) = issue(&service, &workspace_id).await;
    authenticate(&service, &secret).await.unwrap();

    let rotated = service
        .rotate_scim_token(RotateScimTokenRequest {
            workspace_id: workspace_id.clone(),
            token_id,
            overlap_seconds: 0,
            ttl_seconds: 0,
        })
        .await
        .unwrap();
    let previous = authenticate(&service, &secret).await;
    let next = authenticate(&service, &rotated.secret).await;

    assert!(
        matches!(previous, Err(ServiceError::Unauthenticated)),
        "{previous:?}"
    );
    assert!(next.is_ok(), "{next:?}");
}

async fn disabled_after_cached_use_fails_precondition(ctx: TestContext) {
    let service = cached(&ctx);
    let workspace_id = workspace(&service, &["example.com"]).await;
    let (_, secret) = issue(&service, &workspace_id).await;
    authenticate(&service, &secret).await.unwrap();

    service.disable_scim(&workspace_id).await.unwrap();
    let result = authenticate(&service, &secret).await;

    assert!(
        matches!(result, Err(ServiceError::ScimDisabled(_))),
        "{result:?}"
    );
}

async fn reset_after_cached_use_rejected(ctx: TestContext) {
    let service = cached(&ctx);
    let workspace_id = workspace(&service, &["example.com"]).await;
    let (_, secret) = issue(&service, &workspace_id).await;
    authenticate(&service, &secret).await.unwrap();

    service.reset_scim(&workspace_id).await.unwrap();
    let result = authenticate(&service, &secret).await;

    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

async fn provider_change_reaches_next_authentication(ctx: TestContext) {
    let service = cached(&ctx);
    let workspace_id = workspace(&service, &["example.com"]).await;
    service
        .setup_scim(&workspace_id, IdentityProvider::Entra)
        .await
        .unwrap();
    let (_, secret) = issue(&service, &workspace_id).await;
    let before = authenticate(&service, &secret).await.unwrap();

    service
        .setup_scim(&workspace_id, IdentityProvider::Okta)
        .await
        .unwrap();
    let after = authenticate(&service, &secret).await.unwrap();

    assert_eq!(before.identity_provider, "entra");
    assert_eq!(after.identity_provider, "okta");
}

/// Connects to the test Redis; `None` where it is unreachable outside CI.
async fn redis_cache() -> Option<TokenCache> {
    let url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match plumbing::cache::connect_redis(&url).await {
        Ok(manager) => Some(TokenCache::new(Cache::redis(manager))),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {url} is required when CI=true: {error:#}")
        }
        Err(error) => {
            eprintln!("skipping: Redis at {url} is unreachable: {error:#}");
            None
        }
    }
}

async fn revocation_reaches_other_replica(ctx: TestContext) {
    let Some(shared) = redis_cache().await else {
        return;
    };
    let first = ctx.service.clone().with_token_cache(shared.clone());
    let config = IdentityConfig {
        database_url: ctx.database_url.clone(),
        max_connections: 2,
    };
    let second = IdentityService::connect(&config)
        .await
        .unwrap()
        .with_token_cache(shared);
    let workspace_id = workspace(&first, &["example.com"]).await;
    let (token_id, secret) = issue(&first, &workspace_id).await;
    authenticate(&second, &secret).await.unwrap();

    first
        .revoke_scim_token(revoke_request(&workspace_id, &token_id))
        .await
        .unwrap();
    let result = authenticate(&second, &secret).await;
    second.close().await;

    assert!(
        matches!(result, Err(ServiceError::Unauthenticated)),
        "{result:?}"
    );
}

crate::engine_tests!(
    revoked_after_cached_use_rejected,
    rotated_without_overlap_rejects_previous,
    disabled_after_cached_use_fails_precondition,
    reset_after_cached_use_rejected,
    provider_change_reaches_next_authentication,
    revocation_reaches_other_replica,
);
