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
use serde::Deserialize;

use super::{AdminState, error::AdminError, parse_body, views::WorkspaceView};

/// Body of `PUT .../scim/setup`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    /// `entra` or `okta`.
    #[serde(default)]
    identity_provider: String,
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

/// `PUT .../scim/setup` with `{"identity_provider": "entra" | "okta"}`.
pub async fn setup(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WorkspaceView>, AdminError> {
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

    let settings = state
        .workspaces()
        .setup_scim(SetupScimRequest {
            workspace_id,
            identity_provider: provider as i32,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .settings;
    view(&state, &headers, settings)
}

fn view(
    state: &AdminState,
    headers: &HeaderMap,
    settings: Option<IdentitySettings>,
) -> Result<Json<WorkspaceView>, AdminError> {
    let settings = settings.ok_or_else(AdminError::internal)?;
    Ok(Json(WorkspaceView::new(state.app(), headers, settings)))
}
