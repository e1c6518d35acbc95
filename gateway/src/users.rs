//! `/Users` handlers: create, read, list and search, replace, patch and
//! delete (RFC 7644 section 3).

use axum::{
    Extension,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use proto::groups::v1::{ListGroupsForUserRequest, RemoveUserMembershipsRequest};
use proto::identity::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, ReplaceUserRequest,
    User,
};
use scim_protocol::{error::ScimType, patch, resource, schema};
use serde_json::Value;
use tonic::Code;

use crate::{
    AppState,
    auth::Tenant,
    error::ApiError,
    list::{ListQuery, Page},
    mapping::{list_response, user_from_scim, user_to_scim, version_of},
    request::{QueryParams, if_match_version, read_json, resource_response, scim_response},
};

/// How often a PATCH or PUT without `If-Match` is retried when another
/// writer changed the user between the read and the conditional write.
const MAX_WRITE_ATTEMPTS: usize = 8;

const RESOURCE: &str = "User";

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let mut normalized = resource::normalize(&body, schema::user())?;
    require_user_name(&normalized)?;
    // A provisioned user is active unless the identity provider sends `active: false`.
    if let Some(object) = normalized.as_object_mut() {
        object.entry("active").or_insert(Value::Bool(true));
    }
    let user = user_from_scim(&normalized)?;

    let mut client = state.users.clone();
    let created = client
        .create_user(CreateUserRequest {
            workspace_id: tenant.workspace_id.clone(),
            user: Some(user),
        })
        .await
        .map_err(|status| ApiError::from_status(&status, RESOURCE))?
        .into_inner()
        .user
        .ok_or_else(ApiError::internal)?;
    tracing::info!(user_id = %created.id, "user created");

    let location = state.location(&headers, &tenant.workspace_id, &created.id);
    let scim = user_to_scim(&created, &location);
    Ok(resource_response(
        StatusCode::CREATED,
        &scim,
        version_of(&created),
        Some(&location),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, user_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let user = fetch(&state, &tenant, &user_id).await?;

    let location = state.location(&headers, &tenant.workspace_id, &user.id);
    let mut scim = user_to_scim(&user, &location);
    if wants_groups(&params) {
        let base = state.base_url(&headers, &tenant.workspace_id);
        attach_groups(&state, &tenant, &base, &mut scim).await;
    }
    resource::project(
        &mut scim,
        params.get("attributes"),
        params.get("excludedAttributes"),
        schema::user(),
    )?;
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&user),
        None,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    search_with(&state, &tenant, &params, &headers).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let params = QueryParams::from_search_body(&body)?;
    search_with(&state, &tenant, &params, &headers).await
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let normalized = resource::normalize(&body, schema::user())?;
    require_user_name(&normalized)?;
    let keeps_active = normalized.get("active").is_none();
    let replacement = user_from_scim(&normalized)?;

    let saved = write_with_retry(&state, &tenant, &user_id, if_match, |current| {
        // `roles` and `entitlements` come from group mappings, so a PUT keeps
        // the stored values instead of clearing them.
        // A PUT without `active` keeps the current state: a replace that
        // omits the attribute must not deactivate the user.
        let mut user = replacement.clone();
        user.id = current.id.clone();
        if keeps_active {
            user.active = current.active;
        }
        user.roles = current.roles.clone();
        user.entitlements = current.entitlements.clone();
        Ok(Some(user))
    })
    .await?;

    let location = state.location(&headers, &tenant.workspace_id, &saved.id);
    let scim = user_to_scim(&saved, &location);
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&saved),
        None,
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, user_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let request = patch::PatchRequest::from_json(&body)?;
    let location = state.location(&headers, &tenant.workspace_id, &user_id);

    let saved = write_with_retry(&state, &tenant, &user_id, if_match, |current| {
        let mut scim = user_to_scim(current, &location);
        let changed = patch::apply(&mut scim, &request, schema::user())?;
        if !changed {
            return Ok(None);
        }
        require_user_name(&scim)?;
        let mut user = user_from_scim(&scim)?;
        user.id = current.id.clone();
        user.roles = current.roles.clone();
        user.entitlements = current.entitlements.clone();
        Ok(Some(user))
    })
    .await?;

    let params = QueryParams::parse(query.as_deref());
    let mut scim = user_to_scim(&saved, &location);
    resource::project(
        &mut scim,
        params.get("attributes"),
        params.get("excludedAttributes"),
        schema::user(),
    )?;
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&saved),
        None,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;

    let mut client = state.users.clone();
    let reply = client
        .delete_user(DeleteUserRequest {
            workspace_id: tenant.workspace_id.clone(),
            user_id: user_id.clone(),
            expected_version: if_match,
        })
        .await;
    match reply {
        Ok(_) => {
            tracing::info!(user_id = %user_id, "user deleted");
            remove_memberships(&state, &tenant, &user_id).await;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(status) if status.code() == Code::NotFound => {
            Err(ApiError::not_found(RESOURCE, &user_id))
        }
        Err(status) => Err(ApiError::from_status(&status, RESOURCE)),
    }
}

