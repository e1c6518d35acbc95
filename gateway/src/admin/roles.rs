//! Handlers of the role catalogue, the default role, IdP group mappings and
//! users' effective roles, served by rbac-svc. A change applies at once and
//! returns how many users' effective role changed. A preview computes the
//! same numbers and applies nothing.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
};
use proto::rbac::v1::{
    EffectiveRole, GetEffectiveRoleRequest, ListGroupMappingsRequest, ListRolesRequest,
    PreviewRoleChangeRequest, RemoveGroupMappingRequest, RoleSource, SetDefaultRoleRequest,
    SetGroupMappingRequest, SetUserRoleRequest, preview_role_change_request::Change,
};
use serde::{Deserialize, Serialize};

use super::{
    AdminState,
    error::{AdminError, REASON_UNKNOWN_ROLE},
    jwt::AdminClaims,
    parse_body,
};

/// Body of `PUT .../roles/default`, `PUT .../mappings/{group_id}` and
/// `PUT .../users/{user_id}/role`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[serde(default)]
    role: String,
}

/// Body of `POST .../mappings/preview`: exactly one proposed change, as
/// `group_id` with `role`, `remove_group_id`, or `default_role`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    group_id: Option<String>,
    role: Option<String>,
    remove_group_id: Option<String>,
    default_role: Option<String>,
    /// Changed users listed in `sample`. 0 or absent selects rbac-svc's
    /// default.
    #[serde(default)]
    sample_size: i32,
}

/// Query of `GET .../mappings`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingsQuery {
    #[serde(default)]
    mapped_only: bool,
    /// 0 or absent selects rbac-svc's default.
    #[serde(default)]
    page_size: i32,
    #[serde(default)]
    page_token: String,
}

/// One role of the catalogue.
#[derive(Debug, Serialize)]
pub struct RoleView {
    name: String,
    /// Higher ranks win when a user's groups map to several roles.
    rank: i32,
    description: String,
}

/// The catalogue, highest rank first, and the default role.
#[derive(Debug, Serialize)]
pub struct RoleList {
    roles: Vec<RoleView>,
    default_role: String,
}

/// The effect of an applied change of the default role or of a mapping.
#[derive(Debug, Serialize)]
pub struct RoleChange {
    /// The replaced default role or mapping, or `null` when the group had
    /// no mapping.
    previous_role: Option<String>,
    /// Users whose effective role changed.
    changed_users: i64,
}

/// An IdP group with its mapped role.
#[derive(Debug, Serialize)]
pub struct MappingView {
    group_id: String,
    display_name: String,
    member_count: i64,
    /// `null` when the group is not mapped.
    role: Option<String>,
}

/// A page of IdP groups with their mapped roles.
#[derive(Debug, Serialize)]
pub struct MappingList {
    mappings: Vec<MappingView>,
    /// `page_token` of the next page, or `null` on the last page.
    next_page_token: Option<String>,
}

/// Number of users that would move from one role to another.
#[derive(Debug, Serialize)]
pub struct TransitionView {
    /// `null` for users who hold no role yet.
    from_role: Option<String>,
    to_role: String,
    users: i64,
}

/// One user whose role would change.
#[derive(Debug, Serialize)]
pub struct SampleView {
    user_id: String,
    from_role: Option<String>,
    to_role: String,
}

/// The predicted effect of a proposed change.
#[derive(Debug, Serialize)]
pub struct PreviewView {
    changed_users: i64,
    /// Largest first.
    transitions: Vec<TransitionView>,
    /// Some of the changed users, ordered by user id.
    sample: Vec<SampleView>,
}

/// A user's effective role.
#[derive(Debug, Serialize)]
pub struct UserRoleView {
    user_id: String,
    active: bool,
    /// `null` for a deactivated user, who has no role.
    role: Option<String>,
    /// `null` when `role` is.
    rank: Option<i32>,
    /// `default`, `group_mapping` or `manual`.
    source: Option<&'static str>,
    /// The mapped group the role comes from, for `group_mapping`.
    group_id: Option<String>,
    scim_managed: bool,
}

