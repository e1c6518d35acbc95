//! Discovery endpoints (RFC 7644 section 4): `/ServiceProviderConfig`,
//! `/Schemas` and `/ResourceTypes`, describing exactly what this gateway
//! supports.

use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use scim_protocol::schema;
use serde_json::{Value, json};

use crate::{
    AppState, auth::Tenant, error::ApiError, mapping::list_response, request::scim_response,
};

pub async fn service_provider_config(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
) -> Response {
    let base = state.base_url(&headers, &tenant.workspace_id);
    let settings = &state.settings;
    let body = json!({
        "schemas": [schema::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": settings.max_page_size},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a workspace SCIM bearer token in the Authorization header.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    scim_response(StatusCode::OK, &body)
}

pub async fn schemas(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
) -> Response {
    let base = state.base_url(&headers, &tenant.workspace_id);
    let resources = schema_list(&base);
    let total = resources.len() as i64;
    scim_response(StatusCode::OK, &list_response(resources, total, 1))
}

pub async fn schema_by_id(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = state.base_url(&headers, &tenant.workspace_id);
    schema_list(&base)
        .into_iter()
        .find(|resource| resource["id"].as_str() == Some(id.as_str()))
        .map(|resource| scim_response(StatusCode::OK, &resource))
        .ok_or_else(|| ApiError::not_found("Schema", &id))
}

pub async fn resource_types(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
) -> Response {
    let base = state.base_url(&headers, &tenant.workspace_id);
    let resources = resource_type_list(&base);
    let total = resources.len() as i64;
    scim_response(StatusCode::OK, &list_response(resources, total, 1))
}

pub async fn resource_type_by_id(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = state.base_url(&headers, &tenant.workspace_id);
    resource_type_list(&base)
        .into_iter()
        .find(|resource| resource["id"].as_str() == Some(id.as_str()))
        .map(|resource| scim_response(StatusCode::OK, &resource))
        .ok_or_else(|| ApiError::not_found("ResourceType", &id))
}

/// Rejects a method the endpoint does not serve, such as a write to a
/// read-only discovery endpoint.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(405, None, "This method is not allowed on this endpoint.")
}

fn schema_list(base: &str) -> Vec<Value> {
    match schema::schemas_json(base) {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn resource_type_list(base: &str) -> Vec<Value> {
    match schema::resource_types_json(base) {
        Value::Array(items) => items,
        other => vec![other],
    }
}
