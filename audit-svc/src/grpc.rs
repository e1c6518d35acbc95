//! tonic adapters of `audit.v1.AuditService` and `events.v1.EventSink`.
//! Each RPC opens a span with the workspace it names, delegates to
//! [`AuditService`], maps the error once, and records a request counter and
//! a latency histogram.

use std::{future::Future, pin::Pin, time::Instant};

use futures::Stream;
use proto::audit::v1::{
    ExportAuditEventsChunk, ExportAuditEventsRequest, ListAuditEventsRequest,
    ListAuditEventsResponse, RecordRejectedRequestsRequest, RecordRejectedRequestsResponse,
    audit_service_server,
};
use proto::events::v1::{DeliverRequest, DeliverResponse, event_sink_server::EventSink};
use tonic::{Code, Request, Response, Status};

use crate::{AuditService, error::ServiceError};

/// Export chunks buffered ahead of the client.
const EXPORT_BUFFER: usize = 4;

/// Runs one RPC body and records `audit_rpc_requests_total{rpc, code}` and
/// `audit_rpc_duration_seconds{rpc}`.
async fn observe<T>(
    rpc: &'static str,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<Response<T>, Status> {
    let started = Instant::now();
    let result = work.await.map(Response::new).map_err(Status::from);

    let code = match &result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    };
    metrics::counter!("audit_rpc_requests_total", "rpc" => rpc, "code" => format!("{code:?}"))
        .increment(1);
    metrics::histogram!("audit_rpc_duration_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
    result
}

/// `audit.v1.AuditService`.
#[derive(Debug, Clone)]
pub struct AuditGrpc {
    service: AuditService,
}

impl AuditGrpc {
    pub fn new(service: AuditService) -> Self {
        Self { service }
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<ExportAuditEventsChunk, Status>> + Send>>;

#[tonic::async_trait]
impl audit_service_server::AuditService for AuditGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "ListAuditEvents", workspace_id = %request.get_ref().workspace_id))]
    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        observe("ListAuditEvents", self.service.list(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ExportAuditEvents", workspace_id = %request.get_ref().workspace_id))]
    async fn export_audit_events(
        &self,
        request: Request<ExportAuditEventsRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let request = request.into_inner();
        let format = request.format();
        let (query, format) = self
            .service
            .export_plan(&request.workspace_id, request.filter.as_ref(), format)
            .map_err(Status::from)?;
        let service = self.service.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
        tokio::spawn(async move {
            let mut after = String::new();
            let mut first = true;
            loop {
                let batch = service.export_batch(&query, format, &after, first).await;
                first = false;
                match batch {
                    Ok((text, last, more)) => {
                        if !text.is_empty()
                            && sender
                                .send(Ok(ExportAuditEventsChunk { text }))
                                .await
                                .is_err()
                        {
                            return;
                        }
                        if !more {
                            return;
                        }
                        after = last;
                    }
                    Err(error) => {
                        let _ = sender.send(Err(Status::from(error))).await;
                        return;
                    }
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecordRejectedRequests", counts = request.get_ref().counts.len()))]
    async fn record_rejected_requests(
        &self,
        request: Request<RecordRejectedRequestsRequest>,
    ) -> Result<Response<RecordRejectedRequestsResponse>, Status> {
        observe(
            "RecordRejectedRequests",
            self.service.record_rejected(request.into_inner()),
        )
        .await
    }
}

/// `events.v1.EventSink`: the other services' outbox events.
#[derive(Debug, Clone)]
pub struct EventSinkGrpc {
    service: AuditService,
}

impl EventSinkGrpc {
    pub fn new(service: AuditService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl EventSink for EventSinkGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "Deliver", event_count = request.get_ref().events.len()))]
    async fn deliver(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<Response<DeliverResponse>, Status> {
        observe("Deliver", self.service.deliver(request.into_inner())).await
    }
}