/// Reads the user, lets `change` compute its new state, and writes it on
/// the condition that no other writer changed it in between.
///
/// With `If-Match`, a stale version is 412. Without it, a lost race is
/// retried from a fresh read, so two concurrent writers both land and the
/// identity provider never sees a conflict it did not ask for. `change`
/// returns `None` when the request changes nothing, which writes nothing.
async fn write_with_retry<F>(
    state: &AppState,
    tenant: &Tenant,
    user_id: &str,
    if_match: Option<i64>,
    mut change: F,
) -> Result<User, ApiError>
where
    F: FnMut(&User) -> Result<Option<User>, ApiError>,
{
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = fetch(state, tenant, user_id).await?;
        let current_version = version_of(&current);
        if if_match.is_some_and(|expected| expected != current_version) {
            return Err(ApiError::version_mismatch());
        }

        let Some(user) = change(&current)? else {
            return Ok(current);
        };

        let mut client = state.users.clone();
        let reply = client
            .replace_user(ReplaceUserRequest {
                workspace_id: tenant.workspace_id.clone(),
                user: Some(user),
                expected_version: Some(current_version),
            })
            .await;
        match reply {
            Ok(reply) => {
                tracing::info!(user_id = %user_id, "user updated");
                return reply.into_inner().user.ok_or_else(ApiError::internal);
            }
            Err(status) if status.code() == Code::Aborted && if_match.is_none() => {
                tracing::debug!(user_id = %user_id, "version conflict, retrying");
                continue;
            }
            Err(status) if status.code() == Code::NotFound => {
                return Err(ApiError::not_found(RESOURCE, user_id));
            }
            Err(status) => return Err(ApiError::from_status(&status, RESOURCE)),
        }
    }
    tracing::warn!(user_id = %user_id, attempts = MAX_WRITE_ATTEMPTS, "user update kept losing races");
    Err(ApiError::new(
        409,
        None,
        "The user is being changed by other requests at the same time; retry the request.",
    ))
}

async fn fetch(state: &AppState, tenant: &Tenant, user_id: &str) -> Result<User, ApiError> {
    let mut client = state.users.clone();
    let reply = client
        .get_user(GetUserRequest {
            workspace_id: tenant.workspace_id.clone(),
            user_id: user_id.to_owned(),
        })
        .await;
    match reply {
        Ok(reply) => reply.into_inner().user.ok_or_else(ApiError::internal),
        Err(status) if status.code() == Code::NotFound => {
            Err(ApiError::not_found(RESOURCE, user_id))
        }
        Err(status) => Err(ApiError::from_status(&status, RESOURCE)),
    }
}

async fn search_with(
    state: &AppState,
    tenant: &Tenant,
    params: &QueryParams,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let page = find(state, tenant, params, headers).await?;
    Ok(scim_response(
        StatusCode::OK,
        &list_response(page.resources, page.total_results, page.start_index),
    ))
}

/// Returns one page of users as projected SCIM JSON.
pub async fn find(
    state: &AppState,
    tenant: &Tenant,
    params: &QueryParams,
    headers: &HeaderMap,
) -> Result<Page, ApiError> {
    let request = list_request(state, tenant, params)?;
    let start_index = request.start_index;

    let mut client = state.users.clone();
    let reply = client
        .list_users(request)
        .await
        .map_err(|status| ApiError::from_status(&status, RESOURCE))?
        .into_inner();

    let mut resources: Vec<Value> = reply
        .users
        .iter()
        .map(|user| {
            user_to_scim(
                user,
                &state.location(headers, &tenant.workspace_id, &user.id),
            )
        })
        .collect();
    if wants_groups(params) {
        let base = state.base_url(headers, &tenant.workspace_id);
        let lookups = resources
            .iter_mut()
            .map(|scim| attach_groups(state, tenant, &base, scim));
        futures::future::join_all(lookups).await;
    }
    for scim in &mut resources {
        resource::project(
            scim,
            params.get("attributes"),
            params.get("excludedAttributes"),
            schema::user(),
        )?;
    }
    Ok(Page {
        resources,
        total_results: reply.total_results,
        start_index,
    })
}

