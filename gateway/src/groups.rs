//! `/Groups` handlers. Membership changes travel to groups-svc as ordered
//! set operations, so a PATCH that adds one member never loads the others.

use std::collections::BTreeSet;

use axum::{
    Extension,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use proto::{
    groups::v1::{
        self as pb, CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, ListGroupsRequest,
        MembershipOperation, ReplaceGroupRequest, UpdateGroupRequest,
        membership_operation::Operation,
    },
    identity::v1::BatchGetUsersRequest,
};
use scim_protocol::{
    error::ScimType,
    patch::{self, MemberOperation, PlannedMember},
    resource, schema,
};
use serde_json::{Map, Value, json};
use tonic::Code;

use crate::{
    AppState,
    auth::Tenant,
    error::ApiError,
    list::{ListQuery, Page},
    mapping::{list_response, meta_json},
    request::{QueryParams, if_match_version, read_json, resource_response, scim_response},
};

/// Largest group whose members a PATCH response lists. A larger group gets
/// 204 No Content unless `attributes` or `excludedAttributes` requests a
/// projection.
pub const MAX_MEMBERS_IN_PATCH_RESPONSE: i64 = 1_000;

/// identity-svc's largest `BatchGetUsers` request.
const USER_LOOKUP_BATCH: usize = 1_000;

const RESOURCE: &str = "Group";

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let normalized = resource::normalize(&body, schema::group())?;
    let display_name = required_display_name(&normalized)?;
    let members = patch::group_members_from_resource(&normalized)?;
    reject_nested_groups(members.iter())?;
    ensure_users_exist(
        &state,
        &tenant,
        members.iter().map(|member| member.value.as_str()),
    )
    .await?;

    let mut client = state.groups.clone();
    let group = client
        .create_group(CreateGroupRequest {
            workspace_id: tenant.workspace_id.clone(),
            display_name,
            external_id: string_attribute(&normalized, "externalId"),
            members: members.into_iter().map(member_to_proto).collect(),
        })
        .await
        .map_err(|status| ApiError::from_status(&status, RESOURCE))?
        .into_inner()
        .group
        .ok_or_else(ApiError::internal)?;
    tracing::info!(group_id = %group.id, members = group.member_count, "group created");

    let base = state.base_url(&headers, &tenant.workspace_id);
    let location = group_location(&base, &group.id);
    let scim = group_to_scim(&group, &base, true);
    Ok(resource_response(
        StatusCode::CREATED,
        &scim,
        version_of(&group),
        Some(&location),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, group_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let include_members = wants_members(&params);

    let mut client = state.groups.clone();
    let reply = client
        .get_group(GetGroupRequest {
            workspace_id: tenant.workspace_id.clone(),
            group_id: group_id.clone(),
            include_members,
        })
        .await;
    let group = match reply {
        Ok(reply) => reply.into_inner().group.ok_or_else(ApiError::internal)?,
        Err(status) if status.code() == Code::NotFound => {
            return Err(ApiError::not_found(RESOURCE, &group_id));
        }
        Err(status) => return Err(ApiError::from_status(&status, RESOURCE)),
    };

    let base = state.base_url(&headers, &tenant.workspace_id);
    let mut scim = group_to_scim(&group, &base, include_members);
    project(&mut scim, &params)?;
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&group),
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
    Path((_, group_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let normalized = resource::normalize(&body, schema::group())?;
    let display_name = required_display_name(&normalized)?;
    let members = patch::group_members_from_resource(&normalized)?;
    reject_nested_groups(members.iter())?;
    ensure_users_exist(
        &state,
        &tenant,
        members.iter().map(|member| member.value.as_str()),
    )
    .await?;

    let mut client = state.groups.clone();
    let reply = client
        .replace_group(ReplaceGroupRequest {
            workspace_id: tenant.workspace_id.clone(),
            group_id: group_id.clone(),
            display_name,
            external_id: string_attribute(&normalized, "externalId"),
            members: members.into_iter().map(member_to_proto).collect(),
            expected_version: if_match,
        })
        .await;
    let group = match reply {
        Ok(reply) => reply.into_inner().group.ok_or_else(ApiError::internal)?,
        Err(status) if status.code() == Code::NotFound => {
            return Err(ApiError::not_found(RESOURCE, &group_id));
        }
        Err(status) => return Err(ApiError::from_status(&status, RESOURCE)),
    };
    tracing::info!(group_id = %group.id, members = group.member_count, "group replaced");

    let base = state.base_url(&headers, &tenant.workspace_id);
    let scim = group_to_scim(&group, &base, true);
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&group),
        None,
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, group_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let request = patch::PatchRequest::from_json(&body)?;
    let plan = patch::plan_group_patch(&request)?;
    if plan
        .display_name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        return Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            "displayName must be a non-empty string.",
        ));
    }
    let too_long = |text: Option<&str>| text.is_some_and(|text| text.len() > MAX_GROUP_NAME_BYTES);
    if too_long(plan.display_name.as_deref())
        || too_long(plan.external_id.as_ref().and_then(Option::as_deref))
    {
        return Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            format!("displayName and externalId may be at most {MAX_GROUP_NAME_BYTES} bytes."),
        ));
    }

    let added = || {
        plan.operations
            .iter()
            .flat_map(|operation| match operation {
                MemberOperation::Add(members) | MemberOperation::Replace(members) => {
                    members.as_slice()
                }
                MemberOperation::Remove(_) | MemberOperation::Clear => &[],
            })
    };
    reject_nested_groups(added())?;
    ensure_users_exist(&state, &tenant, added().map(|member| member.value.as_str())).await?;

    let params = QueryParams::parse(query.as_deref());
    let projection_requested =
        params.get("attributes").is_some() || params.get("excludedAttributes").is_some();
    let return_members_up_to = if projection_requested && !wants_members(&params) {
        0
    } else {
        MAX_MEMBERS_IN_PATCH_RESPONSE
    };

    let mut client = state.groups.clone();
    let reply = client
        .update_group(UpdateGroupRequest {
            workspace_id: tenant.workspace_id.clone(),
            group_id: group_id.clone(),
            expected_version: if_match,
            display_name: plan.display_name,
            set_external_id: plan.external_id.is_some(),
            external_id: plan.external_id.flatten(),
            operations: plan
                .operations
                .into_iter()
                .map(operation_to_proto)
                .collect(),
            return_members_up_to,
        })
        .await;
    let reply = match reply {
        Ok(reply) => reply.into_inner(),
        Err(status) if status.code() == Code::NotFound => {
            return Err(ApiError::not_found(RESOURCE, &group_id));
        }
        Err(status) => return Err(ApiError::from_status(&status, RESOURCE)),
    };
    let group = reply.group.ok_or_else(ApiError::internal)?;
    if reply.changed {
        tracing::info!(
            group_id = %group.id,
            added = reply.added_user_ids.len(),
            removed = reply.removed_user_ids.len(),
            "group updated"
        );
    }

    let members_included = group.member_count <= return_members_up_to;
    if !projection_requested && !members_included {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let base = state.base_url(&headers, &tenant.workspace_id);
    let mut scim = group_to_scim(&group, &base, members_included);
    project(&mut scim, &params)?;
    Ok(resource_response(
        StatusCode::OK,
        &scim,
        version_of(&group),
        None,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, group_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let if_match = if_match_version(&headers)?;

    let mut client = state.groups.clone();
    let reply = client
        .delete_group(DeleteGroupRequest {
            workspace_id: tenant.workspace_id.clone(),
            group_id: group_id.clone(),
            expected_version: if_match,
        })
        .await;
    match reply {
        Ok(_) => {
            tracing::info!(group_id = %group_id, "group deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(status) if status.code() == Code::NotFound => {
            Err(ApiError::not_found(RESOURCE, &group_id))
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

/// Returns one page of groups as projected SCIM JSON.
pub async fn find(
    state: &AppState,
    tenant: &Tenant,
    params: &QueryParams,
    headers: &HeaderMap,
) -> Result<Page, ApiError> {
    let query = ListQuery::parse(params, &state.settings, schema::group())?;
    let include_members = wants_members(params);
    let start_index = query.start_index;

    let mut client = state.groups.clone();
    let reply = client
        .list_groups(ListGroupsRequest {
            workspace_id: tenant.workspace_id.clone(),
            filter: query.filter,
            start_index: query.start_index,
            count: query.count,
            sort_by: query.sort_by,
            sort_order: query.sort_order as i32,
            include_members,
        })
        .await
        .map_err(|status| ApiError::from_status(&status, RESOURCE))?
        .into_inner();

    let base = state.base_url(headers, &tenant.workspace_id);
    let mut resources = Vec::with_capacity(reply.groups.len());
    for group in &reply.groups {
        let mut scim = group_to_scim(group, &base, include_members);
        project(&mut scim, params)?;
        resources.push(scim);
    }
    Ok(Page {
        resources,
        total_results: reply.total_results,
        start_index,
    })
}

/// Rejects members of type `Group`: groups cannot contain groups.
fn reject_nested_groups<'a>(
    mut members: impl Iterator<Item = &'a PlannedMember>,
) -> Result<(), ApiError> {
    let nested = members.find(|member| {
        member
            .r#type
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("group"))
    });
    match nested {
        Some(member) => Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            format!(
                "members: {} has type Group, but groups cannot contain groups.",
                member.value
            ),
        )),
        None => Ok(()),
    }
}

/// Checks that every id names a user of the workspace, through identity-svc
/// in batches. Unknown ids fail the whole request with 400 `invalidValue`
/// naming them, before anything is changed.
async fn ensure_users_exist<'a>(
    state: &AppState,
    tenant: &Tenant,
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    let unique: Vec<String> = ids
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut missing = Vec::new();
    for chunk in unique.chunks(USER_LOOKUP_BATCH) {
        let mut client = state.users.clone();
        let reply = client
            .batch_get_users(BatchGetUsersRequest {
                workspace_id: tenant.workspace_id.clone(),
                user_ids: chunk.to_vec(),
            })
            .await
            .map_err(|status| ApiError::from_status(&status, "User"))?
            .into_inner();
        missing.extend(reply.missing_ids);
    }
    if missing.is_empty() {
        return Ok(());
    }

    const SHOWN: usize = 10;
    let mut listed = missing
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if missing.len() > SHOWN {
        listed.push_str(&format!(" and {} more", missing.len() - SHOWN));
    }
    Err(ApiError::new(
        400,
        Some(ScimType::InvalidValue),
        format!("members: no user of this workspace has the id {listed}; nothing was changed."),
    ))
}

/// Returns whether the response will show `members`, so groups-svc loads
/// them only then.
fn wants_members(params: &QueryParams) -> bool {
    params.projection_shows(schema::GROUP, "members")
}

fn project(scim: &mut Value, params: &QueryParams) -> Result<(), ApiError> {
    resource::project(
        scim,
        params.get("attributes"),
        params.get("excludedAttributes"),
        schema::group(),
    )?;
    Ok(())
}

/// Longest accepted group `displayName` or `externalId`, in bytes.
pub const MAX_GROUP_NAME_BYTES: usize = 1024;

fn required_display_name(resource: &Value) -> Result<String, ApiError> {
    for attribute in ["displayName", "externalId"] {
        if resource
            .get(attribute)
            .and_then(Value::as_str)
            .is_some_and(|text| text.len() > MAX_GROUP_NAME_BYTES)
        {
            return Err(ApiError::new(
                400,
                Some(ScimType::InvalidValue),
                format!("{attribute} is longer than {MAX_GROUP_NAME_BYTES} bytes."),
            ));
        }
    }
    match resource.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
        _ => Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            "displayName is required and must be a non-empty string.",
        )),
    }
}

