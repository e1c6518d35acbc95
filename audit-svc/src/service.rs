//! The audit service's operations: ingest of events, queries, exports,
//! rejected-request counts and retention.

use std::time::Duration;

use proto::audit::v1::{
    AuditFilter, ExportFormat, ListAuditEventsRequest, ListAuditEventsResponse,
    RecordRejectedRequestsRequest, RecordRejectedRequestsResponse,
};
use proto::events::v1::{DeliverRequest, DeliverResponse};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{
    AuditService,
    error::ServiceError,
    export,
    record::{self, AuditRecord, micros},
    store::{Order, Query},
};

/// Largest page of `ListAuditEvents`.
pub const MAX_PAGE_SIZE: i32 = 1_000;
/// Page size when a request leaves it 0.
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// Events read per query while exporting.
pub const EXPORT_BATCH: i64 = 1_000;
/// Maximum counts in one rejected-request report.
pub const MAX_REPORT_COUNTS: usize = 10_000;
/// Time between two retention runs.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3_600);

/// Current time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

impl AuditService {
    /// Stores the audit record of each event once, by event id. Events of
    /// kinds this build does not know are acknowledged and skipped.
    pub async fn deliver(&self, request: DeliverRequest) -> Result<DeliverResponse, ServiceError> {
        let now = now_micros();
        let mut records = Vec::with_capacity(request.events.len());
        for (index, event) in request.events.iter().enumerate() {
            if event.id.is_empty() || event.workspace_id.is_empty() {
                return Err(ServiceError::invalid(
                    "events",
                    format!("event {index} needs an id and a workspace_id"),
                ));
            }
            match record::from_event(event, now) {
                Some(record) => records.push(record),
                None => {
                    tracing::debug!(event_id = %event.id, "event kind unknown to audit-svc, acknowledged")
                }
            }
        }
        let stored = self.store.insert(&records).await?;
        metrics::counter!("audit_events_stored_total").increment(stored);
        Ok(DeliverResponse {
            applied: u32::try_from(stored).unwrap_or(u32::MAX),
        })
    }

