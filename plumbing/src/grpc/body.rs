//! Response body wrapper that records an RPC's metrics once its gRPC status is
//! known, which for most responses is in the trailers.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use crate::metrics::{self, RpcSide};

/// Finished-call bookkeeping: who, since when, and the status seen so far.
pub(crate) struct CallRecord {
    pub side: RpcSide,
    pub service: String,
    pub method: String,
    pub started: Instant,
    pub span: tracing::Span,
    /// Status from the response headers, present on trailers-only responses.
    pub header_code: Option<&'static str>,
}

impl CallRecord {
    /// Reads `grpc-status` from `headers`, if present.
    pub fn status_from(headers: &HeaderMap) -> Option<&'static str> {
        headers
            .get("grpc-status")
            .map(|value| super::code_name(value.as_bytes()))
    }

    pub fn finish(self, code: &str) {
        let elapsed = self.started.elapsed();
        metrics::record_rpc(self.side, &self.service, &self.method, code, elapsed);
        log_completion(&self.span, self.side, code, elapsed);
    }
}

fn log_completion(span: &tracing::Span, side: RpcSide, code: &str, elapsed: Duration) {
    let latency_ms = elapsed.as_millis() as u64;
    match side {
        RpcSide::Server => tracing::info!(parent: span, code, latency_ms, "rpc completed"),
        RpcSide::Client => tracing::debug!(parent: span, code, latency_ms, "rpc call completed"),
    }
}

/// Response body that passes frames through and records the RPC when the
/// `grpc-status` trailer arrives, the stream ends, or the body is dropped.
///
/// The recorded status is the `grpc-status` trailer when there is one, else
/// the `grpc-status` header of a trailers-only response. Without either, it
/// is `UNKNOWN` when the stream ended and `CANCELLED` when the body was
/// dropped before the end. The duration runs until that moment, so for
/// streaming RPCs it covers the whole stream.
pub struct ObservedBody<B> {
    inner: Pin<Box<B>>,
    record: Option<CallRecord>,
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(inner: B, record: CallRecord) -> Self {
        Self {
            inner: Box::pin(inner),
            record: Some(record),
        }
    }

    fn finish(&mut self, trailer_code: Option<&'static str>, fallback: &'static str) {
        if let Some(record) = self.record.take() {
            let code = trailer_code.or(record.header_code).unwrap_or(fallback);
            record.finish(code);
        }
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = self.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = CallRecord::status_from(trailers);
                    self.finish(code, "UNKNOWN");
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(None, "UNKNOWN"),
            Poll::Ready(None) => self.finish(None, "UNKNOWN"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for ObservedBody<B> {
    fn drop(&mut self) {
        self.finish(None, "CANCELLED");
    }
}
