//! Admin API client: where to connect, and requests that return the
//! response JSON or the server's error message.

use std::{path::Path, time::Duration};

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::ConnectionArgs;

/// Fields of the demo workspace file that scimctl reads.
#[derive(Debug, Deserialize)]
struct DemoWorkspace {
    workspace_id: Option<String>,
    scim_url: Option<String>,
    admin_token: Option<String>,
}

/// A connection to one workspace's admin API.
pub struct AdminApi {
    http: reqwest::Client,
    /// `{origin}/admin/v1/workspaces/{workspace_id}`, without a trailing slash.
    workspace_url: String,
    admin_token: String,
    /// Deadline of a whole request, except a streamed one.
    timeout: Duration,
}

/// A failed request: the server's error message, or why no response arrived.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub message: String,
}

impl AdminApi {
    /// Resolves the connection from flags and environment variables, and
    /// from the demo workspace file for whatever they leave unset.
    pub fn connect(args: &ConnectionArgs) -> anyhow::Result<Self> {
        let demo = if args.url.is_none() || args.workspace.is_none() || args.admin_token.is_none() {
            Some(read_demo(&args.demo_file)?)
        } else {
            None
        };
        let from_demo = |field: fn(&DemoWorkspace) -> Option<String>, name: &str| {
            demo.as_ref().and_then(field).with_context(|| {
                format!(
                    "{} has no {name}; pass --url, --workspace and --admin-token or set SCIMCTL_URL, \
                     SCIMCTL_WORKSPACE and SCIMCTL_ADMIN_TOKEN",
                    args.demo_file.display()
                )
            })
        };

        let origin = match &args.url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => origin_of(&from_demo(|demo| demo.scim_url.clone(), "scim_url")?)?,
        };
        let workspace_id = match &args.workspace {
            Some(workspace) => workspace.clone(),
            None => from_demo(|demo| demo.workspace_id.clone(), "workspace_id")?,
        };
        let admin_token = match &args.admin_token {
            Some(token) => token.clone(),
            None => from_demo(|demo| demo.admin_token.clone(), "admin_token")?,
        };

        // Connecting and each read have the deadline too, so a streamed
        // export, which has no overall deadline, still fails when stalled.
        let timeout = Duration::from_secs(args.timeout_seconds);
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Self {
            http,
            workspace_url: format!(
                "{origin}/admin/v1/workspaces/{}",
                encode_segment(&workspace_id)
            ),
            admin_token,
            timeout,
        })
    }

    /// Sends a request to `path` under the workspace (empty for the
    /// workspace itself) and returns the response JSON.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let (url, response) = self
            .request(method.clone(), path, body, Some(self.timeout))
            .await?;
        let text = response.text().await.map_err(|error| ApiError {
            message: format!("{method} {url}: failed to read the response: {error}"),
        })?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a GET request to `path` under the workspace and returns the
    /// successful response with its body unread, for a caller that streams
    /// it. The body has no overall deadline, only one per read.
    pub async fn get_stream(&self, path: &str) -> Result<reqwest::Response, ApiError> {
        let (_, response) = self.request(Method::GET, path, None, None).await?;
        Ok(response)
    }

    /// Sends a request and returns its URL and the response when the
    /// status is a success, else the server's error message. `deadline`
    /// bounds the whole request, reading the body included.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        deadline: Option<Duration>,
    ) -> Result<(String, reqwest::Response), ApiError> {
        let url = if path.is_empty() {
            self.workspace_url.clone()
        } else {
            format!("{}/{path}", self.workspace_url)
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.admin_token);
        if let Some(deadline) = deadline {
            request = request.timeout(deadline);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }

        let response = request.send().await.map_err(|error| ApiError {
            message: format!("{method} {url} failed: {error}"),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok((url, response));
        }
        let text = response.text().await.map_err(|error| ApiError {
            message: format!("{method} {url}: failed to read the response: {error}"),
        })?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Err(ApiError {
            message: error_message(status, &json, &text),
        })
    }
}

/// Returns the server's message with the details an admin acts on.
fn error_message(status: StatusCode, json: &Value, text: &str) -> String {
    let Some(message) = json.get("message").and_then(Value::as_str) else {
        let body = text.trim();
        return if body.is_empty() {
            format!("the server returned {status}")
        } else {
            format!("the server returned {status}: {body}")
        };
    };
    let mut message = message.to_owned();
    if let Some(reason) = json.get("reason").and_then(Value::as_str) {
        message.push_str(&format!(" ({reason})"));
    }
    if let Some(steps) = json.get("pending_steps").and_then(Value::as_array) {
        let steps: Vec<&str> = steps.iter().filter_map(Value::as_str).collect();
        message.push_str(&format!(" Pending steps: {}.", steps.join(", ")));
    }
    message
}

fn read_demo(path: &Path) -> anyhow::Result<DemoWorkspace> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "failed to read {}; start the local stack with `scim-server`, or pass --url, --workspace and --admin-token",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a demo workspace file", path.display()))
}

/// Returns `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("invalid scim_url {url:?}"))?;
    Ok(parsed.origin().ascii_serialization())
}

/// Appends the `name=value` parameters of `query`, already encoded, to
/// `path`.
pub fn with_query(path: &str, query: &[String]) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Percent-encodes one path segment, such as a domain with `*`.
pub fn encode_segment(segment: &str) -> String {
    let mut encoded = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_drops_path_and_query() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/scim/v2/ws?aadOptscim062020").ok(),
            Some("http://127.0.0.1:8080".to_owned())
        );
    }

    #[test]
    fn segment_encoding_escapes_wildcard() {
        assert_eq!(encode_segment("*.example.com"), "%2A.example.com");
    }

    #[test]
    fn error_message_names_reason_and_steps() {
        let json = serde_json::json!({
            "message": "The reset is unfinished.",
            "reason": "RESET_IN_PROGRESS",
            "pending_steps": ["groups"],
        });

        let message = error_message(StatusCode::SERVICE_UNAVAILABLE, &json, "");

        assert_eq!(
            message,
            "The reset is unfinished. (RESET_IN_PROGRESS) Pending steps: groups."
        );
    }
}