    pub async fn list(
        &self,
        request: ListAuditEventsRequest,
    ) -> Result<ListAuditEventsResponse, ServiceError> {
        let query = query(&request.workspace_id, request.filter.as_ref())?;
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size if (1..=MAX_PAGE_SIZE).contains(&size) => size,
            _ => {
                return Err(ServiceError::invalid(
                    "page_size",
                    format!("must be between 0 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        if !request.page_token.is_empty() && uuid::Uuid::parse_str(&request.page_token).is_err() {
            return Err(ServiceError::invalid(
                "page_token",
                "is not a token from a previous page",
            ));
        }
        let limit = usize::try_from(page_size).unwrap_or(usize::MAX);
        let mut records = self
            .store
            .page(
                &query,
                Order::NewestFirst,
                &request.page_token,
                i64::from(page_size) + 1,
            )
            .await?;
        let more = records.len() > limit;
        records.truncate(limit);
        let next_page_token = match (more, records.last()) {
            (true, Some(last)) => last.id.clone(),
            _ => String::new(),
        };
        Ok(ListAuditEventsResponse {
            events: records.iter().map(AuditRecord::to_proto).collect(),
            next_page_token,
        })
    }

    /// Validates an export request and returns its query and format.
    pub fn export_plan(
        &self,
        workspace_id: &str,
        filter: Option<&AuditFilter>,
        format: ExportFormat,
    ) -> Result<(Query, ExportFormat), ServiceError> {
        let query = query(workspace_id, filter)?;
        match format {
            ExportFormat::Ndjson | ExportFormat::Csv => Ok((query, format)),
            ExportFormat::Unspecified => Err(ServiceError::invalid(
                "format",
                "choose EXPORT_FORMAT_NDJSON or EXPORT_FORMAT_CSV",
            )),
        }
    }

    /// Reads the next export batch after `after`, oldest first, rendered as
    /// text. Returns the text, the last id and whether more may follow.
    pub async fn export_batch(
        &self,
        query: &Query,
        format: ExportFormat,
        after: &str,
        first: bool,
    ) -> Result<(String, String, bool), ServiceError> {
        let records = self
            .store
            .page(query, Order::OldestFirst, after, EXPORT_BATCH)
            .await?;
        let mut text = String::new();
        if first && format == ExportFormat::Csv {
            text.push_str(export::CSV_HEADER);
        }
        for record in &records {
            match format {
                ExportFormat::Csv => text.push_str(&export::csv_line(record)),
                _ => text.push_str(&export::ndjson_line(record)),
            }
        }
        let last = records
            .last()
            .map(|record| record.id.clone())
            .unwrap_or_default();
        let more = i64::try_from(records.len()).unwrap_or(0) == EXPORT_BATCH;
        Ok((text, last, more))
    }

    /// Stores the gateway's per-minute counts of rejected requests, once per
    /// report id.
    pub async fn record_rejected(
        &self,
        request: RecordRejectedRequestsRequest,
    ) -> Result<RecordRejectedRequestsResponse, ServiceError> {
        if request.report_id.is_empty() {
            return Err(ServiceError::invalid("report_id", "is required"));
        }
        if request.counts.len() > MAX_REPORT_COUNTS {
            return Err(ServiceError::invalid(
                "counts",
                format!("at most {MAX_REPORT_COUNTS} counts per report"),
            ));
        }
        let now = now_micros();
        let mut records = Vec::with_capacity(request.counts.len());
        for count in &request.counts {
            if count.workspace_id.is_empty() || count.reason.is_empty() || count.count <= 0 {
                return Err(ServiceError::invalid(
                    "counts",
                    "each count needs a workspace_id, a reason and a positive count",
                ));
            }
            let minute = count.minute.as_ref().map_or(now, micros);
            records.push(AuditRecord {
                id: uuid::Uuid::now_v7().to_string(),
                workspace_id: count.workspace_id.clone(),
                time: minute,
                actor_type: "system".to_owned(),
                actor_id: String::new(),
                identity_provider: String::new(),
                action: "scim.requests_rejected".to_owned(),
                target_type: "workspace".to_owned(),
                target_id: count.workspace_id.clone(),
                target_name: String::new(),
                changes: Vec::new(),
                details: json!({"reason": count.reason, "count": count.count}),
                request_id: String::new(),
                trace_id: String::new(),
                outcome: "rejected".to_owned(),
            });
        }
        self.store
            .insert_report(&request.report_id, now, &records)
            .await?;
        Ok(RecordRejectedRequestsResponse {})
    }

    /// Deletes events older than the retention age, in batches, until
    /// `cancel` fires; runs once an hour.
    pub async fn run_retention(self, cancel: CancellationToken) {
        loop {
            let cutoff =
                now_micros() - i64::try_from(self.retention.as_micros()).unwrap_or(i64::MAX);
            loop {
                match self.store.delete_older_than(cutoff).await {
                    Ok(0) => break,
                    Ok(deleted) => {
                        metrics::counter!("audit_events_expired_total").increment(deleted);
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "audit retention failed; retrying next run");
                        break;
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(RETENTION_INTERVAL) => {}
            }
        }
    }
}

/// Validates a filter and builds the store query.
fn query(workspace_id: &str, filter: Option<&AuditFilter>) -> Result<Query, ServiceError> {
    if workspace_id.is_empty() {
        return Err(ServiceError::invalid("workspace_id", "is required"));
    }
    let filter = filter.cloned().unwrap_or_default();
    let since = filter.since.as_ref().map(micros);
    let until = filter.until.as_ref().map(micros);
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(ServiceError::invalid(
            "filter.since",
            "must not be after until",
        ));
    }
    Ok(Query {
        workspace_id: workspace_id.to_owned(),
        since,
        until,
        action: filter.action,
        actor_id: filter.actor_id,
        target_id: filter.target_id,
    })
}