/// Builds the list request from SCIM paging, sorting and filter parameters.
fn list_request(
    state: &AppState,
    tenant: &Tenant,
    params: &QueryParams,
) -> Result<ListUsersRequest, ApiError> {
    let query = ListQuery::parse(params, &state.settings, schema::user())?;
    Ok(ListUsersRequest {
        workspace_id: tenant.workspace_id.clone(),
        filter: query.filter,
        start_index: query.start_index,
        count: query.count,
        sort_by: query.sort_by,
        sort_order: query.sort_order as i32,
    })
}

/// Longest accepted `userName`, in bytes. It keeps the unique index on the
/// folded name within PostgreSQL's index row limit.
pub const MAX_USER_NAME_BYTES: usize = 512;

/// Largest accepted User as SCIM JSON, in bytes. It keeps a full page of
/// users within the gRPC message limit.
pub const MAX_USER_BYTES: usize = 32 * 1024;

/// Checks what every stored user must satisfy: RFC 7643 section 4.1.1 makes
/// `userName` required, and both the name and the whole resource have a
/// size limit. Runs before any service is called.
fn require_user_name(resource: &Value) -> Result<(), ApiError> {
    match resource.get("userName").and_then(Value::as_str) {
        Some(name) if name.len() > MAX_USER_NAME_BYTES => {
            return Err(ApiError::new(
                400,
                Some(ScimType::InvalidValue),
                format!("userName is longer than {MAX_USER_NAME_BYTES} bytes."),
            ));
        }
        Some(name) if !name.trim().is_empty() => {}
        _ => {
            return Err(ApiError::new(
                400,
                Some(ScimType::InvalidValue),
                "userName is required and must be a non-empty string.",
            ));
        }
    }
    let size = serde_json::to_vec(resource).map_or(0, |bytes| bytes.len());
    if size > MAX_USER_BYTES {
        return Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            format!("The User is {size} bytes as JSON; the maximum is {MAX_USER_BYTES}."),
        ));
    }
    Ok(())
}

/// Removes a deleted user from its groups before the DELETE response is sent, so
/// no group read shows the user afterwards. identity-svc's outbox delivers
/// the deletion to groups-svc as well, so a failure here delays the removal
/// but never loses it.
async fn remove_memberships(state: &AppState, tenant: &Tenant, user_id: &str) {
    let mut client = state.groups.clone();
    let reply = client
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: tenant.workspace_id.clone(),
            user_id: user_id.to_owned(),
        })
        .await;
    if let Err(status) = reply {
        metrics::counter!("scim_membership_cleanup_deferred_total").increment(1);
        tracing::warn!(user_id = %user_id, code = ?status.code(), "membership removal deferred to the outbox relay");
    }
}

/// Returns whether the response will show the read-only `groups`
/// attribute, so groups-svc is called only then.
fn wants_groups(params: &QueryParams) -> bool {
    params.projection_shows(schema::USER, "groups")
}

/// Adds the user's `groups` (RFC 7643 section 4.1.2) from groups-svc. When
/// the call to groups-svc fails, the attribute is left out and the failure is
/// logged and counted, so user reads keep working.
async fn attach_groups(state: &AppState, tenant: &Tenant, base: &str, scim: &mut Value) {
    let Some(user_id) = scim.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let mut client = state.memberships.clone();
    let reply = client
        .list_groups_for_user(ListGroupsForUserRequest {
            workspace_id: tenant.workspace_id.clone(),
            user_id: user_id.clone(),
        })
        .await;
    let groups = match reply {
        Ok(reply) => reply.into_inner().groups,
        Err(status) => {
            metrics::counter!("scim_user_groups_unavailable_total").increment(1);
            tracing::warn!(user_id = %user_id, code = ?status.code(), "user groups unavailable; groups attribute omitted");
            return;
        }
    };
    if groups.is_empty() {
        return;
    }
    let entries: Vec<Value> = groups
        .into_iter()
        .map(|group| {
            serde_json::json!({
                "value": group.id,
                "$ref": format!("{base}/Groups/{}", group.id),
                "display": group.display_name,
                "type": "direct",
            })
        })
        .collect();
    if let Some(object) = scim.as_object_mut() {
        object.insert("groups".to_owned(), Value::Array(entries));
    }
}
