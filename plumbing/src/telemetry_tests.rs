use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;

use super::*;
use crate::test_support::{SharedBuffer, init_tracing};

fn config(format: LogFormat) -> TelemetryConfig {
    let mut config = TelemetryConfig::new("telemetry-test");
    config.log_format = format;
    config.log_filter = "info".to_owned();
    config
}

fn log_one_request(format: LogFormat) -> String {
    let config = config(format);
    let provider = build_tracer_provider(&config).unwrap();
    let buffer = SharedBuffer::default();
    let subscriber = build_subscriber(&config, &provider, buffer.clone()).unwrap();

    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            "http_request",
            request_id = "req-1",
            workspace_id = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        crate::propagation::link_span(&span, opentelemetry::Context::new());
        span.record("workspace_id", "ws-1");
        let _entered = span.enter();
        tracing::info!(answer = 42, "handled");
    });
    buffer.contents()
}

fn last_json_line(output: &str) -> serde_json::Value {
    let line = output.lines().last().unwrap();
    serde_json::from_str(line).unwrap()
}

#[test]
fn json_line_is_one_object() {
    let output = log_one_request(LogFormat::Json);

    assert_eq!(output.lines().count(), 1, "{output}");
    assert_eq!(last_json_line(&output)["message"], "handled");
}

#[test]
fn json_line_has_span_fields() {
    let line = last_json_line(&log_one_request(LogFormat::Json));

    assert_eq!(line["span"]["request_id"], "req-1");
    assert_eq!(line["span"]["workspace_id"], "ws-1");
    assert_eq!(line["answer"], 42);
}

#[test]
fn json_line_has_trace_id() {
    let line = last_json_line(&log_one_request(LogFormat::Json));

    let trace_id = line["span"]["trace_id"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32);
    assert!(trace_id.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn text_line_is_not_json() {
    let output = log_one_request(LogFormat::Text);

    assert!(output.contains("handled"), "{output}");
    assert!(serde_json::from_str::<serde_json::Value>(output.trim()).is_err());
}

#[test]
fn invalid_filter_is_rejected() {
    let mut config = config(LogFormat::Json);
    config.log_filter = "plumbing=notalevel".to_owned();
    let provider = build_tracer_provider(&config).unwrap();

    let result = build_subscriber(&config, &provider, SharedBuffer::default());

    assert!(result.is_err());
}

#[tokio::test]
async fn second_init_returns_error() {
    init_tracing();

    let _first = init(&config(LogFormat::Json));
    let second = init(&config(LogFormat::Json));

    assert!(second.is_err());
}

#[test]
fn clap_defaults_apply() {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        telemetry: TelemetryConfig,
    }

    let cli = Cli::try_parse_from(["test", "--service-name", "svc"]).unwrap();

    assert_eq!(cli.telemetry.log_format, LogFormat::Json);
    assert!(!cli.telemetry.log_filter.is_empty());
}

struct Collector(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_export_reaches_collector() {
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(sender)))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut config = config(LogFormat::Json);
    config.otlp_endpoint = Some(format!("http://{address}"));
    let provider = build_tracer_provider(&config).unwrap();
    let subscriber = build_subscriber(&config, &provider, SharedBuffer::default()).unwrap();

    tracing::subscriber::with_default(subscriber, || {
        let _entered = tracing::info_span!("exported_span").entered();
    });
    let guard = TelemetryGuard {
        provider: Some(provider),
    };
    guard.shutdown();
    let request = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .unwrap()
        .unwrap();

    let resource_spans = &request.resource_spans[0];
    let service_name = resource_spans
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(
        service_name,
        Some(Value::StringValue("telemetry-test".to_owned()))
    );
    assert_eq!(resource_spans.scope_spans[0].spans[0].name, "exported_span");
}
