//! Handlers of User Groups, the groups people share work with, served by
//! groups-svc: listing, creating and deleting manual ones, and reading and
//! changing members. A User Group synced from an IdP group follows that
//! group, so groups-svc rejects manual changes of it with `IDP_MANAGED`.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
};
use proto::{
    groups::v1::{
        AddUserGroupMembersRequest, CreateUserGroupRequest, DeleteUserGroupRequest,
        GetUserGroupRequest, ListUserGroupMembersRequest, ListUserGroupsRequest,
        RemoveUserGroupMembersRequest, UserGroup, UserGroupSource,
    },
    identity::v1::GetUserRequest,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{
    AdminState,
    error::{AdminError, REASON_USER_NOT_FOUND},
    jwt::AdminClaims,
    non_empty, page_size, parse_body, query_rejected, views,
};

/// Body of `POST .../user-groups`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    name: String,
}

/// Query of `GET .../user-groups`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `manual` or `idp`, or every source when absent.
    source: Option<String>,
    page_size: Option<String>,
    page_token: Option<String>,
}

/// Query of `GET .../user-groups/{id}/members`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

/// A User Group as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct UserGroupView {
    id: String,
    name: String,
    /// `manual`, or `idp` for one synced from an IdP group.
    source: &'static str,
    member_count: i64,
    /// The IdP group it is synced from, or `null` for a manual one.
    idp_group_id: Option<String>,
    created: Option<String>,
    last_modified: Option<String>,
    /// Incremented by every change of the User Group or its members.
    version: i64,
}

/// A page of User Groups, ordered by id.
#[derive(Debug, Serialize)]
pub struct UserGroupList {
    user_groups: Vec<UserGroupView>,
    /// `page_token` of the next page, or `null` on the last page.
    next_page_token: Option<String>,
}

/// One member of a User Group.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// The user's id.
    id: String,
}

/// A page of a User Group's members, ordered by user id.
#[derive(Debug, Serialize)]
pub struct MemberList {
    members: Vec<MemberView>,
    next_page_token: Option<String>,
}

/// The result of adding or removing one member.
#[derive(Debug, Serialize)]
pub struct MemberChange {
    user_group: UserGroupView,
    /// False when the user already was a member (add) or was not one
    /// (remove).
    changed: bool,
}

/// The result of deleting a User Group.
#[derive(Debug, Serialize)]
pub struct Deleted {
    id: String,
    deleted: bool,
}

