//! SCIM over HTTP: a keep-alive client pinned to the checked loopback
//! addresses, and request bodies shaped like the ones Entra ID sends.

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use reqwest::{
    Method,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue},
    redirect,
};
use serde_json::{Value, json};

use crate::{stats::Failure, target::ScimTarget};

/// Media type of SCIM requests and responses (RFC 7644 section 3.1).
const SCIM_JSON: &str = "application/scim+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Extension schema Entra ID lists in every group it creates.
const ENTRA_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Characters of an error body kept in the first-error message.
const DETAIL_CHARS: usize = 300;

/// SCIM client for one workspace.
#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base_url: String,
}

impl ScimClient {
    /// Builds a client with keep-alive connections, at most `pool_size` idle
    /// per host, no proxy, no redirects, and DNS pinned to the target's
    /// checked addresses, so every request stays on loopback.
    pub fn new(target: &ScimTarget, pool_size: usize, timeout: Duration) -> Result<Self> {
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", target.token))
            .context("invalid token: it must be printable ASCII")?;
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));

        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(pool_size)
            .tcp_nodelay(true);
        if let Some(host) = target.base_url.host_str() {
            builder = builder.resolve_to_addrs(host, &target.addrs);
        }

        Ok(Self {
            http: builder.build().context("failed to build the HTTP client")?,
            base_url: target.base_url.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// Sends one request to `path` (relative to the base URL, query
    /// included) and returns the body of a 2xx response.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Bytes, Failure> {
        let mut request = self
            .http
            .request(method, format!("{}/{path}", self.base_url));
        if let Some(body) = body {
            let encoded = serde_json::to_vec(body)
                .map_err(|error| Failure::InvalidBody(error.to_string()))?;
            request = request.header(CONTENT_TYPE, SCIM_JSON).body(encoded);
        }

        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(classify)?;
        if !status.is_success() {
            return Err(Failure::Status {
                code: status.as_u16(),
                detail: error_detail(&bytes),
            });
        }
        Ok(bytes)
    }

    /// Sends one request and parses the 2xx response body as JSON.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes)
            .map_err(|error| Failure::InvalidBody(format!("response is not JSON: {error}")))
    }
}

/// Returns the `detail` of a SCIM error body, or the start of any other body.
fn error_detail(body: &[u8]) -> String {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|error| {
            error
                .get("detail")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let text = detail.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(DETAIL_CHARS).collect()
}

fn classify(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transport(format!("{error:#}"))
    }
}

/// Returns the `id` of a created resource.
pub fn resource_id(body: &Value) -> Result<String, Failure> {
    body.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::InvalidBody("the response has no string id".to_owned()))
}

/// A generated user; the userName and work email are the same address.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub user_name: String,
    pub family_name: String,
}

impl UserSpec {
    /// Returns user `index` of run `run` in `domain`, unique per run.
    pub fn generated(run: &str, index: u64, domain: &str) -> Self {
        Self {
            user_name: format!("bench.{run}.{index}@{domain}"),
            family_name: format!("User{index}"),
        }
    }
}

/// Percent-encodes a query value with spaces as `+`, as Entra ID does.
pub fn encode_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Returns Entra ID's existence check for a user: a filter on userName.
pub fn user_filter_path(user_name: &str) -> String {
    format!(
        "Users?filter={}",
        encode_query(&format!("userName eq \"{user_name}\""))
    )
}

/// Returns Entra ID's existence check for a group, without members.
pub fn group_filter_path(display_name: &str) -> String {
    format!(
        "Groups?excludedAttributes=members&filter={}",
        encode_query(&format!("displayName eq \"{display_name}\""))
    )
}

/// Returns the POST /Users body Entra ID sends for a new user.
pub fn user_create_body(user: &UserSpec) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "userName": user.user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user.user_name}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": format!("Bench {}", user.family_name),
            "familyName": user.family_name,
            "givenName": "Bench"
        },
        "roles": []
    })
}

/// Returns the POST /Groups body Entra ID sends for a new group.
pub fn group_create_body(display_name: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

/// Returns a membership PATCH with one `Add` or `Remove` operation on
/// `members` listing `user_ids`, as Entra ID sends it.
pub fn members_patch_body(op: &str, user_ids: &[String]) -> Value {
    let members: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": op, "path": "members", "value": members}]
    })
}

/// Returns Entra ID's attribute update: Replace of the work email and of
/// name.familyName.
pub fn user_replace_body(email: &str, family_name: &str) -> Value {
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": email},
            {"op": "Replace", "path": "name.familyName", "value": family_name}
        ]
    })
}

/// Returns Entra ID's deactivation (false) or reactivation (true).
pub fn user_active_body(active: bool) -> Value {
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Replace", "path": "active", "value": active}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_filter_encoded_with_plus() {
        assert_eq!(
            user_filter_path("a.b@example.com"),
            "Users?filter=userName+eq+%22a.b%40example.com%22"
        );
    }

    #[test]
    fn group_filter_excludes_members() {
        assert_eq!(
            group_filter_path("Team 1"),
            "Groups?excludedAttributes=members&filter=displayName+eq+%22Team+1%22"
        );
    }

    #[test]
    fn members_patch_lists_values() {
        let body = members_patch_body("Add", &["u1".to_owned(), "u2".to_owned()]);

        assert_eq!(body["Operations"][0]["op"], "Add");
        assert_eq!(body["Operations"][0]["path"], "members");
        assert_eq!(body["Operations"][0]["value"][1]["value"], "u2");
    }

    #[test]
    fn user_body_uses_work_email() {
        let body = user_create_body(&UserSpec::generated("r1", 7, "example.org"));

        assert_eq!(body["userName"], "bench.r1.7@example.org");
        assert_eq!(body["emails"][0]["type"], "work");
        assert_eq!(body["emails"][0]["value"], "bench.r1.7@example.org");
    }

    #[test]
    fn error_detail_prefers_scim_detail() {
        let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"retry later","status":"503"}"#;

        assert_eq!(error_detail(body), "retry later");
        assert_eq!(error_detail(b"plain text"), "plain text");
    }

    #[test]
    fn missing_id_is_invalid_body() {
        assert!(matches!(
            resource_id(&json!({})),
            Err(Failure::InvalidBody(_))
        ));
    }
}
