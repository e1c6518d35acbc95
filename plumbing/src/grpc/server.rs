//! Tower layer for tonic servers: one span and one set of metrics per RPC.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{Request, Response};
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::body::{CallRecord, ObservedBody};
use crate::http::{REQUEST_ID_HEADER, is_valid_request_id};
use crate::metrics::RpcSide;
use crate::propagation;

/// Tower layer for `tonic::transport::Server::builder().layer(...)`.
///
/// Per RPC it opens an INFO span `grpc_request` with `service`, `method`,
/// `request_id` (from `x-request-id` metadata, else a new UUID v7),
/// `trace_id` and an empty `workspace_id`, parented on the `traceparent`
/// metadata. The request id is also available to the handler's task through
/// [`crate::http::current_request_id`], and the `x-actor` metadata through
/// [`crate::actor::current_actor`]. It records `grpc_server_requests_total` and
/// `grpc_server_duration_seconds` as described on [`ObservedBody`]. It never
/// records metadata values.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcServerLayer;

impl GrpcServerLayer {
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService { inner }
    }
}

/// Service produced by [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServerService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (service, method) = super::split_path(request.uri().path());
        let (service, method) = (service.to_owned(), method.to_owned());
        let actor = request
            .headers()
            .get(crate::actor::ACTOR_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(crate::actor::decode);
        let request_id = request
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| is_valid_request_id(id))
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        let span = tracing::info_span!(
            "grpc_request",
            service = %service,
            method = %method,
            request_id = %request_id,
            workspace_id = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        propagation::link_span(&span, propagation::extract(request.headers()));

        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let future = span.in_scope(|| inner.call(request));
        let future = crate::http::with_request_id(request_id, future);
        let future: BoxFuture<'static, _> = match actor {
            Some(actor) => Box::pin(crate::actor::with_actor(actor, future)),
            None => Box::pin(future),
        };

        Box::pin(
            async move {
                let mut record = CallRecord {
                    side: RpcSide::Server,
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
                        record.finish("UNKNOWN");
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}