/// `GET .../user-groups?source=&page_size=&page_token=`.
pub async fn list(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<UserGroupList>, AdminError> {
    let Query(query) = query
        .map_err(|rejection| query_rejected(&rejection, "source, page_size and page_token"))?;
    let source = match query.source.as_deref() {
        None => UserGroupSource::Unspecified,
        Some("manual") => UserGroupSource::Manual,
        Some("idp") => UserGroupSource::Idp,
        Some(other) => {
            return Err(AdminError::invalid(
                "source",
                format!("Invalid source {other:?}: use source=manual or source=idp."),
            ));
        }
    };
    let response = state
        .user_groups()
        .list_user_groups(ListUserGroupsRequest {
            workspace_id,
            source: source.into(),
            page_size: page_size(query.page_size.as_deref())?,
            page_token: query.page_token.unwrap_or_default(),
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    Ok(Json(UserGroupList {
        user_groups: response
            .user_groups
            .iter()
            .map(UserGroupView::from)
            .collect(),
        next_page_token: non_empty(response.next_page_token),
    }))
}

/// `POST .../user-groups` with `{"name": "Litigation team"}`: creates a
/// manual User Group without members. Names need not be unique.
pub async fn create(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    Extension(claims): Extension<AdminClaims>,
    body: Bytes,
) -> Result<(StatusCode, Json<UserGroupView>), AdminError> {
    let body: CreateBody = parse_body(&body)?;
    if body.name.trim().is_empty() {
        return Err(AdminError::invalid(
            "name",
            "name is required and must not be empty.",
        ));
    }
    let user_group = state
        .user_groups()
        .create_user_group(CreateUserGroupRequest {
            workspace_id: workspace_id.clone(),
            name: body.name,
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner()
        .user_group
        .ok_or_else(AdminError::internal)?;
    tracing::info!(
        workspace_id = %workspace_id,
        user_group_id = %user_group.id,
        "user group created through the admin api"
    );
    Ok((StatusCode::CREATED, Json(UserGroupView::from(&user_group))))
}

/// `GET .../user-groups/{user_group_id}`.
pub async fn show(
    State(state): State<AdminState>,
    Path((workspace_id, user_group_id)): Path<(String, String)>,
) -> Result<Json<UserGroupView>, AdminError> {
    let user_group = state
        .user_groups()
        .get_user_group(GetUserGroupRequest {
            workspace_id,
            user_group_id,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner()
        .user_group
        .ok_or_else(AdminError::internal)?;
    Ok(Json(UserGroupView::from(&user_group)))
}

/// `DELETE .../user-groups/{user_group_id}`: deletes a manual User Group
/// and its memberships. A synced one is deleted by switching its sync off.
pub async fn delete(
    State(state): State<AdminState>,
    Path((workspace_id, user_group_id)): Path<(String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<Deleted>, AdminError> {
    state
        .user_groups()
        .delete_user_group(DeleteUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: user_group_id.clone(),
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?;
    tracing::info!(
        workspace_id = %workspace_id,
        user_group_id = %user_group_id,
        "user group deleted through the admin api"
    );
    Ok(Json(Deleted {
        id: user_group_id,
        deleted: true,
    }))
}

/// `GET .../user-groups/{user_group_id}/members?page_size=&page_token=`.
pub async fn members(
    State(state): State<AdminState>,
    Path((workspace_id, user_group_id)): Path<(String, String)>,
    query: Result<Query<MembersQuery>, QueryRejection>,
) -> Result<Json<MemberList>, AdminError> {
    let Query(query) =
        query.map_err(|rejection| query_rejected(&rejection, "page_size and page_token"))?;
    let response = state
        .app()
        .memberships
        .clone()
        .list_user_group_members(ListUserGroupMembersRequest {
            workspace_id,
            user_group_id,
            page_size: page_size(query.page_size.as_deref())?,
            page_token: query.page_token.unwrap_or_default(),
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    Ok(Json(MemberList {
        members: response
            .user_ids
            .into_iter()
            .map(|id| MemberView { id })
            .collect(),
        next_page_token: non_empty(response.next_page_token),
    }))
}

/// `PUT .../user-groups/{user_group_id}/members/{user_id}`: adds a user of
/// the workspace to a manual User Group. Adding a member again changes
/// nothing.
pub async fn add_member(
    State(state): State<AdminState>,
    Path((workspace_id, user_group_id, user_id)): Path<(String, String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<MemberChange>, AdminError> {
    require_user(&state, &workspace_id, &user_id).await?;
    let response = state
        .user_groups()
        .add_user_group_members(AddUserGroupMembersRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: user_group_id.clone(),
            user_ids: vec![user_id.clone()],
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    let changed = !response.added_user_ids.is_empty();
    tracing::info!(
        workspace_id = %workspace_id,
        user_group_id = %user_group_id,
        user_id = %user_id,
        changed,
        "user group member added through the admin api"
    );
    member_change(response.user_group, changed)
}

/// `DELETE .../user-groups/{user_group_id}/members/{user_id}`: removes a
/// user from a manual User Group. Removing a user who is not a member
/// changes nothing.
pub async fn remove_member(
    State(state): State<AdminState>,
    Path((workspace_id, user_group_id, user_id)): Path<(String, String, String)>,
    Extension(claims): Extension<AdminClaims>,
) -> Result<Json<MemberChange>, AdminError> {
    let response = state
        .user_groups()
        .remove_user_group_members(RemoveUserGroupMembersRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: user_group_id.clone(),
            user_ids: vec![user_id.clone()],
            actor: claims.sub,
        })
        .await
        .map_err(|status| AdminError::from_groups_status(&status))?
        .into_inner();
    let changed = !response.removed_user_ids.is_empty();
    tracing::info!(
        workspace_id = %workspace_id,
        user_group_id = %user_group_id,
        user_id = %user_id,
        changed,
        "user group member removed through the admin api"
    );
    member_change(response.user_group, changed)
}

/// Rejects a user id that is not a user of the workspace with 404, because
/// groups-svc stores whatever ids it is given.
async fn require_user(
    state: &AdminState,
    workspace_id: &str,
    user_id: &str,
) -> Result<(), AdminError> {
    let found = state
        .app()
        .users
        .clone()
        .get_user(GetUserRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
        })
        .await;
    match found {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::NotFound => Err(AdminError::new(
            404,
            "not_found",
            format!("User {user_id} not found in this workspace."),
        )
        .with_reason(REASON_USER_NOT_FOUND)),
        Err(status) => Err(AdminError::from_status(&status)),
    }
}

fn member_change(
    user_group: Option<UserGroup>,
    changed: bool,
) -> Result<Json<MemberChange>, AdminError> {
    let user_group = user_group.ok_or_else(AdminError::internal)?;
    Ok(Json(MemberChange {
        user_group: UserGroupView::from(&user_group),
        changed,
    }))
}

impl From<&UserGroup> for UserGroupView {
    fn from(user_group: &UserGroup) -> Self {
        let source = match user_group.source() {
            UserGroupSource::Idp => "idp",
            UserGroupSource::Manual | UserGroupSource::Unspecified => "manual",
        };
        Self {
            id: user_group.id.clone(),
            name: user_group.name.clone(),
            source,
            member_count: user_group.member_count,
            idp_group_id: non_empty(user_group.idp_group_id.clone()),
            created: views::rfc3339(user_group.created.as_ref()),
            last_modified: views::rfc3339(user_group.last_modified.as_ref()),
            version: user_group.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synced_user_group_names_its_idp_group() {
        let view = UserGroupView::from(&UserGroup {
            id: "ug1".to_owned(),
            source: UserGroupSource::Idp.into(),
            idp_group_id: "g1".to_owned(),
            ..UserGroup::default()
        });

        assert_eq!(view.source, "idp");
        assert_eq!(view.idp_group_id.as_deref(), Some("g1"));
    }

    #[test]
    fn manual_user_group_has_no_idp_group() {
        let view = UserGroupView::from(&UserGroup {
            id: "ug1".to_owned(),
            source: UserGroupSource::Manual.into(),
            ..UserGroup::default()
        });

        assert_eq!(view.source, "manual");
        assert_eq!(view.idp_group_id, None);
    }
}
