//! Per-request telemetry for the axum gateway: request id, tracing span,
//! trace-context parent and HTTP metrics.

use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use futures::future::BoxFuture;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::{metrics, propagation};

/// Header that carries the request id in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Route label used when no route matched, so unknown paths never become labels.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Maximum length in bytes of an incoming request id. Longer ids are replaced by a new one.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Request id of the current request, stored in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// Returns the request id of the HTTP request or RPC that the current task
/// serves, or `None` outside one.
///
/// Tasks started with `tokio::spawn` inside a handler do not inherit it.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `future` with `request_id` as [`current_request_id`].
pub(crate) async fn with_request_id<F: std::future::Future>(
    request_id: String,
    future: F,
) -> F::Output {
    CURRENT_REQUEST_ID.scope(request_id, future).await
}

/// Records `workspace_id` on the current `http_request` or `grpc_request` span.
pub fn record_workspace_id(workspace_id: &str) {
    tracing::Span::current().record("workspace_id", workspace_id);
}

/// Tower layer that adds request ids, a tracing span and HTTP metrics.
///
/// Add it with `Router::layer` so that it runs after routing and can read the
/// route template ([`MatchedPath`]). Requests that match no route are labelled
/// [`UNMATCHED_ROUTE`]. Per request it:
///
/// - takes `x-request-id` when it is printable ASCII of at most 128 bytes, or
///   generates a UUID v7, then sets it on the request (header and
///   [`RequestId`] extension, and [`current_request_id`] for the handler's
///   task) and echoes it on the response;
/// - opens an INFO span `http_request` with `method`, `route`, `request_id`,
///   `trace_id` and an empty `workspace_id` for the handler to fill through
///   [`record_workspace_id`], parented on an incoming W3C `traceparent`;
/// - records `http_requests_total` and `http_request_duration_seconds`.
///
/// It never records header values other than the request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpTelemetryLayer;

impl HttpTelemetryLayer {
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for HttpTelemetryLayer {
    type Service = HttpTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpTelemetry { inner }
    }
}

/// Service produced by [`HttpTelemetryLayer`].
#[derive(Debug, Clone)]
pub struct HttpTelemetry<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpTelemetry<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let request_id = take_or_generate_request_id(&request);
        let request_id_value = header_value(&request_id);
        request
            .headers_mut()
            .insert(REQUEST_ID_HEADER, request_id_value.clone());
        request
            .extensions_mut()
            .insert(RequestId(request_id.clone()));

        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
            .to_owned();
        let method = request.method().as_str().to_owned();
        let span = tracing::info_span!(
            "http_request",
            method = %method,
            route = %route,
            request_id = %request_id,
            workspace_id = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        propagation::link_span(&span, propagation::extract(request.headers()));

        // The ready service is taken and a fresh clone left in its place, as
        // tower requires when the future outlives `&mut self`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let future = span.in_scope(|| inner.call(request));
        let future = with_request_id(request_id, future);

        Box::pin(
            async move {
                let result = future.await;
                let elapsed = started.elapsed();
                match result {
                    Ok(mut response) => {
                        let status = response.status().as_u16();
                        response
                            .headers_mut()
                            .insert(REQUEST_ID_HEADER, request_id_value);
                        metrics::record_http(&route, &method, status, elapsed);
                        tracing::info!(
                            status,
                            latency_ms = elapsed.as_millis() as u64,
                            "request completed"
                        );
                        Ok(response)
                    }
                    Err(error) => {
                        // axum handlers are infallible, so this branch serves
                        // only non-axum inner services.
                        tracing::warn!(
                            latency_ms = elapsed.as_millis() as u64,
                            "request failed without a response"
                        );
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Returns the incoming request id if it is usable, else a new UUID v7.
fn take_or_generate_request_id<B>(request: &Request<B>) -> String {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_valid_request_id(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

pub(crate) fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

fn header_value(request_id: &str) -> HeaderValue {
    // Both sources are printable ASCII, which is always a valid header value.
    HeaderValue::from_str(request_id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
