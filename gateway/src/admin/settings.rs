//! Handlers of the workspace view and the SCIM switches: show, enable,
//! disable, reset and setup.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
};
use proto::identity::v1::{
    DisableScimRequest, EnableScimRequest, GetIdentitySettingsRequest, IdentityProvider,
    IdentitySettings, ResetScimRequest, SetupScimRequest,
};
use serde::{Deserialize, Serialize};

use super::{
    AdminState,
    error::AdminError,
    parse_body,
    roles::{self, RoleChange},
    views::WorkspaceView,
};

/// Body of `PUT .../scim/setup`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    /// `entra` or `okta`.
    #[serde(default)]
    identity_provider: String,
    /// Role of users in no mapped group. Absent keeps the current default
    /// role.
    default_role: Option<String>,
}

/// Response of `PUT .../scim/setup`: the workspace, and the default role
/// when the request set one.
#[derive(Debug, Serialize)]
pub struct SetupView {
    #[serde(flatten)]
    workspace: WorkspaceView,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_role: Option<DefaultRoleSet>,
}

/// The default role a setup request set.
#[derive(Debug, Serialize)]
pub struct DefaultRoleSet {
    role: String,
    #[serde(flatten)]
    change: RoleChange,
}

/// `GET /admin/v1/workspaces/{workspace_id}`.
pub async fn show(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceView>, AdminError> {
    let settings = state
        .workspaces()
        .get_identity_settings(GetIdentitySettingsRequest { workspace_id })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .settings;
    view(&state, &headers, settings)
}

/// `POST .../scim/enable`.
pub async fn enable(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceView>, AdminError> {
    let settings = state
        .workspaces()
        .enable_scim(EnableScimRequest { workspace_id })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .settings;
    view(&state, &headers, settings)
}

/// `POST .../scim/disable`.
pub async fn disable(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceView>, AdminError> {
    let settings = state
        .workspaces()
        .disable_scim(DisableScimRequest { workspace_id })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .settings;
    view(&state, &headers, settings)
}

/// `POST .../scim/reset`: 200 with the workspace when every step finished,
/// 503 naming the pending steps otherwise, so that running it again
/// finishes the reset.
pub async fn reset(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceView>, AdminError> {
    let response = state
        .workspaces()
        .reset_scim(ResetScimRequest {
            workspace_id: workspace_id.clone(),
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    if !response.completed {
        tracing::warn!(workspace_id = %workspace_id, pending_steps = ?response.pending_steps, "scim reset unfinished");
        let message = format!(
            "The reset is unfinished: {}. SCIM is off and its tokens are already removed.",
            response.pending_reason
        );
        return Err(AdminError::reset_pending(message, response.pending_steps));
    }
    tracing::info!(workspace_id = %workspace_id, "scim reset through the admin api");
    view(&state, &headers, response.settings)
}

/// `PUT .../scim/setup` with `{"identity_provider": "entra" | "okta"}` and
/// an optional `default_role`. Every value is checked before anything
/// changes. The default role is set after identity-svc recorded the setup,
/// so a failure there leaves the setup done and the default role unchanged,
/// and the request can be sent again.
pub async fn setup(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SetupView>, AdminError> {
    let body: SetupBody = parse_body(&body)?;
    let provider = match body.identity_provider.to_ascii_lowercase().as_str() {
        "entra" => IdentityProvider::Entra,
        "okta" => IdentityProvider::Okta,
        _ => {
            return Err(AdminError::invalid(
                "identity_provider",
                format!(
                    "Invalid identity_provider {:?}: use \"entra\" or \"okta\".",
                    body.identity_provider
                ),
            ));
        }
    };
    if let Some(role) = &body.default_role {
        if role.trim().is_empty() {
            return Err(AdminError::invalid(
                "default_role",
                "default_role must not be empty; leave it out to keep the current default role.",
            ));
        }
        roles::require_known_role(&state, &workspace_id, "default_role", role).await?;
    }

    let settings = state
        .workspaces()
        .setup_scim(SetupScimRequest {
            workspace_id: workspace_id.clone(),
            identity_provider: provider as i32,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .settings;
    let Json(workspace) = view(&state, &headers, settings)?;

    let default_role = match body.default_role {
        Some(role) => {
            let change = roles::set_default_role(&state, &workspace_id, role.clone())
                .await
                .map_err(|error| {
                    tracing::warn!(
                        workspace_id = %workspace_id,
                        code = error.body().code,
                        error = %error.body().message,
                        "scim setup recorded, but setting the default role failed"
                    );
                    error.with_role_field("default_role").with_context(
                        "The identity provider is set up, but the default role is unchanged:",
                    )
                })?;
            Some(DefaultRoleSet { role, change })
        }
        None => None,
    };
    Ok(Json(SetupView {
        workspace,
        default_role,
    }))
}

fn view(
    state: &AdminState,
    headers: &HeaderMap,
    settings: Option<IdentitySettings>,
) -> Result<Json<WorkspaceView>, AdminError> {
    let settings = settings.ok_or_else(AdminError::internal)?;
    Ok(Json(WorkspaceView::new(state.app(), headers, settings)))
}
