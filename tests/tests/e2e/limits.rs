//! Request body and rate limits: 413 and 429 responses with SCIM Error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{DOMAIN, unique_email, user_body},
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Body limit of the stacks below, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

mod body {
    use super::*;

    e2e_tests::stack_tests!(
        options: e2e_tests::StackOptions::with_args(&["--max-body-bytes", "65536"]);
        oversized_body_is_413,
        oversized_chunked_body_is_413,
        connection_after_413_closed_or_usable,
    );
}

mod rate {
    use super::*;

    e2e_tests::stack_tests!(
        options: e2e_tests::StackOptions::with_rate_limit(1, 3);
        burst_over_limit_is_429_with_retry_after,
        limited_workspace_leaves_other_unaffected,
    );
}

/// The auth-failure limit is keyed by client address, and every test stack
/// is reached from 127.0.0.1; split stacks share that key through Redis, so
/// this runs on an embedded stack, whose limiter is its own.
#[tokio::test]
async fn bad_token_flood_is_429_while_real_token_works() {
    let stack =
        TestStack::embedded_with(e2e_tests::StackOptions::with_auth_failure_limit(1, 5)).await;
    let scim = stack.client();
    let url = format!("{}/Users?count=1", stack.base_url);
    let http = reqwest::Client::new();

    let mut statuses = Vec::new();
    for attempt in 0..20 {
        let response = http
            .get(&url)
            .bearer_auth(format!("scim_not_a_real_token_{attempt}"))
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get("retry-after").is_some();
        statuses.push((response.status().as_u16(), retry_after));
    }
    let real = scim.send(scim.request(Method::GET, "Users?count=1")).await;

    assert!(
        statuses
            .iter()
            .all(|(status, _)| matches!(status, 401 | 429)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(status, _)| *status == 429),
        "20 bad tokens under a burst of 5 were never limited"
    );
    assert!(
        statuses
            .iter()
            .filter(|(status, _)| *status == 429)
            .all(|(_, retry_after)| *retry_after),
        "a 429 without Retry-After: {statuses:?}"
    );
    assert_eq!(
        real.status, 200,
        "the workspace's own token was limited by another client's failures"
    );
}

/// Returns a user body padded with a `displayName` of `bytes` characters.
fn padded_user(user_name: &str, bytes: usize) -> Value {
    let mut body = user_body(user_name, "Large", "Body");
    body["displayName"] = json!("x".repeat(bytes));
    body
}

async fn oversized_body_is_413(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("large.body", DOMAIN);

    let response = scim
        .post("Users", &padded_user(&user_name, 2 * MAX_BODY_BYTES))
        .await;

    assert_error(&response, 413, None);
    let fresh = stack.client();
    assert_list(
        &fresh
            .filter_users(&format!(r#"userName eq "{user_name}""#))
            .await,
        0,
        &[],
    );
}

async fn oversized_chunked_body_is_413(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("chunked.body", DOMAIN);
    let body = padded_user(&user_name, 2 * MAX_BODY_BYTES).to_string();
    let path = format!("/scim/v2/{}/Users", stack.workspace_id);

    let (status, head, text) = post_chunked(stack, &path, body.as_bytes()).await;

    assert_eq!(status, 413, "{head}\r\n\r\n{text}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/scim+json"),
        "{head}"
    );
    assert!(
        text.contains("urn:ietf:params:scim:api:messages:2.0:Error"),
        "{text}"
    );
    assert_list(
        &scim
            .filter_users(&format!(r#"userName eq "{user_name}""#))
            .await,
        0,
        &[],
    );
}

/// Sends a POST with `Transfer-Encoding: chunked` (no `Content-Length`) over
/// a raw connection and returns the status, the header block and the body.
async fn post_chunked(stack: &TestStack, path: &str, body: &[u8]) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(stack.http_addr)
        .await
        .expect("connect failed");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\n\
         Accept: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        stack.http_addr, stack.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("writing the request head failed");
    // The server may respond and close before the whole body is sent, so
    // write errors end the upload without failing the test.
    for chunk in body.chunks(8 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;

    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "no response within 30 s");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    (status, head.to_owned(), body.to_owned())
}

async fn burst_over_limit_is_429_with_retry_after(stack: &TestStack) {
    let scim = stack.client();

    let mut responses = Vec::new();
    for _ in 0..10 {
        responses.push(scim.send(scim.request(Method::GET, "Users?count=1")).await);
    }

    let limited: Vec<_> = responses
        .iter()
        .filter(|response| response.status == 429)
        .collect();
    assert!(
        !limited.is_empty(),
        "10 requests at once under a limit of 1/s with burst 3 were all served"
    );
    assert!(
        responses
            .iter()
            .all(|response| matches!(response.status, 200 | 429)),
        "{responses:#?}"
    );
    for response in limited {
        assert_error(response, 429, None);
        let retry_after = response.header("retry-after").unwrap_or("");
        let seconds: u64 = retry_after
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {retry_after:?}"));
        assert!(seconds >= 1, "Retry-After is {seconds}");
    }
}

async fn limited_workspace_leaves_other_unaffected(stack: &TestStack) {
    let scim = stack.client();
    let other = stack.second_workspace().await.client();
    for _ in 0..10 {
        scim.send(scim.request(Method::GET, "Users?count=1")).await;
    }
    let limited = scim.send(scim.request(Method::GET, "Users?count=1")).await;
    assert_eq!(limited.status, 429, "{limited}");

    let served = other.get("Users?count=1").await;

    assert_eq!(served.status, 200, "{served}");
}

async fn connection_after_413_closed_or_usable(stack: &TestStack) {
    let body = padded_user(&unique_email("keep.alive", DOMAIN), 2 * MAX_BODY_BYTES).to_string();
    let users = format!("/scim/v2/{}/Users", stack.workspace_id);
    let mut stream = tokio::net::TcpStream::connect(stack.http_addr)
        .await
        .expect("connect failed");
    let oversized = format!(
        "POST {users} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        stack.http_addr,
        stack.token,
        body.len()
    );
    let follow_up = format!(
        "GET {users}?count=0 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        stack.http_addr, stack.token
    );

    let _ = stream.write_all(oversized.as_bytes()).await;
    let first = read_response_head(&mut stream).await;
    let closing = first.to_ascii_lowercase().contains("connection: close");
    let _ = stream.write_all(follow_up.as_bytes()).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    let rest = String::from_utf8_lossy(&rest);

    assert!(first.starts_with("HTTP/1.1 413"), "{first}");
    // A server that stops reading a body must announce `Connection: close`
    // or drain the body, so a keep-alive client can send its next request.
    assert!(
        closing || rest.contains("HTTP/1.1 200"),
        "after {first:?} the next request got {rest:?}"
    );
}

/// Reads one response's header block and its `Content-Length` body.
async fn read_response_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut raw = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|value| value.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= length {
                return head.to_owned();
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(count)) if count > 0 => raw.extend_from_slice(&buffer[..count]),
            _ => return String::from_utf8_lossy(&raw).into_owned(),
        }
    }
}
