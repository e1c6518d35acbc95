//! A SCIM client over reqwest that checks what every response must satisfy:
//! no 5xx, `application/scim+json` on every body, and a SCIM Error body on
//! every 4xx.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, RequestBuilder, header::HeaderMap};
use serde_json::Value;

use crate::fixtures::{DOMAIN, ERROR_URN};

/// Content type of every SCIM response (RFC 7644 section 3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Builds the HTTP client the tests share: no proxy, so every request stays
/// on loopback.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("failed to build the HTTP client")
}

/// Percent-encodes a query value with spaces as `+`, the form Entra ID
/// sends (`filter=userName+eq+%22...%22`).
pub fn encode_plus(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Percent-encodes a query value with spaces as `%20`, the form Okta sends.
pub fn encode_percent(value: &str) -> String {
    // `byte_serialize` writes a literal `+` as `%2B`, so every `+` left in
    // its output is a space.
    encode_plus(value).replace('+', "%20")
}

/// Returns `filter=<value>` with the value encoded as Entra ID encodes it.
pub fn filter_query(filter: &str) -> String {
    format!("filter={}", encode_plus(filter))
}

/// One tenant's view of the SCIM API: its base URL and bearer token.
#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
    base_query: Option<String>,
}

/// A received SCIM response.
#[derive(Debug)]
pub struct ScimResponse {
    /// Method and URL of the request, for failure messages.
    pub request: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body parsed as JSON, or `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

impl ScimClient {
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            base_query: None,
        }
    }

    /// Returns a client that puts `query` first in the query string of every
    /// request, as Entra ID does with the `aadOptscim062020` tenant URL flag.
    pub fn with_base_query(mut self, query: &str) -> Self {
        self.base_query = Some(query.to_owned());
        self
    }

    /// Returns a client of the same tenant that sends `token` instead.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = token.to_owned();
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the URL of `path`, relative to the base URL; `path` may carry
    /// an already-encoded query.
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let Some(flag) = &self.base_query else {
            return format!("{}/{path}", self.base_url);
        };
        match path.split_once('?') {
            Some((resource, query)) => format!("{}/{resource}?{flag}&{query}", self.base_url),
            None => format!("{}/{path}?{flag}", self.base_url),
        }
    }

    /// Starts a request with `Accept: application/scim+json` and, unless the
    /// token is empty, `Authorization: Bearer <token>`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.unauthenticated(method, path);
        if self.token.is_empty() {
            builder
        } else {
            builder.bearer_auth(&self.token)
        }
    }

    /// Starts a request without an `Authorization` header.
    pub fn unauthenticated(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(reqwest::header::ACCEPT, SCIM_CONTENT_TYPE)
    }

    /// Sends the request and checks the response (see [`ScimResponse::check`]).
    pub async fn send(&self, builder: RequestBuilder) -> ScimResponse {
        let request = builder.build().expect("invalid request");
        let description = format!("{} {}", request.method(), request.url());
        let response = self
            .http
            .execute(request)
            .await
            .unwrap_or_else(|error| panic!("{description} failed: {error}"));

        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|error| panic!("{description}: failed to read the body: {error}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let received = ScimResponse {
            request: description,
            status,
            headers,
            text,
            body,
        };
        received.check();
        received
    }

    pub async fn get(&self, path: &str) -> ScimResponse {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> ScimResponse {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> ScimResponse {
        self.send(self.with_json(self.request(Method::POST, path), body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> ScimResponse {
        self.send(self.with_json(self.request(Method::PUT, path), body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> ScimResponse {
        self.send(self.with_json(self.request(Method::PATCH, path), body))
            .await
    }

    /// Creates a user, asserts 201 and returns its id.
    pub async fn create_user(&self, body: &Value) -> String {
        let created = self.post("Users", body).await;
        assert_eq!(created.status, 201, "creating a user: {created}");
        created.id()
    }

    /// Reads a user, asserting 200.
    pub async fn get_user(&self, id: &str) -> Value {
        let read = self.get(&format!("Users/{id}")).await;
        assert_eq!(read.status, 200, "reading user {id}: {read}");
        read.body
    }

    /// Creates `count` users named `<local><n>.<8 hex digits>@example.com`,
    /// at most 8 requests at a time, and returns their ids in order.
    pub async fn create_users(&self, local: &str, count: usize) -> Vec<String> {
        futures::stream::iter(0..count)
            .map(|n| {
                let user_name = crate::fixtures::unique_email(&format!("{local}{n}"), DOMAIN);
                let body = crate::fixtures::user_body(&user_name, "Member", &format!("No {n}"));
                async move { self.create_user(&body).await }
            })
            .buffered(8)
            .collect()
            .await
    }

    /// Creates a group, asserts 201 and returns its id.
    pub async fn create_group(&self, body: &Value) -> String {
        let created = self.post("Groups", body).await;
        assert_eq!(created.status, 201, "creating a group: {created}");
        created.id()
    }

    /// Reads a group with its members, asserting 200.
    pub async fn get_group(&self, id: &str) -> Value {
        let read = self.get(&format!("Groups/{id}")).await;
        assert_eq!(read.status, 200, "reading group {id}: {read}");
        read.body
    }

    /// Sends a PATCH to a group and asserts 200 or 204.
    pub async fn patch_group_ok(&self, id: &str, body: &Value) {
        let patched = self.patch(&format!("Groups/{id}"), body).await;
        assert!(
            matches!(patched.status, 200 | 204),
            "PATCH of group {id}: {patched}"
        );
    }

    /// Sends a PATCH and asserts 200 or 204 (RFC 7644 section 3.5.2 allows both).
    pub async fn patch_ok(&self, id: &str, body: &Value) {
        let patched = self.patch(&format!("Users/{id}"), body).await;
        assert!(
            matches!(patched.status, 200 | 204),
            "PATCH of user {id}: {patched}"
        );
    }

    /// Lists users with `filter`, encoded as Entra ID encodes it, and asserts 200.
    pub async fn filter_users(&self, filter: &str) -> Value {
        let listed = self.get(&format!("Users?{}", filter_query(filter))).await;
        assert_eq!(listed.status, 200, "filter {filter:?}: {listed}");
        listed.body
    }

    /// Lists groups with `filter`, encoded as Entra ID encodes it, and asserts 200.
    pub async fn filter_groups(&self, filter: &str) -> Value {
        let listed = self.get(&format!("Groups?{}", filter_query(filter))).await;
        assert_eq!(listed.status, 200, "filter {filter:?}: {listed}");
        listed.body
    }

    fn with_json(&self, builder: RequestBuilder, body: &Value) -> RequestBuilder {
        builder
            .header(reqwest::header::CONTENT_TYPE, SCIM_CONTENT_TYPE)
            .body(body.to_string())
    }
}

impl ScimResponse {
    /// Returns the header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Returns the `id` of the resource in the body.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no string id in the response to {self}"))
            .to_owned()
    }

    /// Checks what every response to a client must satisfy, whatever the
    /// request: a client mistake is never a 5xx, every body is
    /// `application/scim+json`, and every 4xx body is a SCIM Error whose
    /// `status` is the HTTP status as a string (RFC 7644 section 3.12).
    fn check(&self) {
        assert!(self.status < 500, "server error: {self}");
        if !self.text.is_empty() {
            let content_type = self.header("content-type").unwrap_or("");
            assert!(
                content_type.starts_with(SCIM_CONTENT_TYPE),
                "Content-Type is {content_type:?}, not {SCIM_CONTENT_TYPE}: {self}"
            );
        }
        if self.status >= 400 {
            assert!(
                crate::fixtures::has_schema(&self.body, ERROR_URN),
                "error body lacks the SCIM Error schema: {self}"
            );
            assert_eq!(
                self.body["status"],
                Value::String(self.status.to_string()),
                "error body status is not the HTTP status as a string: {self}"
            );
        }
    }
}

impl std::fmt::Display for ScimResponse {
    /// Writes the request, the status and the first 600 characters of the body.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = (0..=self.text.len().min(600))
            .rev()
            .find(|index| self.text.is_char_boundary(*index))
            .unwrap_or(0);
        write!(
            formatter,
            "{} -> {} {}",
            self.request,
            self.status,
            &self.text[..end]
        )
    }
}