fn string_attribute(resource: &Value, name: &str) -> Option<String> {
    resource
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn member_to_proto(member: PlannedMember) -> pb::Member {
    pb::Member {
        value: member.value,
        display: member.display,
        r#type: member.r#type,
    }
}

fn operation_to_proto(operation: MemberOperation) -> MembershipOperation {
    let operation = match operation {
        MemberOperation::Add(members) => Operation::Add(pb::MemberList {
            members: members.into_iter().map(member_to_proto).collect(),
        }),
        MemberOperation::Remove(user_ids) => Operation::Remove(pb::UserIdList { user_ids }),
        MemberOperation::Replace(members) => Operation::Replace(pb::MemberList {
            members: members.into_iter().map(member_to_proto).collect(),
        }),
        MemberOperation::Clear => Operation::Clear(true),
    };
    MembershipOperation {
        operation: Some(operation),
    }
}

fn version_of(group: &pb::Group) -> i64 {
    group.meta.as_ref().map_or(0, |meta| meta.version)
}

fn group_location(base: &str, group_id: &str) -> String {
    format!("{base}/Groups/{group_id}")
}

/// Renders a group as SCIM JSON. `members` appears only when it was loaded.
pub fn group_to_scim(group: &pb::Group, base: &str, with_members: bool) -> Value {
    let mut object = Map::new();
    object.insert("schemas".to_owned(), json!([schema::GROUP]));
    object.insert("id".to_owned(), Value::from(group.id.clone()));
    object.insert(
        "displayName".to_owned(),
        Value::from(group.display_name.clone()),
    );
    if let Some(external_id) = &group.external_id {
        object.insert("externalId".to_owned(), Value::from(external_id.clone()));
    }
    if with_members {
        let members: Vec<Value> = group
            .members
            .iter()
            .map(|member| {
                let mut entry = Map::new();
                entry.insert("value".to_owned(), Value::from(member.value.clone()));
                entry.insert(
                    "$ref".to_owned(),
                    Value::from(format!("{base}/Users/{}", member.value)),
                );
                if let Some(display) = &member.display {
                    entry.insert("display".to_owned(), Value::from(display.clone()));
                }
                entry.insert(
                    "type".to_owned(),
                    Value::from(member.r#type.clone().unwrap_or_else(|| "User".to_owned())),
                );
                Value::Object(entry)
            })
            .collect();
        object.insert("members".to_owned(), Value::Array(members));
    }
    let meta = group.meta.as_ref().map(|meta| {
        (
            meta.created.as_ref(),
            meta.last_modified.as_ref(),
            meta.version,
        )
    });
    object.insert(
        "meta".to_owned(),
        meta_json("Group", meta, &group_location(base, &group.id)),
    );
    Value::Object(object)
}
