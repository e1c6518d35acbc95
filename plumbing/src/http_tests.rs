use std::net::SocketAddr;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::*;
use crate::test_support::init_tracing;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn current_trace_id() -> String {
    let context = tracing::Span::current().context();
    context.span().span_context().trace_id().to_string()
}

async fn echo_request_id(Extension(RequestId(id)): Extension<RequestId>) -> String {
    record_workspace_id("ws-test");
    id
}

async fn serve() -> SocketAddr {
    init_tracing();
    crate::metrics::install_recorder().unwrap();
    let app = Router::new()
        .route("/http-test/users/{id}", get(echo_request_id))
        .route("/http-test/trace", get(current_trace_id))
        .route(
            "/http-test/current",
            get(|| async { current_request_id().unwrap_or_default() }),
        )
        .layer(HttpTelemetryLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test]
async fn echoes_incoming_request_id() {
    let address = serve().await;

    let response = reqwest::Client::new()
        .get(format!("http://{address}/http-test/users/42"))
        .header("x-request-id", "client-id-1")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "client-id-1");
    assert_eq!(response.text().await.unwrap(), "client-id-1");
}

#[tokio::test]
async fn generates_uuid_v7_when_missing() {
    let address = serve().await;

    let response = reqwest::get(format!("http://{address}/http-test/users/42"))
        .await
        .unwrap();

    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(uuid.get_version_num(), 7);
    assert_eq!(response.text().await.unwrap(), id);
}

#[tokio::test]
async fn replaces_oversized_request_id() {
    let address = serve().await;

    let response = reqwest::Client::new()
        .get(format!("http://{address}/http-test/users/42"))
        .header("x-request-id", "x".repeat(200))
        .send()
        .await
        .unwrap();

    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn handler_task_has_current_request_id() {
    let address = serve().await;

    let response = reqwest::Client::new()
        .get(format!("http://{address}/http-test/current"))
        .header("x-request-id", "client-id-2")
        .send()
        .await
        .unwrap();

    assert_eq!(response.text().await.unwrap(), "client-id-2");
}

#[test]
fn current_request_id_is_none_outside_request() {
    assert_eq!(current_request_id(), None);
}

#[tokio::test]
async fn span_continues_incoming_trace() {
    let address = serve().await;

    let response = reqwest::Client::new()
        .get(format!("http://{address}/http-test/trace"))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.text().await.unwrap(), TRACE_ID);
}

#[tokio::test]
async fn span_starts_trace_without_traceparent() {
    let address = serve().await;

    let response = reqwest::get(format!("http://{address}/http-test/trace"))
        .await
        .unwrap();

    let trace_id = response.text().await.unwrap();
    assert_eq!(trace_id.len(), 32);
    assert_ne!(trace_id, "00000000000000000000000000000000");
}

#[tokio::test]
async fn metrics_use_route_template() {
    let address = serve().await;
    let handle = crate::metrics::install_recorder().unwrap();

    reqwest::get(format!("http://{address}/http-test/users/secret-id-981"))
        .await
        .unwrap();
    reqwest::get(format!("http://{address}/http-test/missing/secret-id-982"))
        .await
        .unwrap();
    let output = handle.render();

    assert!(
        output.contains(
            r#"http_requests_total{route="/http-test/users/{id}",method="GET",status="200"}"#
        ),
        "{output}"
    );
    assert!(
        output.contains(r#"http_requests_total{route="unmatched",method="GET",status="404"}"#),
        "{output}"
    );
    assert!(!output.contains("secret-id-98"), "{output}");
}

#[test]
fn request_id_validation() {
    assert!(is_valid_request_id("abc-123"));
    assert!(!is_valid_request_id(""));
    assert!(!is_valid_request_id("has space"));
    assert!(!is_valid_request_id(&"x".repeat(129)));
}
