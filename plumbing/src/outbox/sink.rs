//! Event destinations of the relay: the [`Sink`] trait and its gRPC
//! implementation over `events.v1.EventSink/Deliver`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use proto::events::v1::{DeliverRequest, Event, event_sink_client::EventSinkClient};

use crate::grpc::{TracedChannel, connect_traced_channel};

/// A failed delivery. The relay retries the whole batch later.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The consumer returned a gRPC error status, or the call failed before
    /// reaching it, such as on a refused connection or an expired deadline.
    #[error("consumer returned {}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// Any other failure of a non-gRPC sink.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Receiver of outbox events.
///
/// `deliver` returns `Ok` only when the receiver applied every event, or had
/// applied it before. On `Err` the receiver may have applied a prefix of the
/// batch, so the relay sends the whole batch again.
#[async_trait]
pub trait Sink: Send + Sync {
    async fn deliver(&self, events: &[Event]) -> Result<(), DeliveryError>;
}

/// A sink calling `events.v1.EventSink/Deliver` on one consumer service.
#[derive(Debug, Clone)]
pub struct GrpcSink {
    client: EventSinkClient<TracedChannel>,
}

impl GrpcSink {
    pub fn new(client: EventSinkClient<TracedChannel>) -> Self {
        Self { client }
    }

    /// Builds a lazily connecting sink for `endpoint` (such as
    /// `http://groups-svc:50051`). `timeout` is the deadline of each
    /// `Deliver` call and of connecting. Fails only on an invalid endpoint.
    pub async fn connect(endpoint: &str, timeout: Duration) -> anyhow::Result<Self> {
        let channel = connect_traced_channel(endpoint, timeout).await?;
        Ok(Self::new(EventSinkClient::new(channel)))
    }
}

#[async_trait]
impl Sink for GrpcSink {
    async fn deliver(&self, events: &[Event]) -> Result<(), DeliveryError> {
        let request = DeliverRequest {
            events: events.to_vec(),
        };
        // Clones share the channel; the generated client needs `&mut self`.
        self.client.clone().deliver(request).await?;
        Ok(())
    }
}

/// A named receiver of one relay. The name keys the consumer's delivery
/// state in the outbox database, so it must stay the same across restarts.
#[derive(Clone)]
pub struct Consumer {
    pub(crate) name: String,
    pub(crate) sink: Arc<dyn Sink>,
}

impl Consumer {
    pub fn new(name: impl Into<String>, sink: impl Sink + 'static) -> Self {
        Self {
            name: name.into(),
            sink: Arc::new(sink),
        }
    }

    /// Builds a consumer reached over gRPC at `endpoint`, as
    /// [`GrpcSink::connect`] does.
    pub async fn grpc(
        name: impl Into<String>,
        endpoint: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self::new(name, GrpcSink::connect(endpoint, timeout).await?))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Consumer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
