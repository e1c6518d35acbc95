//! Request parsing shared by the SCIM handlers: JSON bodies under the
//! published size limit, SCIM query parameters and `If-Match`.

use std::collections::HashMap;

use axum::{
    body::{Body, to_bytes},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use scim_protocol::error::ScimType;
use serde_json::Value;

use crate::{SCIM_CONTENT_TYPE, error::ApiError};

/// Reads a request body as JSON, returning 413 above `limit` bytes.
///
/// Entra and Okta send `application/scim+json`, Okta's test suite sends
/// `application/json`, and a body without `Content-Type` is read as JSON too.
/// Any other media type is 415. A member name repeated within one object is
/// 400 `invalidSyntax`.
pub async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    check_content_type(headers)?;
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            413,
            None,
            format!("The request body exceeds the maximum of {limit} bytes."),
        )
    })?;
    if bytes.is_empty() {
        return Err(ApiError::new(
            400,
            Some(ScimType::InvalidSyntax),
            "The request body is empty.",
        ));
    }
    crate::json::parse_strict(&bytes).map_err(|error| {
        ApiError::new(
            400,
            Some(ScimType::InvalidSyntax),
            format!("The request body is not valid JSON: {error}."),
        )
    })
}

/// Rejects a `Content-Type` other than `application/scim+json` or
/// `application/json` (parameters such as `charset` are allowed).
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    let media_type = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/scim+json" || media_type == "application/json" {
        return Ok(());
    }
    Err(ApiError::new(
        415,
        None,
        format!(
            "Content-Type {media_type:?} is not supported; send application/scim+json or application/json."
        ),
    ))
}

/// SCIM query parameters, matched by name ignoring case. Parameters the
/// gateway does not use, such as Entra's `aadOptscim062020` flag, are ignored.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    params: HashMap<String, String>,
}

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(key, value)| (key.to_ascii_lowercase(), value.into_owned()))
            .collect();
        Self { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Returns a copy with `name` set to `value`.
    pub fn with(&self, name: &str, value: impl Into<String>) -> Self {
        let mut params = self.params.clone();
        params.insert(name.to_ascii_lowercase(), value.into());
        Self { params }
    }

    /// Returns whether a response projected with `attributes` and
    /// `excludedAttributes` (RFC 7644 section 3.9) shows `attribute` of the
    /// schema `urn`, so handlers load it only then. Listing a sub-attribute
    /// in `attributes` shows it; only excluding the whole attribute hides it.
    pub fn projection_shows(&self, urn: &str, attribute: &str) -> bool {
        let prefix = format!("{}:", urn.to_ascii_lowercase());
        let names = |value: Option<&str>| -> Vec<String> {
            value
                .unwrap_or_default()
                .split(',')
                .map(|name| name.trim().to_ascii_lowercase())
                .filter(|name| !name.is_empty())
                .map(|name| {
                    name.strip_prefix(&prefix)
                        .map(str::to_owned)
                        .unwrap_or(name)
                })
                .collect()
        };
        let attribute = attribute.to_ascii_lowercase();
        let sub_attribute_prefix = format!("{attribute}.");

        let requested = names(self.get("attributes"));
        if !requested.is_empty() {
            return requested
                .iter()
                .any(|name| *name == attribute || name.starts_with(&sub_attribute_prefix));
        }
        !names(self.get("excludedAttributes")).contains(&attribute)
    }

    /// Builds parameters from a `POST /.search` body (RFC 7644 section 3.4.3).
    pub fn from_search_body(body: &Value) -> Result<Self, ApiError> {
        let Some(object) = body.as_object() else {
            return Err(ApiError::new(
                400,
                Some(ScimType::InvalidSyntax),
                "The search request must be a JSON object.",
            ));
        };
        let mut params = HashMap::new();
        for (key, value) in object {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            params.insert(key.to_ascii_lowercase(), text);
        }
        Ok(Self { params })
    }

    /// Returns an integer parameter; a value that is not an integer is 400.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::new(
                    400,
                    Some(ScimType::InvalidValue),
                    format!("Query parameter {name} must be an integer, got {text:?}."),
                )
            }),
        }
    }
}

/// Parses `If-Match` into the resource version it names. `*` and an absent
/// header impose no version.
pub fn if_match_version(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    parse_etag(text).map(Some).ok_or_else(|| {
        ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            "If-Match must be an ETag returned by this service, such as W/\"3\".",
        )
    })
}

fn parse_etag(text: &str) -> Option<i64> {
    let unweak = text.strip_prefix("W/").unwrap_or(text);
    let unquoted = unweak.trim_matches('"');
    unquoted.parse().ok()
}

/// Formats a resource version as the weak ETag used in `meta.version` and
/// the `ETag` header.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Builds a SCIM JSON response with `application/scim+json`.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

/// Builds a SCIM resource response that also carries `ETag`, and `Location` when
/// the resource was just created.
pub fn resource_response(
    status: StatusCode,
    body: &Value,
    version: i64,
    location: Option<&str>,
) -> Response {
    let mut response = scim_response(status, body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        headers.insert(header::ETAG, value);
    }
    if let Some(location) = location.and_then(|text| HeaderValue::from_str(text).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_parses_weak_and_strong_forms() {
        assert_eq!(parse_etag("W/\"7\""), Some(7));
        assert_eq!(parse_etag("\"7\""), Some(7));
        assert_eq!(parse_etag("W/\"x\""), None);
    }

    #[test]
    fn query_names_ignore_case() {
        let params = QueryParams::parse(Some(
            "aadOptscim062020&StartIndex=3&FILTER=userName%20eq%20%22a%22",
        ));

        assert_eq!(params.get("startIndex"), Some("3"));
        assert_eq!(params.get("filter"), Some("userName eq \"a\""));
    }

    #[test]
    fn projection_shows_listed_sub_attribute() {
        let params = QueryParams::parse(Some("attributes=id,members.value"));

        assert!(params.projection_shows("urn:x:Group", "members"));
        assert!(!params.projection_shows("urn:x:Group", "displayName"));
    }

    #[test]
    fn projection_hides_excluded_attribute() {
        let params = QueryParams::parse(Some("excludedAttributes=urn:x:Group:Members"));

        assert!(!params.projection_shows("urn:x:Group", "members"));
        assert!(params.projection_shows("urn:x:Group", "displayName"));
    }

    #[test]
    fn projection_keeps_partly_excluded_attribute() {
        let params = QueryParams::parse(Some("excludedAttributes=groups.display"));

        assert!(params.projection_shows("urn:x:User", "groups"));
    }

    #[test]
    fn non_integer_count_is_rejected() {
        let params = QueryParams::parse(Some("count=ten"));

        assert!(params.integer("count").is_err());
    }
}
