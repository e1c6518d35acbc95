use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderMap;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::*;
use crate::test_support::init_tracing;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const ECHO_SERVICE: &str = "test.v1.Echo";

/// Values the server read from one request: the `traceparent` and
/// `x-request-id` headers and the trace id of the `grpc_request` span.
#[derive(Debug)]
struct Seen {
    traceparent: Option<String>,
    request_id: Option<String>,
    trace_id: String,
}

fn echo_descriptor_set() -> Vec<u8> {
    use prost_types::{FileDescriptorProto, FileDescriptorSet, ServiceDescriptorProto};

    FileDescriptorSet {
        file: vec![FileDescriptorProto {
            name: Some("test/v1/echo.proto".to_owned()),
            package: Some("test.v1".to_owned()),
            service: vec![ServiceDescriptorProto {
                name: Some("Echo".to_owned()),
                ..Default::default()
            }],
            syntax: Some("proto3".to_owned()),
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

async fn serve() -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    init_tracing();
    crate::metrics::install_recorder().unwrap();
    let (_health_reporter, health, reflection_v1, reflection_v1alpha) =
        health_and_reflection(&echo_descriptor_set(), &[ECHO_SERVICE])
            .await
            .unwrap();
    let (sender, receiver) = mpsc::unbounded_channel();
    let capture = move |request: http::Request<tonic::body::Body>| {
        let context = tracing::Span::current().context();
        let trace_id = opentelemetry::trace::TraceContextExt::span(&context)
            .span_context()
            .trace_id()
            .to_string();
        let traceparent = request
            .headers()
            .get("traceparent")
            .map(|value| value.to_str().unwrap().to_owned());
        let request_id = request
            .headers()
            .get("x-request-id")
            .map(|value| value.to_str().unwrap().to_owned());
        let _ = sender.send(Seen {
            traceparent,
            request_id,
            trace_id,
        });
        request
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();

    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(
                ServiceBuilder::new()
                    .layer(GrpcServerLayer::new())
                    .map_request(capture),
            )
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (address, receiver)
}

async fn health_client(address: SocketAddr) -> HealthClient<TracedChannel> {
    let channel = connect_traced_channel(&format!("http://{address}"), Duration::from_secs(5))
        .await
        .unwrap();
    HealthClient::new(channel)
}

fn check_request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

#[tokio::test]
async fn health_reports_named_service_serving() {
    let (address, _seen) = serve().await;

    let response = health_client(address)
        .await
        .check(check_request(ECHO_SERVICE))
        .await
        .unwrap();

    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
}

#[tokio::test]
async fn health_reports_server_serving() {
    let (address, _seen) = serve().await;

    let response = health_client(address)
        .await
        .check(check_request(""))
        .await
        .unwrap();

    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
}

#[tokio::test]
async fn health_rejects_unknown_service() {
    let (address, _seen) = serve().await;

    let status = health_client(address)
        .await
        .check(check_request("no.such.Service"))
        .await
        .unwrap_err();

    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_v1alpha_lists_services() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let (address, _seen) = serve().await;
    let channel = connect_channel(&format!("http://{address}"), Duration::from_secs(5))
        .await
        .unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list, got {response:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(names.contains(&ECHO_SERVICE.to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn reflection_v1_lists_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let (address, _seen) = serve().await;
    let channel = connect_channel(&format!("http://{address}"), Duration::from_secs(5))
        .await
        .unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list, got {response:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|service| service.name == ECHO_SERVICE),
        "{list:?}"
    );
}

#[tokio::test]
async fn client_sends_traceparent_of_current_trace() {
    let (address, mut seen) = serve().await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{TRACE_ID}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    let root = tracing::info_span!("test_root", trace_id = tracing::field::Empty);
    crate::propagation::link_span(&root, crate::propagation::extract(&headers));

    health_client(address)
        .await
        .check(check_request(""))
        .instrument(root)
        .await
        .unwrap();
    let seen = seen.recv().await.unwrap();

    let traceparent = seen.traceparent.unwrap();
    assert!(
        traceparent.starts_with(&format!("00-{TRACE_ID}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("b7ad6b7169203331"),
        "client span id expected: {traceparent}"
    );
}

#[tokio::test]
async fn server_span_continues_client_trace() {
    let (address, mut seen) = serve().await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{TRACE_ID}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    let root = tracing::info_span!("test_root", trace_id = tracing::field::Empty);
    crate::propagation::link_span(&root, crate::propagation::extract(&headers));

    health_client(address)
        .await
        .check(check_request(""))
        .instrument(root)
        .await
        .unwrap();

    assert_eq!(seen.recv().await.unwrap().trace_id, TRACE_ID);
}

#[tokio::test]
async fn client_forwards_current_request_id() {
    let (address, mut seen) = serve().await;
    let mut client = health_client(address).await;

    crate::http::with_request_id("req-forwarded".to_owned(), client.check(check_request("")))
        .await
        .unwrap();

    assert_eq!(
        seen.recv().await.unwrap().request_id.as_deref(),
        Some("req-forwarded")
    );
}

#[tokio::test]
async fn client_without_request_id_sends_none() {
    let (address, mut seen) = serve().await;

    health_client(address)
        .await
        .check(check_request(""))
        .await
        .unwrap();

    assert_eq!(seen.recv().await.unwrap().request_id, None);
}

#[tokio::test]
async fn metrics_record_both_sides_with_code() {
    let (address, _seen) = serve().await;
    let handle = crate::metrics::install_recorder().unwrap();
    let mut client = health_client(address).await;

    client.check(check_request(ECHO_SERVICE)).await.unwrap();
    client
        .check(check_request("metrics.test.Missing"))
        .await
        .unwrap_err();
    // Metrics are recorded when the body ends, which can trail the response.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let output = handle.render();

    for expected in [
        r#"grpc_server_requests_total{service="grpc.health.v1.Health",method="Check",code="OK"}"#,
        r#"grpc_server_requests_total{service="grpc.health.v1.Health",method="Check",code="NOT_FOUND"}"#,
        r#"grpc_client_requests_total{service="grpc.health.v1.Health",method="Check",code="OK"}"#,
        r#"grpc_client_requests_total{service="grpc.health.v1.Health",method="Check",code="NOT_FOUND"}"#,
        r#"grpc_server_duration_seconds_count{service="grpc.health.v1.Health",method="Check"}"#,
    ] {
        assert!(
            output.contains(expected),
            "missing {expected} in:\n{output}"
        );
    }
}

#[tokio::test]
async fn lazy_channel_fails_on_first_call() {
    init_tracing();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);

    let channel = connect_traced_channel(&format!("http://{closed}"), Duration::from_secs(2)).await;
    let status = HealthClient::new(channel.unwrap())
        .check(check_request(""))
        .await
        .unwrap_err();

    assert_eq!(status.code(), tonic::Code::Unavailable);
}

#[tokio::test]
async fn connect_rejects_invalid_endpoint() {
    let result = connect_channel("not a uri", Duration::from_secs(1)).await;

    assert!(result.is_err());
}

#[test]
fn split_path_reads_service_and_method() {
    assert_eq!(
        split_path("/grpc.health.v1.Health/Check"),
        ("grpc.health.v1.Health", "Check")
    );
    assert_eq!(split_path("/"), ("unknown", "unknown"));
    assert_eq!(split_path("/a/b/c"), ("unknown", "unknown"));
}

#[test]
fn code_name_uses_spec_spelling() {
    assert_eq!(code_name(b"0"), "OK");
    assert_eq!(code_name(b"5"), "NOT_FOUND");
    assert_eq!(code_name(b"garbage"), "UNKNOWN");
}
