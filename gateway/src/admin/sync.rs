//! Handlers of User Group sync: the identity provider's groups with their
//! sync state and mapped role, and the switch that syncs one to a new User
//! Group (on) or deletes that User Group (off). groups-svc owns the sync
//! state, and rbac-svc the roles.

use std::collections::HashMap;

use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::QueryRejection},
};
use proto::{
    groups::v1::{ListSyncableGroupsRequest, SetGroupSyncRequest},
    rbac::v1::ListGroupMappingsRequest,
};
use serde::{Deserialize, Serialize};

use super::{
    AdminState, error::AdminError, jwt::AdminClaims, non_empty, page_size, query_rejected,
    user_groups::UserGroupView,
};

/// Mappings read per ListGroupMappings call while joining roles.
const MAPPING_PAGE_SIZE: i32 = 1_000;

/// Query of `GET .../sync`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

/// An IdP group with its sync state and mapped role.
#[derive(Debug, Serialize)]
pub struct SyncGroupView {
    group_id: String,
    display_name: String,
    member_count: i64,
    sync_enabled: bool,
    /// The synced User Group while sync is on, else `null`.
    user_group_id: Option<String>,
    /// The role the group is mapped to, or `null` when unmapped.
    role: Option<String>,
}

/// A page of IdP groups, ordered by group id.
#[derive(Debug, Serialize)]
pub struct SyncList {
    groups: Vec<SyncGroupView>,
    /// `page_token` of the next page, or `null` on the last page.
    next_page_token: Option<String>,
}

/// The sync state of one IdP group after a switch.
#[derive(Debug, Serialize)]
pub struct SyncSwitched {
    group_id: String,
    sync_enabled: bool,
    /// False when sync was already off.
    changed: bool,
    /// The User Group created by switching sync on, or `null` after
    /// switching it off.
    user_group: Option<UserGroupView>,
}

/// `GET .../sync?page_size=&page_token=`: the IdP groups, each with its
/// sync state and the role rbac-svc maps it to.
pub async fn list(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<SyncQuery>, QueryRejection>,
) -> Result<Json<SyncList>, AdminError> {
    let Query(query) =
        query.map_err(|rejection| query_rejected(&rejection, "page_size and page_token"))?;
    let response = state
        .user_groups()
        .list_syncable_groups(ListSyncableGroupsRequest {
            workspace_id: workspace_id.clone(),
            page_size: page_size(query.page_size.as_deref())?,
            page_token: query.page_token.unwrap_or_default(),
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    let mut roles = if response.groups.is_empty() {
        HashMap::new()
    } else {
        mapped_roles(&state, &workspace_id).await?
    };
    let groups = response
        .groups
        .into_iter()
        .map(|group| SyncGroupView {
            role: roles.remove(&group.group_id),
            group_id: group.group_id,
            display_name: group.display_name,
            member_count: group.member_count,
            sync_enabled: group.sync_enabled,
            user_group_id: non_empty(group.user_group_id),
        })
        .collect();
    Ok(Json(SyncList {
        groups,
        next_page_token: non_empty(response.next_page_token),
    }))
}

/// Returns the mapped role of every mapped IdP group of the workspace, read
/// page by page from rbac-svc.
async fn mapped_roles(
    state: &AdminState,
    workspace_id: &str,
) -> Result<HashMap<String, String>, AdminError> {
    let mut roles = HashMap::new();
    let mut page_token = String::new();
    loop {
        let page = state
            .role_admin()
            .list_group_mappings(ListGroupMappingsRequest {
                workspace_id: workspace_id.to_owned(),
                mapped_only: true,
                page_size: MAPPING_PAGE_SIZE,
                page_token,
            })
            .await
            .map_err(|status| AdminError::from_rbac_status(&status))?
            .into_inner();
        roles.extend(
            page.mappings
                .into_iter()
                .filter(|mapping| !mapping.role.is_empty())
                .map(|mapping| (mapping.group_id, mapping.role)),
        );
        if page.next_page_token.is_empty() {
            return Ok(roles);
        }
        page_token = page.next_page_token;
    }
}

/// `PUT .../sync/{group_id}`: switches sync on, creating a new User Group
/// named after the IdP group with exactly its members. 409
/// `SYNC_ALREADY_ON` when it is on.
pub async fn switch_on(
    State(state): State<AdminState>,
    Path((workspace_id, group_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<SyncSwitched>, AdminError> {
    let response = state
        .user_groups()
        .set_group_sync(SetGroupSyncRequest {
            workspace_id: workspace_id.clone(),
            group_id: group_id.clone(),
            enabled: true,
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    let changed = response.changed;
    let user_group = response.user_group.ok_or_else(AdminError::internal)?;
    tracing::info!(
        workspace_id = %workspace_id,
        group_id = %group_id,
        user_group_id = %user_group.id,
        "group sync switched on through the admin api"
    );
    Ok(Json(SyncSwitched {
        group_id,
        sync_enabled: true,
        changed,
        user_group: Some(UserGroupView::from(&user_group)),
    }))
}

/// `DELETE .../sync/{group_id}`: switches sync off, deleting the synced
/// User Group. Switching off a sync that is off changes nothing.
pub async fn switch_off(
    State(state): State<AdminState>,
    Path((workspace_id, group_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<SyncSwitched>, AdminError> {
    let response = state
        .user_groups()
        .set_group_sync(SetGroupSyncRequest {
            workspace_id: workspace_id.clone(),
            group_id: group_id.clone(),
            enabled: false,
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    tracing::info!(
        workspace_id = %workspace_id,
        group_id = %group_id,
        changed = response.changed,
        "group sync switched off through the admin api"
    );
    Ok(Json(SyncSwitched {
        group_id,
        sync_enabled: false,
        changed: response.changed,
        user_group: None,
    }))
}