/// `GET .../roles`.
pub async fn list(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
) -> Result<Json<RoleList>, AdminError> {
    let response = state
        .role_admin()
        .list_roles(ListRolesRequest { workspace_id })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    Ok(Json(RoleList {
        roles: response
            .roles
            .into_iter()
            .map(|role| RoleView {
                name: role.name,
                rank: role.rank,
                description: role.description,
            })
            .collect(),
        default_role: response.default_role,
    }))
}

/// `PUT .../roles/default` with `{"role": "viewer"}`.
pub async fn set_default(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> Result<Json<RoleChange>, AdminError> {
    let body: RoleBody = parse_body(&body)?;
    let role = required("role", body.role)?;
    let change = set_default_role(&state, &workspace_id, role).await?;
    Ok(Json(change))
}

/// Sets the workspace's default role through rbac-svc. SCIM setup uses it
/// too.
pub(super) async fn set_default_role(
    state: &AdminState,
    workspace_id: &str,
    role: String,
) -> Result<RoleChange, AdminError> {
    let response = state
        .role_admin()
        .set_default_role(SetDefaultRoleRequest {
            workspace_id: workspace_id.to_owned(),
            role: role.clone(),
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    tracing::info!(
        workspace_id = %workspace_id,
        role = %role,
        changed_users = response.changed_users,
        "default role set through the admin api"
    );
    Ok(RoleChange {
        previous_role: non_empty(response.previous_role),
        changed_users: response.changed_users,
    })
}

/// Rejects a role that is not in the workspace's catalogue with 400 on
/// `field`. A request that changes several services calls it before its
/// first change.
pub(super) async fn require_known_role(
    state: &AdminState,
    workspace_id: &str,
    field: &str,
    role: &str,
) -> Result<(), AdminError> {
    let catalogue = state
        .role_admin()
        .list_roles(ListRolesRequest {
            workspace_id: workspace_id.to_owned(),
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    if catalogue.roles.iter().any(|known| known.name == role) {
        return Ok(());
    }
    let names: Vec<&str> = catalogue
        .roles
        .iter()
        .map(|known| known.name.as_str())
        .collect();
    Err(AdminError::invalid(
        field,
        format!(
            "Unknown role {role:?} in {field}: use one of {}.",
            names.join(", ")
        ),
    )
    .with_reason(REASON_UNKNOWN_ROLE))
}

/// `GET .../mappings?mapped_only=&page_size=&page_token=`: IdP groups with
/// their mapped role, ordered by group id.
pub async fn list_mappings(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<MappingsQuery>, QueryRejection>,
) -> Result<Json<MappingList>, AdminError> {
    let Query(query) = query.map_err(|rejection| {
        AdminError::new(
            400,
            "invalid_argument",
            format!(
                "The query string is not valid: {}. Use mapped_only=true|false, page_size=<number> and page_token=<token>.",
                rejection.body_text()
            ),
        )
    })?;
    let response = state
        .role_admin()
        .list_group_mappings(ListGroupMappingsRequest {
            workspace_id,
            mapped_only: query.mapped_only,
            page_size: query.page_size,
            page_token: query.page_token,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    Ok(Json(MappingList {
        mappings: response
            .mappings
            .into_iter()
            .map(|mapping| MappingView {
                group_id: mapping.group_id,
                display_name: mapping.display_name,
                member_count: mapping.member_count,
                role: non_empty(mapping.role),
            })
            .collect(),
        next_page_token: non_empty(response.next_page_token),
    }))
}

/// `PUT .../mappings/{group_id}` with `{"role": "manager"}`: maps the IdP
/// group to the role, replacing its previous mapping.
pub async fn set_mapping(
    State(state): State<AdminState>,
    Path((workspace_id, group_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
    body: Bytes,
) -> Result<Json<RoleChange>, AdminError> {
    let body: RoleBody = parse_body(&body)?;
    let role = required("role", body.role)?;
    let response = state
        .role_admin()
        .set_group_mapping(SetGroupMappingRequest {
            workspace_id: workspace_id.clone(),
            group_id: group_id.clone(),
            role: role.clone(),
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    tracing::info!(
        workspace_id = %workspace_id,
        group_id = %group_id,
        role = %role,
        changed_users = response.changed_users,
        "group mapping set through the admin api"
    );
    Ok(Json(RoleChange {
        previous_role: non_empty(response.previous_role),
        changed_users: response.changed_users,
    }))
}

/// `DELETE .../mappings/{group_id}`.
pub async fn remove_mapping(
    State(state): State<AdminState>,
    Path((workspace_id, group_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<RoleChange>, AdminError> {
    let response = state
        .role_admin()
        .remove_group_mapping(RemoveGroupMappingRequest {
            workspace_id: workspace_id.clone(),
            group_id: group_id.clone(),
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner();
    tracing::info!(
        workspace_id = %workspace_id,
        group_id = %group_id,
        changed_users = response.changed_users,
        "group mapping removed through the admin api"
    );
    Ok(Json(RoleChange {
        previous_role: non_empty(response.previous_role),
        changed_users: response.changed_users,
    }))
}

/// `POST .../mappings/preview`: what a proposed mapping, mapping removal
/// or default role would change, without applying it.
pub async fn preview(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> Result<Json<PreviewView>, AdminError> {
    let body: PreviewBody = parse_body(&body)?;
    let (change, role_field) = proposed_change(
        &workspace_id,
        body.group_id,
        body.role,
        body.remove_group_id,
        body.default_role,
    )?;
    let response = state
        .role_admin()
        .preview_role_change(PreviewRoleChangeRequest {
            workspace_id,
            change: Some(change),
            sample_size: body.sample_size,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status).with_role_field(role_field))?
        .into_inner();
    Ok(Json(PreviewView {
        changed_users: response.changed_users,
        transitions: response
            .transitions
            .into_iter()
            .map(|transition| TransitionView {
                from_role: non_empty(transition.from_role),
                to_role: transition.to_role,
                users: transition.users,
            })
            .collect(),
        sample: response
            .sample
            .into_iter()
            .map(|change| SampleView {
                user_id: change.user_id,
                from_role: non_empty(change.from_role),
                to_role: change.to_role,
            })
            .collect(),
    }))
}

/// Builds the proposed change of a preview body, which must name exactly
/// one. Also returns the body field that contains the proposed role, so
/// that an unknown role is reported on it.
fn proposed_change(
    workspace_id: &str,
    group_id: Option<String>,
    role: Option<String>,
    remove_group_id: Option<String>,
    default_role: Option<String>,
) -> Result<(Change, &'static str), AdminError> {
    match (group_id, role, remove_group_id, default_role) {
        (Some(group_id), Some(role), None, None) => Ok((
            Change::SetMapping(SetGroupMappingRequest {
                workspace_id: workspace_id.to_owned(),
                group_id: required("group_id", group_id)?,
                role: required("role", role)?,
                actor: String::new(),
            }),
            "role",
        )),
        (None, None, Some(group_id), None) => Ok((
            Change::RemoveMapping(required("remove_group_id", group_id)?),
            "role",
        )),
        (None, None, None, Some(role)) => Ok((
            Change::DefaultRole(required("default_role", role)?),
            "default_role",
        )),
        (Some(_), None, None, None) => Err(AdminError::invalid(
            "role",
            "A proposed mapping needs role beside group_id.",
        )),
        (None, Some(_), None, None) => Err(AdminError::invalid(
            "group_id",
            "A proposed mapping needs group_id beside role.",
        )),
        _ => Err(AdminError::new(
            400,
            "invalid_argument",
            "Send exactly one proposed change: {\"group_id\", \"role\"}, {\"remove_group_id\"} or {\"default_role\"}.",
        )),
    }
}

/// `GET .../users/{user_id}/role`.
pub async fn user_role(
    State(state): State<AdminState>,
    Path((workspace_id, user_id)): Path<(String, String)>,
) -> Result<Json<UserRoleView>, AdminError> {
    let effective_role = state
        .roles()
        .get_effective_role(GetEffectiveRoleRequest {
            workspace_id,
            user_id,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner()
        .effective_role
        .ok_or_else(AdminError::internal)?;
    Ok(Json(UserRoleView::from(effective_role)))
}

/// `PUT .../users/{user_id}/role` with `{"role": "manager"}`: gives a user
/// that SCIM does not manage a role. A SCIM-managed user gets 409.
pub async fn set_user_role(
    State(state): State<AdminState>,
    Path((workspace_id, user_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
    body: Bytes,
) -> Result<Json<UserRoleView>, AdminError> {
    let body: RoleBody = parse_body(&body)?;
    let role = required("role", body.role)?;
    let effective_role = state
        .role_admin()
        .set_user_role(SetUserRoleRequest {
            workspace_id: workspace_id.clone(),
            user_id: user_id.clone(),
            role: role.clone(),
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_rbac_status(&status))?
        .into_inner()
        .effective_role
        .ok_or_else(AdminError::internal)?;
    tracing::info!(
        workspace_id = %workspace_id,
        user_id = %user_id,
        role = %role,
        "manual role set through the admin api"
    );
    Ok(Json(UserRoleView::from(effective_role)))
}

impl From<EffectiveRole> for UserRoleView {
    fn from(effective_role: EffectiveRole) -> Self {
        let source = match effective_role.source() {
            RoleSource::Default => Some("default"),
            RoleSource::GroupMapping => Some("group_mapping"),
            RoleSource::Manual => Some("manual"),
            RoleSource::Unspecified => None,
        };
        let role = non_empty(effective_role.role);
        Self {
            rank: role.as_ref().map(|_| effective_role.rank),
            role,
            user_id: effective_role.user_id,
            active: effective_role.active,
            source,
            group_id: non_empty(effective_role.group_id),
            scim_managed: effective_role.scim_managed,
        }
    }
}

/// Returns `value`, or a 400 on `field` when it is empty or blank.
fn required(field: &str, value: String) -> Result<String, AdminError> {
    if value.trim().is_empty() {
        return Err(AdminError::invalid(
            field,
            format!("{field} is required and must not be empty."),
        ));
    }
    Ok(value)
}

/// Maps the empty string, which proto3 uses for "none", to `None`.
fn non_empty(value: String) -> Option<String> {
    if value.is_empty() { None } else { Some(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview_change(body: &str) -> Result<(Change, &'static str), AdminError> {
        let body: PreviewBody = parse_body(body.as_bytes())?;
        proposed_change(
            "w1",
            body.group_id,
            body.role,
            body.remove_group_id,
            body.default_role,
        )
    }

    #[test]
    fn preview_body_proposed_mapping() {
        let (change, field) = preview_change(r#"{"group_id": "g1", "role": "manager"}"#).unwrap();

        assert!(
            matches!(&change, Change::SetMapping(set) if set.group_id == "g1" && set.role == "manager"),
            "{change:?}"
        );
        assert_eq!(field, "role");
    }

    #[test]
    fn preview_body_default_role_reports_its_field() {
        let (change, field) = preview_change(r#"{"default_role": "viewer"}"#).unwrap();

        assert!(
            matches!(&change, Change::DefaultRole(role) if role == "viewer"),
            "{change:?}"
        );
        assert_eq!(field, "default_role");
    }

    #[test]
    fn preview_body_two_changes_rejected() {
        let error =
            preview_change(r#"{"remove_group_id": "g1", "default_role": "viewer"}"#).unwrap_err();

        assert_eq!(error.body().status, 400);
    }

    #[test]
    fn preview_body_empty_rejected() {
        let error = preview_change("").unwrap_err();

        assert_eq!(error.body().status, 400);
    }

    #[test]
    fn preview_body_group_without_role_rejected() {
        let error = preview_change(r#"{"group_id": "g1"}"#).unwrap_err();

        assert_eq!(error.body().field.as_deref(), Some("role"));
    }

    #[test]
    fn preview_body_blank_role_rejected() {
        let error = preview_change(r#"{"group_id": "g1", "role": " "}"#).unwrap_err();

        assert_eq!(error.body().field.as_deref(), Some("role"));
    }

    #[test]
    fn inactive_user_has_no_role_or_rank() {
        let view = UserRoleView::from(EffectiveRole {
            user_id: "u1".to_owned(),
            active: false,
            source: RoleSource::GroupMapping.into(),
            group_id: "g1".to_owned(),
            ..EffectiveRole::default()
        });

        assert_eq!(view.role, None);
        assert_eq!(view.rank, None);
        assert_eq!(view.source, Some("group_mapping"));
    }
}
