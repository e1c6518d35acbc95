//! `POST /.search` at the service root (RFC 7644 section 3.4.3): one query
//! across Users and Groups, paged as one list with users first.

use axum::{
    Extension,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use scim_protocol::{filter, schema};

use crate::{
    AppState,
    auth::Tenant,
    error::ApiError,
    groups,
    list::Page,
    mapping::list_response,
    request::{QueryParams, read_json, scim_response},
    users,
};

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
    let params = QueryParams::from_search_body(&body)?;
    let start_index = params.integer("startIndex")?.unwrap_or(1).max(1);
    let count = params
        .integer("count")?
        .unwrap_or(state.settings.default_page_size)
        .clamp(0, state.settings.max_page_size);

    // A filter that names attributes of only one resource type selects from
    // that type alone; a filter that fits neither is 400 invalidFilter.
    let (users_apply, groups_apply) =
        match params.get("filter").filter(|text| !text.trim().is_empty()) {
            None => (true, true),
            Some(text) => {
                let parsed = filter::parse(text)?;
                let user_fit = filter::resolve(&parsed, schema::user());
                let group_fit = filter::resolve(&parsed, schema::group());
                if let (Err(error), Err(_)) = (&user_fit, &group_fit) {
                    return Err(error.clone().into());
                }
                (user_fit.is_ok(), group_fit.is_ok())
            }
        };

    let users_page = if users_apply {
        let users_params = params
            .with("startIndex", start_index.to_string())
            .with("count", count.to_string());
        users::find(&state, &tenant, &users_params, &headers).await?
    } else {
        Page::default()
    };

    let taken = users_page.resources.len() as i64;
    let groups_page = if groups_apply {
        let group_start = (start_index - users_page.total_results).max(1);
        let group_count = (count - taken).max(0);
        let groups_params = params
            .with("startIndex", group_start.to_string())
            .with("count", group_count.to_string());
        groups::find(&state, &tenant, &groups_params, &headers).await?
    } else {
        Page::default()
    };

    let total = users_page.total_results + groups_page.total_results;
    let mut resources = users_page.resources;
    resources.extend(groups_page.resources);
    Ok(scim_response(
        StatusCode::OK,
        &list_response(resources, total, start_index),
    ))
}
