//! Prometheus recorder, the `/metrics` route and the metric names every
//! service shares.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter of HTTP requests, labelled `route` (the route template), `method` and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram of HTTP request latency in seconds, labelled `route` and `method`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Counter of RPCs served, labelled `service`, `method` and `code`.
pub const GRPC_SERVER_REQUESTS_TOTAL: &str = "grpc_server_requests_total";
/// Histogram of RPC latency in seconds on the server, labelled `service` and `method`.
pub const GRPC_SERVER_DURATION_SECONDS: &str = "grpc_server_duration_seconds";
/// Counter of RPCs sent, labelled `service`, `method` and `code`.
pub const GRPC_CLIENT_REQUESTS_TOTAL: &str = "grpc_client_requests_total";
/// Histogram of RPC latency in seconds on the client, labelled `service` and `method`.
pub const GRPC_CLIENT_DURATION_SECONDS: &str = "grpc_client_duration_seconds";
/// Counter of requests rejected by a rate limiter, labelled `scope`.
pub const RATE_LIMITED_TOTAL: &str = "rate_limited_total";
/// Counter of rate-limiter backend failures that let the request through, labelled `scope`.
pub const RATE_LIMIT_BACKEND_ERRORS_TOTAL: &str = "rate_limit_backend_errors_total";

/// Every shared metric with its kind and help text, described at install time.
pub const METRICS: &[(&str, MetricKind, &str)] = &[
    (
        HTTP_REQUESTS_TOTAL,
        MetricKind::Counter,
        "HTTP requests by route template, method and status.",
    ),
    (
        HTTP_REQUEST_DURATION_SECONDS,
        MetricKind::Histogram,
        "HTTP request latency in seconds by route template and method.",
    ),
    (
        GRPC_SERVER_REQUESTS_TOTAL,
        MetricKind::Counter,
        "RPCs served by service, method and gRPC status code.",
    ),
    (
        GRPC_SERVER_DURATION_SECONDS,
        MetricKind::Histogram,
        "Server-side RPC latency in seconds by service and method.",
    ),
    (
        GRPC_CLIENT_REQUESTS_TOTAL,
        MetricKind::Counter,
        "RPCs sent by service, method and gRPC status code.",
    ),
    (
        GRPC_CLIENT_DURATION_SECONDS,
        MetricKind::Histogram,
        "Client-side RPC latency in seconds by service and method.",
    ),
    (
        RATE_LIMITED_TOTAL,
        MetricKind::Counter,
        "Requests rejected by a rate limiter, by scope.",
    ),
    (
        RATE_LIMIT_BACKEND_ERRORS_TOTAL,
        MetricKind::Counter,
        "Rate-limiter backend errors that let the request through, by scope.",
    ),
];

/// Histogram buckets in seconds for every `*_duration_seconds` metric: the
/// Prometheus client defaults, from 5 ms to 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the background thread drains histogram samples into buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Kind of a shared metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Histogram,
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// Installs the global Prometheus recorder and describes [`METRICS`].
///
/// Idempotent: later calls return a clone of the first handle. Fails when
/// another global `metrics` recorder is already installed. Starts one thread
/// that runs the recorder's upkeep every few seconds.
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let _lock = INSTALL_LOCK
        .lock()
        .map_err(|_| anyhow::anyhow!("metrics recorder installation panicked earlier"))?;
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }

    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_duration_seconds".to_owned()),
            DURATION_BUCKETS,
        )
        .context("invalid histogram buckets")?
        .install_recorder()
        .context("failed to install the Prometheus recorder")?;
    describe_metrics();
    spawn_upkeep(handle.clone())?;

    let _ = HANDLE.set(handle.clone());
    Ok(handle)
}

/// Returns a router serving `GET /metrics` in the Prometheus text format.
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let body = handle.render();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }),
    )
}

fn describe_metrics() {
    for &(name, kind, help) in METRICS {
        match kind {
            MetricKind::Counter => metrics::describe_counter!(name, help),
            MetricKind::Histogram => {
                metrics::describe_histogram!(name, metrics::Unit::Seconds, help)
            }
        }
    }
}

fn spawn_upkeep(handle: PrometheusHandle) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        })
        .context("failed to start the metrics upkeep thread")?;
    Ok(())
}

pub(crate) fn record_http(route: &str, method: &str, status: u16, elapsed: Duration) {
    let labels = [("route", route.to_owned()), ("method", method.to_owned())];
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(elapsed.as_secs_f64());
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
}

/// Side of an RPC, which picks the client or server metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RpcSide {
    Server,
    Client,
}

pub(crate) fn record_rpc(
    side: RpcSide,
    service: &str,
    method: &str,
    code: &str,
    elapsed: Duration,
) {
    let (total, duration) = match side {
        RpcSide::Server => (GRPC_SERVER_REQUESTS_TOTAL, GRPC_SERVER_DURATION_SECONDS),
        RpcSide::Client => (GRPC_CLIENT_REQUESTS_TOTAL, GRPC_CLIENT_DURATION_SECONDS),
    };
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_owned()),
    ];
    metrics::histogram!(duration, &labels).record(elapsed.as_secs_f64());
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_owned()),
        ("code", code.to_owned()),
    ];
    metrics::counter!(total, &labels).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_returns_same_handle() {
        let first = install_recorder().unwrap();
        metrics::counter!("install_test_total").increment(1);

        let second = install_recorder().unwrap();

        assert!(first.render().contains("install_test_total 1"));
        assert!(second.render().contains("install_test_total 1"));
    }

    #[test]
    fn duration_uses_configured_buckets() {
        let handle = install_recorder().unwrap();
        record_rpc(
            RpcSide::Server,
            "bucket.v1.Test",
            "Check",
            "OK",
            Duration::from_millis(30),
        );
        handle.run_upkeep();

        let output = handle.render();

        assert!(output.contains(r#"grpc_server_duration_seconds_bucket{service="bucket.v1.Test",method="Check",le="0.05"} 1"#), "{output}");
    }

    #[tokio::test]
    async fn metrics_route_serves_text_format() {
        let handle = install_recorder().unwrap();
        metrics::counter!(RATE_LIMITED_TOTAL, "scope" => "route-test").increment(1);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, metrics_router(handle)).await });

        let response = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap();

        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let body = response.text().await.unwrap();
        assert!(
            body.contains(r#"rate_limited_total{scope="route-test"} 1"#),
            "{body}"
        );
    }
}
