//! A workspace's SCIM switches: SSO state, the SCIM entitlement, enabling,
//! disabling and setting up SCIM, and the Identity & Access settings view.
//!
//! Every change reads the workspace, decides in Rust, and writes on the
//! condition that the workspace's version did not move, together with its
//! outbox events. A lost race is retried from a fresh read, so the rule
//! "SCIM on requires SSO on and the entitlement" holds under concurrency.

use proto::events::v1::{
    IdentityProviderSet, ScimDisabled, ScimEnabled, ScimEntitlementChanged, SsoEnabledChanged,
    event::Payload,
};
use proto::identity::v1::{IdentityProvider, IdentitySettings};
use time::OffsetDateTime;

use crate::{
    IdentityService,
    convert::{identity_provider_name, settings_message},
    error::{
        REASON_RESET_IN_PROGRESS, REASON_SCIM_NOT_ENTITLED, REASON_SSO_NOT_ENABLED, ServiceError,
    },
    now,
    outbox::workspace_event,
    store::{OutboxEvent, WorkspaceRecord},
};

/// How often a workspace change is retried after losing a race.
const MAX_STATE_ATTEMPTS: usize = 8;

/// The outcome a [`StatePlan`] wants written.
pub(crate) struct StateChange {
    /// The new switches; the version is set by [`IdentityService::change_workspace`].
    pub next: WorkspaceRecord,
    pub remove_tokens: bool,
    pub events: Vec<OutboxEvent>,
}

/// Decides a change from the current workspace and the time; `None` when
/// nothing needs to change.
pub(crate) type StatePlan<'a> = dyn FnMut(&WorkspaceRecord, OffsetDateTime) -> Result<Option<StateChange>, ServiceError>
    + Send
    + 'a;

