//! gRPC client channels with deadlines, trace-context propagation and client metrics.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::BoxFuture;
use http::header::HeaderValue;
use http::{Request, Response};
use tonic::transport::{Channel, Endpoint};
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::body::{CallRecord, ObservedBody};
use crate::http::{REQUEST_ID_HEADER, current_request_id};
use crate::metrics::RpcSide;
use crate::propagation;

/// Interval of HTTP/2 keep-alive pings on idle connections.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Channel wrapped in [`GrpcClientLayer`]; pass it to any generated client's `new`.
pub type TracedChannel = GrpcClientService<Channel>;

/// Builds a lazily connecting channel to `endpoint` (such as
/// `http://identity-svc:50051`).
///
/// `timeout` is both the per-request deadline (`Endpoint::timeout`) and the
/// connect timeout. No connection is made until the first request, so
/// services can start in any order. Fails only on an invalid endpoint.
pub async fn connect_channel(endpoint: &str, timeout: Duration) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| {
            format!("invalid gRPC endpoint {endpoint:?}: expected a URI such as http://host:port")
        })?
        .timeout(timeout)
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

/// Builds a channel as [`connect_channel`] does, wrapped in [`GrpcClientLayer`].
pub async fn connect_traced_channel(
    endpoint: &str,
    timeout: Duration,
) -> anyhow::Result<TracedChannel> {
    let channel = connect_channel(endpoint, timeout).await?;
    Ok(GrpcClientLayer::new().layer(channel))
}

/// Tower layer for client channels.
///
/// Per RPC it opens a span `grpc_client_request`, a child of the current
/// span, with `service` and `method`. It injects that span's trace context
/// as `traceparent` into the outgoing metadata, and sets `x-request-id` to
/// [`current_request_id`] and `x-actor` to [`crate::actor::current_actor`]
/// unless the request already has them. It records
/// `grpc_client_requests_total` and `grpc_client_duration_seconds` as
/// described on [`ObservedBody`]. A transport error (connection refused,
/// deadline) is counted with code `DEADLINE_EXCEEDED` for tonic's timeout
/// and `UNAVAILABLE` otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientLayer;

impl GrpcClientLayer {
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientService { inner }
    }
}

/// Service produced by [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClientService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let (service, method) = super::split_path(request.uri().path());
        let (service, method) = (service.to_owned(), method.to_owned());
        let span = tracing::info_span!("grpc_client_request", service = %service, method = %method);
        propagation::inject(&span.context(), request.headers_mut());
        if !request.headers().contains_key(&REQUEST_ID_HEADER)
            && let Some(value) = current_request_id().and_then(|id| HeaderValue::from_str(&id).ok())
        {
            request.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        if !request.headers().contains_key(crate::actor::ACTOR_HEADER)
            && let Some(value) = crate::actor::current_actor()
                .and_then(|actor| HeaderValue::from_str(&crate::actor::encode(&actor)).ok())
        {
            request
                .headers_mut()
                .insert(crate::actor::ACTOR_HEADER, value);
        }

        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let future = inner.call(request);

        Box::pin(
            async move {
                let mut record = CallRecord {
                    side: RpcSide::Client,
                    service,
                    method,
                    started,
                    span: tracing::Span::current(),
                    header_code: None,
                };
                match future.await {
                    Ok(response) => {
                        record.header_code = CallRecord::status_from(response.headers());
                        Ok(response.map(|body| ObservedBody::new(body, record)))
                    }
                    Err(error) => {
                        record.finish(transport_error_code(&error));
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Maps a channel error to the gRPC code tonic reports for it.
fn transport_error_code(error: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut source = Some(error);
    while let Some(current) = source {
        if current.is::<tonic::TimeoutExpired>() {
            return "DEADLINE_EXCEEDED";
        }
        source = current.source();
    }
    "UNAVAILABLE"
}
