//! The workspace SCIM lifecycle end to end: the admin HTTP API, `scimctl`,
//! and what they change on the SCIM routes and in login checks.
//!
//! Every stack runs with a known HS256 admin key, so scenarios sign their
//! own admin tokens and every process of the split stack verifies them.

mod api;
mod bootstrap;
mod cli;
mod domains;
mod jwks;
mod lifecycle;
mod login;
mod tokens;

use std::time::Duration;

use e2e_tests::{ScimClient, StackOptions, TestStack, client::http_client};
use proto::identity::v1::{
    CreateWorkspaceRequest, workspace_service_client::WorkspaceServiceClient,
};
use reqwest::Method;
use serde_json::Value;

/// HS256 key of the admin tokens in these scenarios (test-only).
pub const ADMIN_KEY: &str = "e2e-admin-key-for-tests-only-0123456789";

/// Launcher options of the admin scenarios.
pub fn options() -> StackOptions {
    StackOptions::with_args(&["--admin-jwt-hs256-key", ADMIN_KEY])
}

/// Signs an admin token for `workspace_id` with `role`, valid ten minutes.
pub fn admin_token(workspace_id: &str, role: &str) -> String {
    gateway::admin::jwt::sign_hs256(ADMIN_KEY.as_bytes(), "e2e-admin", workspace_id, role, 600)
        .unwrap()
}

/// A response of the admin API.
#[derive(Debug)]
pub struct AdminResponse {
    pub request: String,
    pub status: u16,
    pub body: Value,
}

impl std::fmt::Display for AdminResponse {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} -> {} {}",
            self.request, self.status, self.body
        )
    }
}

/// The admin API of one workspace, with one bearer token.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    /// `http://{addr}/admin/v1/workspaces/{workspace_id}`.
    base_url: String,
    token: String,
}

impl AdminClient {
    /// Returns a client of the stack's demo workspace with an admin token.
    pub fn for_demo(stack: &TestStack) -> Self {
        Self::new(
            stack,
            &stack.workspace_id,
            &admin_token(&stack.workspace_id, "admin"),
        )
    }

    pub fn new(stack: &TestStack, workspace_id: &str, token: &str) -> Self {
        Self {
            http: http_client(),
            base_url: format!(
                "http://{}/admin/v1/workspaces/{workspace_id}",
                stack.http_addr
            ),
            token: token.to_owned(),
        }
    }

    /// Sends a request to `path` under the workspace ("" for the workspace
    /// itself). Every response must be JSON, and never a 5xx other than the
    /// 503 of an unfinished reset.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> AdminResponse {
        let url = if path.is_empty() {
            self.base_url.clone()
        } else {
            format!("{}/{path}", self.base_url)
        };
        let mut request = self.http.request(method.clone(), &url);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {url} failed: {error}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|error| {
            panic!("{method} {url} -> {status} is not JSON ({error}): {text:?}")
        });
        let checked = AdminResponse {
            request: format!("{method} {url}"),
            status,
            body,
        };
        let reset_pending = status == 503 && checked.body["code"] == "reset_pending";
        assert!(status < 500 || reset_pending, "server error: {checked}");
        if status >= 400 {
            assert!(
                checked.body["message"].is_string(),
                "error without message: {checked}"
            );
        }
        checked
    }

    /// Sends a request and asserts a 2xx status; returns the body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let response = self.send(method, path, body).await;
        assert!(
            (200..300).contains(&response.status),
            "expected success: {response}"
        );
        response.body
    }

    /// Issues a SCIM token and returns `(id, secret)`.
    pub async fn issue_token(&self, name: &str) -> (String, String) {
        let body = self
            .ok(
                Method::POST,
                "scim/tokens",
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        (
            body["id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }
}

/// Creates a workspace (domain `example.com`, SCIM off) through
/// identity-svc, as the platform does, and returns its id.
pub async fn create_workspace(stack: &TestStack, sso_enabled: bool, scim_entitled: bool) -> String {
    let request = CreateWorkspaceRequest {
        name: "Admin e2e firm".to_owned(),
        domains: vec!["example.com".to_owned()],
        sso_enabled,
        scim_enabled: false,
        scim_entitled,
    };
    WorkspaceServiceClient::new(stack.identity_channel().await)
        .create_workspace(request)
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap()
        .id
}

/// Returns a SCIM client of `workspace_id` with `token`.
pub fn scim_client(stack: &TestStack, workspace_id: &str, token: &str) -> ScimClient {
    ScimClient::new(
        http_client(),
        &format!("http://{}/scim/v2/{workspace_id}", stack.http_addr),
        token,
    )
}

/// Polls `GET Users` with `client` until it returns `status`; panics after
/// 30 seconds. Rotation overlaps end on the server's clock, so scenarios
/// poll instead of sleeping a fixed time.
pub async fn wait_for_status(client: &ScimClient, status: u16) {
    for _ in 0..300 {
        if client.get("Users?count=1").await.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("GET Users never returned {status} within 30 seconds");
}
