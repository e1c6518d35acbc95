//! Handlers of a workspace's email domains and of users created outside
//! SCIM.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use proto::identity::v1::{
    AddWorkspaceDomainRequest, CreateUnmanagedUserRequest, GetUserRequest, GetWorkspaceRequest,
    RemoveWorkspaceDomainRequest,
};
use serde::{Deserialize, Serialize};

use super::{AdminState, error::AdminError, parse_body, views::UserView};

/// Body of `POST .../domains`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    #[serde(default)]
    domain: String,
}

/// Body of `POST .../users`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    #[serde(default)]
    email: String,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DomainList {
    domains: Vec<String>,
}

/// `GET .../domains`.
pub async fn list_domains(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
) -> Result<Json<DomainList>, AdminError> {
    let workspace = state
        .workspaces()
        .get_workspace(GetWorkspaceRequest { workspace_id })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .workspace
        .ok_or_else(AdminError::internal)?;
    Ok(Json(DomainList {
        domains: workspace.domains,
    }))
}

/// `POST .../domains` with `{"domain": "example.com"}` or `*.example.com`.
pub async fn add_domain(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> Result<Json<DomainList>, AdminError> {
    let body: DomainBody = parse_body(&body)?;
    let response = state
        .workspaces()
        .add_workspace_domain(AddWorkspaceDomainRequest {
            workspace_id,
            domain: body.domain,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    Ok(Json(DomainList {
        domains: response.domains,
    }))
}

/// `DELETE .../domains/{domain}`.
pub async fn remove_domain(
    State(state): State<AdminState>,
    Path((workspace_id, domain)): Path<(String, String)>,
) -> Result<Json<DomainList>, AdminError> {
    let response = state
        .workspaces()
        .remove_workspace_domain(RemoveWorkspaceDomainRequest {
            workspace_id,
            domain,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner();
    Ok(Json(DomainList {
        domains: response.domains,
    }))
}

/// `POST .../users`: creates a user that SCIM does not manage until the
/// identity provider first writes it.
pub async fn create_user(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<UserView>), AdminError> {
    let body: UserBody = parse_body(&body)?;
    let user = state
        .app()
        .users
        .clone()
        .create_unmanaged_user(CreateUnmanagedUserRequest {
            workspace_id: workspace_id.clone(),
            email: body.email,
            given_name: body.given_name,
            family_name: body.family_name,
            display_name: body.display_name,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .user
        .ok_or_else(AdminError::internal)?;
    tracing::info!(workspace_id = %workspace_id, user_id = %user.id, "unmanaged user created through the admin api");
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// `GET .../users/{user_id}`.
pub async fn get_user(
    State(state): State<AdminState>,
    Path((workspace_id, user_id)): Path<(String, String)>,
) -> Result<Json<UserView>, AdminError> {
    let user = state
        .app()
        .users
        .clone()
        .get_user(GetUserRequest {
            workspace_id,
            user_id,
        })
        .await
        .map_err(|status| AdminError::from_status(&status))?
        .into_inner()
        .user
        .ok_or_else(AdminError::internal)?;
    Ok(Json(UserView::from(&user)))
}
