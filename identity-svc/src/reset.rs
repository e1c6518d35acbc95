//! Resumable reset of a workspace's SCIM configuration.
//!
//! The first step runs here, in one transaction: SCIM goes off, every token
//! and the identity provider choice are removed, and the steps other
//! services still owe are recorded in `scim_reset_pending` with a
//! `ScimResetStarted` event. Then each [`ResetParticipant`] is called; a
//! step leaves the pending list only when its service confirmed it. A
//! failed call leaves the reset recorded, and the next `ResetScim` resumes
//! at the pending steps. Users are never touched.

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use proto::events::v1::{ScimResetCompleted, ScimResetStarted, event::Payload};
use proto::groups::v1::{ResetWorkspaceRequest, group_service_client::GroupServiceClient};
use proto::identity::v1::ResetScimResponse;
use tonic::transport::Channel;

use crate::{
    IdentityService,
    error::ServiceError,
    outbox::workspace_event,
    scim_lifecycle::{turn_scim_off, unchanged},
};

/// Name of the groups-svc step: its IdP groups, sync switches and synced
/// User Groups of the workspace.
pub const STEP_GROUPS: &str = "groups";

/// Another service that keeps SCIM state of a workspace and clears it when
/// the workspace's SCIM is reset.
///
/// groups-svc is the only one today. The role service, once it exists,
/// becomes another participant for its IdP-group role mappings and default
/// role.
#[async_trait]
pub trait ResetParticipant: Send + Sync + fmt::Debug {
    /// Name recorded while the step is pending, such as `groups`.
    fn step(&self) -> &'static str;
    /// Clears the workspace's state. Must succeed when called again after
    /// it succeeded once.
    async fn reset_workspace(&self, workspace_id: &str) -> Result<(), tonic::Status>;
}

/// The groups-svc step, over `groups.v1.GroupService/ResetWorkspace`.
#[derive(Debug, Clone)]
pub struct GroupsResetParticipant {
    client: GroupServiceClient<Channel>,
}

impl GroupsResetParticipant {
    /// Uses `channel` to groups-svc; a lazy channel is fine, because a
    /// failed call only leaves the step pending.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: GroupServiceClient::new(channel),
        }
    }
}

#[async_trait]
impl ResetParticipant for GroupsResetParticipant {
    fn step(&self) -> &'static str {
        STEP_GROUPS
    }

    async fn reset_workspace(&self, workspace_id: &str) -> Result<(), tonic::Status> {
        let mut client = self.client.clone();
        let reply = client
            .reset_workspace(ResetWorkspaceRequest {
                workspace_id: workspace_id.to_owned(),
            })
            .await?;
        tracing::info!(
            workspace_id = %workspace_id,
            deleted_groups = reply.get_ref().deleted_groups,
            "groups-svc reset the workspace's groups"
        );
        Ok(())
    }
}

impl IdentityService {
    /// Adds a service to call during resets.
    pub fn with_reset_participant(mut self, participant: Arc<dyn ResetParticipant>) -> Self {
        let mut participants = self.reset_participants.as_ref().clone();
        participants.push(participant);
        self.reset_participants = Arc::new(participants);
        self
    }

    /// Starts or resumes the reset of a workspace's SCIM configuration and
    /// runs its pending steps. A step that fails stays pending and is
    /// named in the response.
    pub async fn reset_scim(&self, workspace_id: &str) -> Result<ResetScimResponse, ServiceError> {
        let steps: Vec<String> = self
            .reset_participants
            .iter()
            .map(|participant| participant.step().to_owned())
            .collect();
        let started = self
            .change_workspace(workspace_id, &mut |current, at| {
                if current.reset_pending.is_some() {
                    return Ok(None);
                }
                let mut change = unchanged(current);
                turn_scim_off(current, &mut change, "reset", at);
                change.next.identity_provider = None;
                change.next.reset_pending = Some(steps.clone());
                change.remove_tokens = true;
                change.events.push(workspace_event(
                    &current.id,
                    Payload::ScimResetStarted(ScimResetStarted {
                        pending_steps: steps.clone(),
                    }),
                    at,
                ));
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %workspace_id, "scim reset started or resumed");

        let mut pending_reason = String::new();
        for step in started.reset_pending.clone().unwrap_or_default() {
            match self.run_reset_step(workspace_id, &step).await {
                Ok(()) => {
                    self.finish_reset_step(workspace_id, &step).await?;
                }
                Err(reason) => {
                    if pending_reason.is_empty() {
                        pending_reason = reason;
                    }
                }
            }
        }

        // A reset with no other steps, or whose last step just finished,
        // is closed here.
        let record = self.finish_reset_step(workspace_id, "").await?;
        let pending_steps = record.reset_pending.clone().unwrap_or_default();
        let completed = record.reset_pending.is_none();
        if completed {
            tracing::info!(workspace_id = %workspace_id, "scim reset completed");
        }
        Ok(ResetScimResponse {
            completed,
            pending_steps,
            pending_reason,
            settings: Some(self.settings_of(record).await?),
        })
    }

    /// Calls the participant of `step`. Returns the reason, written for an
    /// admin, when it failed.
    async fn run_reset_step(&self, workspace_id: &str, step: &str) -> Result<(), String> {
        let Some(participant) = self
            .reset_participants
            .iter()
            .find(|participant| participant.step() == step)
        else {
            tracing::warn!(workspace_id = %workspace_id, step = %step, "no service configured for a pending reset step");
            return Err(format!(
                "this identity-svc has no client for the {step:?} step; configure it and retry"
            ));
        };
        match participant.reset_workspace(workspace_id).await {
            Ok(()) => Ok(()),
            Err(status) => {
                tracing::warn!(
                    workspace_id = %workspace_id,
                    step = %step,
                    code = ?status.code(),
                    error = %status.message(),
                    "reset step failed; it stays pending"
                );
                Err(step_failure(step, &status))
            }
        }
    }

    /// Removes `step` from the pending list, and closes the reset with a
    /// `ScimResetCompleted` event when nothing is left. An empty `step`
    /// only closes a reset whose list is already empty.
    async fn finish_reset_step(
        &self,
        workspace_id: &str,
        step: &str,
    ) -> Result<crate::store::WorkspaceRecord, ServiceError> {
        self.change_workspace(workspace_id, &mut |current, at| {
            let Some(pending) = &current.reset_pending else {
                return Ok(None);
            };
            let remaining: Vec<String> = pending
                .iter()
                .filter(|name| name.as_str() != step)
                .cloned()
                .collect();
            if remaining.len() == pending.len() && !remaining.is_empty() {
                return Ok(None);
            }

            let mut change = unchanged(current);
            if remaining.is_empty() {
                change.next.reset_pending = None;
                change.events.push(workspace_event(
                    &current.id,
                    Payload::ScimResetCompleted(ScimResetCompleted {}),
                    at,
                ));
            } else {
                change.next.reset_pending = Some(remaining);
            }
            Ok(Some(change))
        })
        .await
    }
}

/// Explains a failed step to an admin without internal details.
fn step_failure(step: &str, status: &tonic::Status) -> String {
    let service = if step == STEP_GROUPS {
        "groups-svc"
    } else {
        step
    };
    match status.code() {
        tonic::Code::Unimplemented => {
            format!(
                "{service} does not support workspace resets yet; upgrade it and run the reset again"
            )
        }
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            format!("{service} is unavailable; run the reset again when it is back")
        }
        code => format!("{service} failed the reset step ({code:?}); run the reset again"),
    }
}
