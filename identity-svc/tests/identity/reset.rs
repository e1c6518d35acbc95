//! Resumable reset suite on both engines: what the first step removes and
//! keeps, a pending step when another service is down, and finishing it by
//! running the reset again.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use identity_svc::{ResetParticipant, ServiceError, error::REASON_RESET_IN_PROGRESS};
use proto::identity::v1::{
    AuthenticateScimTokenRequest, IdentityProvider, IssueScimTokenRequest, ListUsersRequest,
};

use crate::support::{TestContext, create, event_types, user, workspace};

/// A participant that fails with `failure` for its first `failures` calls
/// and succeeds after, recording the workspaces it reset.
#[derive(Debug)]
struct FlakyParticipant {
    failures: usize,
    failure: tonic::Code,
    calls: AtomicUsize,
    reset: Mutex<Vec<String>>,
}

impl FlakyParticipant {
    fn new(failures: usize, failure: tonic::Code) -> Arc<Self> {
        Arc::new(Self {
            failures,
            failure,
            calls: AtomicUsize::new(0),
            reset: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl ResetParticipant for FlakyParticipant {
    fn step(&self) -> &'static str {
        "groups"
    }

    async fn reset_workspace(&self, workspace_id: &str) -> Result<(), tonic::Status> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            return Err(tonic::Status::new(self.failure, "test failure"));
        }
        self.reset.lock().unwrap().push(workspace_id.to_owned());
        Ok(())
    }
}

async fn issue(
    service: &identity_svc::IdentityService,
    workspace_id: &str,
) -> Result<String, ServiceError> {
    let response = service
        .issue_scim_token(IssueScimTokenRequest {
            workspace_id: workspace_id.to_owned(),
            name: "okta".to_owned(),
            ttl_seconds: 0,
        })
        .await?;
    Ok(response.secret)
}

async fn user_count(service: &identity_svc::IdentityService, workspace_id: &str) -> i64 {
    let request = ListUsersRequest {
        workspace_id: workspace_id.to_owned(),
        ..ListUsersRequest::default()
    };
    service.list_users(request).await.unwrap().total_results
}

async fn reset_removes_tokens_and_keeps_users(ctx: TestContext) {
    let participant = FlakyParticipant::new(0, tonic::Code::Ok);
    let service = ctx
        .service
        .clone()
        .with_reset_participant(participant.clone());
    let workspace_id = workspace(&service, &["example.com"]).await;
    service
        .setup_scim(&workspace_id, IdentityProvider::Entra)
        .await
        .unwrap();
    let secret = issue(&service, &workspace_id).await.unwrap();
    create(&service, &workspace_id, user("ada@example.com")).await;

    let response = service.reset_scim(&workspace_id).await.unwrap();
    let authenticated = service
        .authenticate_scim_token(AuthenticateScimTokenRequest { secret })
        .await;

    assert!(response.completed);
    assert!(response.pending_steps.is_empty());
    let settings = response.settings.unwrap();
    assert!(!settings.scim_enabled);
    assert!(settings.tokens.is_empty());
    assert_eq!(settings.identity_provider(), IdentityProvider::Unspecified);
    assert!(
        matches!(authenticated, Err(ServiceError::Unauthenticated)),
        "{authenticated:?}"
    );
    assert_eq!(user_count(&service, &workspace_id).await, 1);
    assert_eq!(*participant.reset.lock().unwrap(), vec![workspace_id]);
}

async fn reset_records_events(ctx: TestContext) {
    let service = ctx
        .service
        .clone()
        .with_reset_participant(FlakyParticipant::new(0, tonic::Code::Ok));
    let workspace_id = workspace(&service, &["example.com"]).await;

    service.reset_scim(&workspace_id).await.unwrap();

    assert_eq!(
        event_types(&service, &workspace_id).await,
        vec![
            "scim_disabled",
            "scim_reset_started",
            "scim_reset_completed"
        ]
    );
}

async fn unavailable_step_stays_pending(ctx: TestContext) {
    let participant = FlakyParticipant::new(1, tonic::Code::Unavailable);
    let service = ctx
        .service
        .clone()
        .with_reset_participant(participant.clone());
    let workspace_id = workspace(&service, &["example.com"]).await;
    issue(&service, &workspace_id).await.unwrap();

    let first = service.reset_scim(&workspace_id).await.unwrap();
    let enable = service.enable_scim(&workspace_id).await;
    let issue_during_reset = issue(&service, &workspace_id).await;

    assert!(!first.completed);
    assert_eq!(first.pending_steps, vec!["groups"]);
    assert!(
        first.pending_reason.contains("unavailable"),
        "{}",
        first.pending_reason
    );
    let settings = first.settings.unwrap();
    assert_eq!(settings.pending_reset_steps, vec!["groups"]);
    assert!(settings.tokens.is_empty());
    for result in [enable.map(|_| ()), issue_during_reset.map(|_| ())] {
        match result {
            Err(ServiceError::PreconditionFailed { violations, .. }) => {
                assert_eq!(violations[0].0, REASON_RESET_IN_PROGRESS);
                assert!(violations[0].1.contains("groups"), "{}", violations[0].1);
            }
            other => panic!("expected RESET_IN_PROGRESS, got {other:?}"),
        }
    }
}

async fn second_reset_finishes_pending_step(ctx: TestContext) {
    let participant = FlakyParticipant::new(1, tonic::Code::Unimplemented);
    let service = ctx
        .service
        .clone()
        .with_reset_participant(participant.clone());
    let workspace_id = workspace(&service, &["example.com"]).await;

    let first = service.reset_scim(&workspace_id).await.unwrap();
    let second = service.reset_scim(&workspace_id).await.unwrap();
    let enabled = service.enable_scim(&workspace_id).await.unwrap();
    let secret = issue(&service, &workspace_id).await;

    assert!(!first.completed);
    assert!(
        first.pending_reason.contains("does not support"),
        "{}",
        first.pending_reason
    );
    assert!(second.completed);
    assert!(second.pending_steps.is_empty());
    assert!(enabled.scim_enabled);
    assert!(secret.is_ok(), "{secret:?}");
    assert_eq!(
        event_types(&service, &workspace_id).await,
        vec![
            "scim_disabled",
            "scim_reset_started",
            "scim_reset_completed",
            "scim_enabled",
            "token_issued"
        ]
    );
}

async fn pending_step_without_client_stays_pending(ctx: TestContext) {
    let with_groups = ctx
        .service
        .clone()
        .with_reset_participant(FlakyParticipant::new(1, tonic::Code::Unavailable));
    let workspace_id = workspace(&with_groups, &["example.com"]).await;
    with_groups.reset_scim(&workspace_id).await.unwrap();

    // The same database, served by an identity-svc without a groups client.
    let response = ctx.service.reset_scim(&workspace_id).await.unwrap();

    assert!(!response.completed);
    assert_eq!(response.pending_steps, vec!["groups"]);
    assert!(
        response.pending_reason.contains("no client"),
        "{}",
        response.pending_reason
    );
}

async fn reset_without_participants_completes(ctx: TestContext) {
    let workspace_id = workspace(&ctx.service, &["example.com"]).await;

    let response = ctx.service.reset_scim(&workspace_id).await.unwrap();

    assert!(response.completed);
    assert!(response.settings.unwrap().pending_reset_steps.is_empty());
}

crate::engine_tests!(
    reset_removes_tokens_and_keeps_users,
    reset_records_events,
    unavailable_step_stays_pending,
    second_reset_finishes_pending_step,
    pending_step_without_client_stays_pending,
    reset_without_participants_completes,
);