impl IdentityService {
    /// Records whether SAML SSO is on. Turning it off also turns SCIM off.
    pub async fn set_sso_enabled(
        &self,
        workspace_id: &str,
        enabled: bool,
    ) -> Result<IdentitySettings, ServiceError> {
        let record = self
            .change_workspace(workspace_id, &mut |current, at| {
                if current.sso_enabled == enabled {
                    return Ok(None);
                }
                let mut change = unchanged(current);
                change.next.sso_enabled = enabled;
                change.events.push(workspace_event(
                    &current.id,
                    Payload::SsoEnabledChanged(SsoEnabledChanged { enabled }),
                    at,
                ));
                if !enabled {
                    turn_scim_off(current, &mut change, "sso_disabled", at);
                }
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %record.id, sso_enabled = enabled, "workspace sso state set");
        self.settings_of(record).await
    }

    /// Grants or withdraws SCIM. Withdrawing it also turns SCIM off.
    pub async fn set_scim_entitlement(
        &self,
        workspace_id: &str,
        entitled: bool,
    ) -> Result<IdentitySettings, ServiceError> {
        let record = self
            .change_workspace(workspace_id, &mut |current, at| {
                if current.scim_entitled == entitled {
                    return Ok(None);
                }
                let mut change = unchanged(current);
                change.next.scim_entitled = entitled;
                change.events.push(workspace_event(
                    &current.id,
                    Payload::ScimEntitlementChanged(ScimEntitlementChanged { entitled }),
                    at,
                ));
                if !entitled {
                    turn_scim_off(current, &mut change, "entitlement_withdrawn", at);
                }
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %record.id, scim_entitled = entitled, "workspace scim entitlement set");
        self.settings_of(record).await
    }

    /// Returns the workspace's Identity & Access settings.
    pub async fn identity_settings(
        &self,
        workspace_id: &str,
    ) -> Result<IdentitySettings, ServiceError> {
        let record = self.require_workspace(workspace_id).await?;
        self.settings_of(record).await
    }

    /// Turns SCIM on when SSO is on, the workspace is entitled and no reset
    /// is unfinished. Enabling an enabled workspace changes nothing.
    pub async fn enable_scim(&self, workspace_id: &str) -> Result<IdentitySettings, ServiceError> {
        let record = self
            .change_workspace(workspace_id, &mut |current, at| {
                require_no_reset(current)?;
                let mut violations = Vec::new();
                if !current.sso_enabled {
                    violations.push((
                        REASON_SSO_NOT_ENABLED,
                        "SAML SSO is not enabled for this workspace; enable SSO before SCIM.".to_owned(),
                    ));
                }
                if !current.scim_entitled {
                    violations.push((
                        REASON_SCIM_NOT_ENTITLED,
                        "The workspace's plan does not include SCIM provisioning; ask the platform to grant it."
                            .to_owned(),
                    ));
                }
                if !violations.is_empty() {
                    return Err(ServiceError::PreconditionFailed {
                        subject: format!("workspaces/{}", current.id),
                        violations,
                    });
                }
                if current.scim_enabled {
                    return Ok(None);
                }

                let mut change = unchanged(current);
                change.next.scim_enabled = true;
                change
                    .events
                    .push(workspace_event(&current.id, Payload::ScimEnabled(ScimEnabled {}), at));
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %record.id, "scim enabled");
        self.settings_of(record).await
    }

    /// Turns SCIM off and keeps tokens and configuration.
    pub async fn disable_scim(&self, workspace_id: &str) -> Result<IdentitySettings, ServiceError> {
        let record = self
            .change_workspace(workspace_id, &mut |current, at| {
                if !current.scim_enabled {
                    return Ok(None);
                }
                let mut change = unchanged(current);
                turn_scim_off(current, &mut change, "admin", at);
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %record.id, "scim disabled");
        self.settings_of(record).await
    }

    /// Records the identity provider the workspace provisions from.
    pub async fn setup_scim(
        &self,
        workspace_id: &str,
        provider: IdentityProvider,
    ) -> Result<IdentitySettings, ServiceError> {
        let Some(name) = identity_provider_name(provider) else {
            return Err(ServiceError::invalid(
                "identity_provider",
                "must be entra or okta",
            ));
        };
        let record = self
            .change_workspace(workspace_id, &mut |current, at| {
                require_no_reset(current)?;
                if current.identity_provider.as_deref() == Some(name) {
                    return Ok(None);
                }
                let mut change = unchanged(current);
                change.next.identity_provider = Some(name.to_owned());
                change.events.push(workspace_event(
                    &current.id,
                    Payload::IdentityProviderSet(IdentityProviderSet {
                        identity_provider: name.to_owned(),
                    }),
                    at,
                ));
                Ok(Some(change))
            })
            .await?;
        tracing::info!(workspace_id = %record.id, identity_provider = name, "scim set up");
        self.settings_of(record).await
    }

    /// Reads the workspace, lets `plan` decide the change, and writes it on
    /// the condition that the workspace's version did not move, retrying
    /// from a fresh read when it did. Returns the workspace as written.
    pub(crate) async fn change_workspace(
        &self,
        workspace_id: &str,
        plan: &mut StatePlan<'_>,
    ) -> Result<WorkspaceRecord, ServiceError> {
        for _ in 0..MAX_STATE_ATTEMPTS {
            let current = self.require_workspace(workspace_id).await?;
            let Some(change) = plan(&current, now())? else {
                return Ok(current);
            };

            // Read before the write, because a reset deletes the tokens.
            let digests = self.token_digests(workspace_id).await?;
            let mut next = change.next;
            next.version = current.version + 1;
            let written = self
                .store
                .update_workspace_state(
                    &next,
                    current.version,
                    change.remove_tokens,
                    &change.events,
                )
                .await?;
            if written.is_some() {
                // Any switch can change what a token authenticates as (SCIM
                // off, another identity provider), so every token's cached
                // authentication goes.
                self.withdraw_tokens(&digests).await;
                if !change.events.is_empty() {
                    self.outbox_signal.notify();
                }
                return Ok(next);
            }
            tracing::debug!(workspace_id = %workspace_id, "workspace changed concurrently, retrying");
        }
        tracing::warn!(workspace_id = %workspace_id, attempts = MAX_STATE_ATTEMPTS, "workspace change kept losing races");
        Err(ServiceError::ConcurrentChange(workspace_id.to_owned()))
    }

    /// Builds the settings view of `record` with its active tokens.
    pub(crate) async fn settings_of(
        &self,
        record: WorkspaceRecord,
    ) -> Result<IdentitySettings, ServiceError> {
        let at = now();
        let tokens: Vec<_> = self
            .store
            .list_tokens(&record.id)
            .await?
            .into_iter()
            .filter(|token| {
                token.revoked.is_none() && token.expires.is_none_or(|expires| expires > at)
            })
            .collect();
        Ok(settings_message(&record, &tokens))
    }
}

/// Starts a change that keeps every switch as it is.
pub(crate) fn unchanged(current: &WorkspaceRecord) -> StateChange {
    StateChange {
        next: current.clone(),
        remove_tokens: false,
        events: Vec::new(),
    }
}

/// Turns SCIM off in `change` and records why, when it is on.
pub(crate) fn turn_scim_off(
    current: &WorkspaceRecord,
    change: &mut StateChange,
    cause: &str,
    at: OffsetDateTime,
) {
    if !current.scim_enabled {
        return;
    }
    change.next.scim_enabled = false;
    change.events.push(workspace_event(
        &current.id,
        Payload::ScimDisabled(ScimDisabled {
            cause: cause.to_owned(),
        }),
        at,
    ));
}

/// Fails with RESET_IN_PROGRESS, naming the pending steps, while a reset of
/// the workspace is unfinished.
pub(crate) fn require_no_reset(current: &WorkspaceRecord) -> Result<(), ServiceError> {
    match &current.reset_pending {
        Some(steps) => Err(ServiceError::precondition(
            REASON_RESET_IN_PROGRESS,
            &current.id,
            format!(
                "A reset of this workspace's SCIM configuration is unfinished (pending: {}); run the reset again to finish it.",
                steps.join(", ")
            ),
        )),
        None => Ok(()),
    }
}
