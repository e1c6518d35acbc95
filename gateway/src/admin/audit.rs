//! Handlers of the workspace's audit trail, served by audit-svc: a page of
//! events, newest first, and a streamed NDJSON or CSV export of every
//! event that matches the same filters.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt, stream};
use proto::audit::v1::{
    AuditEvent, AuditFilter, ExportAuditEventsRequest, ExportFormat, ListAuditEventsRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{AdminState, error::AdminError, non_empty, page_size, query_rejected, views};

/// Query of `GET .../audit/events`. Every parameter is optional. They are
/// read as text and checked by [`EventsQuery::request`], so that an invalid
/// one is reported by name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    since: Option<String>,
    until: Option<String>,
    page_size: Option<String>,
    page_token: Option<String>,
}

/// Query of `GET .../audit/export`: the filters of the list and the
/// required `format`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    since: Option<String>,
    until: Option<String>,
    format: Option<String>,
}

/// Filters shared by the list and the export.
struct Filters<'a> {
    /// Exact action, such as `user.deactivated`.
    action: Option<&'a str>,
    /// Exact actor id: a SCIM token id or an admin's subject.
    actor: Option<&'a str>,
    /// Exact target id, such as a user id.
    target: Option<&'a str>,
    /// Inclusive lower bound on `time`, RFC 3339.
    since: Option<&'a str>,
    /// Exclusive upper bound on `time`, RFC 3339.
    until: Option<&'a str>,
}

/// One audit event: the fields of `audit.v1.AuditEvent`, with `time` as
/// RFC 3339 and `details` as a JSON object, as in a line of the NDJSON
/// export.
#[derive(Debug, Serialize)]
pub struct EventView {
    id: String,
    workspace_id: String,
    time: Option<String>,
    /// `scim_token`, `admin` or `system`.
    actor_type: String,
    actor_id: String,
    identity_provider: String,
    action: String,
    target_type: String,
    target_id: String,
    target_name: String,
    changes: Vec<ChangeView>,
    details: Value,
    request_id: String,
    trace_id: String,
    /// `success`, or `rejected` for counts of rejected SCIM requests.
    outcome: String,
}

/// One changed attribute. `before` and `after` are JSON text, empty when
/// the attribute was absent or is secret.
#[derive(Debug, Serialize)]
pub struct ChangeView {
    attribute: String,
    before: String,
    after: String,
}

/// A page of events, newest first.
#[derive(Debug, Serialize)]
pub struct EventList {
    events: Vec<EventView>,
    /// `page_token` of the next page, or `null` on the last page.
    next_page_token: Option<String>,
}

/// `GET .../audit/events?action=&actor=&target=&since=&until=&page_size=&page_token=`.
pub async fn list(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventList>, AdminError> {
    let Query(query) = query.map_err(|rejection| {
        query_rejected(
            &rejection,
            "action, actor, target, since, until, page_size and page_token",
        )
    })?;
    let request = query.request(workspace_id)?;
    let response = state
        .audit()
        .list_audit_events(request)
        .await
        .map_err(|status| AdminError::from_audit_status(&status))?
        .into_inner();
    Ok(Json(EventList {
        events: response.events.into_iter().map(EventView::from).collect(),
        next_page_token: non_empty(response.next_page_token),
    }))
}

/// `GET .../audit/export?format=ndjson|csv` with the filters of the list:
/// every matching event, oldest first, streamed from audit-svc as it
/// arrives. An error before the first chunk is an ordinary error response.
/// A later error ends the body early, which the client sees as a
/// truncated transfer.
pub async fn export(
    State(state): State<AdminState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let Query(query) = query.map_err(|rejection| {
        query_rejected(&rejection, "format, action, actor, target, since and until")
    })?;
    let (format, content_type, extension) = export_format(query.format.as_deref())?;
    let request = ExportAuditEventsRequest {
        workspace_id: workspace_id.clone(),
        filter: Some(query.filters().to_proto()?),
        format: format.into(),
    };
    let mut chunks = state
        .audit()
        .export_audit_events(request)
        .await
        .map_err(|status| AdminError::from_audit_status(&status))?
        .into_inner();

    // The status line is sent with the first chunk, so a failure to read
    // it is still reported as an error response.
    let first = chunks
        .message()
        .await
        .map_err(|status| AdminError::from_audit_status(&status))?;
    tracing::info!(workspace_id = %workspace_id, format = extension, "audit export started");
    let rest = chunks.map(move |chunk| match chunk {
        Ok(chunk) => Ok(Bytes::from(chunk.text)),
        Err(status) => {
            tracing::warn!(
                workspace_id = %workspace_id,
                code = ?status.code(),
                message = status.message(),
                "audit export ended early"
            );
            Err(status)
        }
    });
    let body = stream::iter(first.map(|chunk| Ok(Bytes::from(chunk.text)))).chain(rest);

    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"audit-events.{extension}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

impl EventsQuery {
    /// Checks the parameters and builds the audit-svc request.
    fn request(self, workspace_id: String) -> Result<ListAuditEventsRequest, AdminError> {
        let filter = Filters {
            action: self.action.as_deref(),
            actor: self.actor.as_deref(),
            target: self.target.as_deref(),
            since: self.since.as_deref(),
            until: self.until.as_deref(),
        }
        .to_proto()?;
        let page_size = page_size(self.page_size.as_deref())?;
        let page_token = self.page_token.unwrap_or_default();
        // audit-svc's page tokens are event ids, which are UUIDs. It reads
        // any other text as a position too, so the gateway rejects it here
        // instead of returning a wrong page.
        if !page_token.is_empty() && uuid::Uuid::parse_str(&page_token).is_err() {
            return Err(AdminError::invalid(
                "page_token",
                "Invalid page_token: pass the next_page_token of the previous page unchanged.",
            ));
        }
        Ok(ListAuditEventsRequest {
            workspace_id,
            filter: Some(filter),
            page_size,
            page_token,
        })
    }
}

impl ExportQuery {
    fn filters(&self) -> Filters<'_> {
        Filters {
            action: self.action.as_deref(),
            actor: self.actor.as_deref(),
            target: self.target.as_deref(),
            since: self.since.as_deref(),
            until: self.until.as_deref(),
        }
    }
}

impl Filters<'_> {
    /// Builds the audit-svc filter. Times must be RFC 3339 and `since` must
    /// not be after `until`.
    fn to_proto(&self) -> Result<AuditFilter, AdminError> {
        let since = self
            .since
            .map(|text| parse_time("since", text))
            .transpose()?;
        let until = self
            .until
            .map(|text| parse_time("until", text))
            .transpose()?;
        if let (Some(since), Some(until)) = (&since, &until)
            && since > until
        {
            return Err(AdminError::invalid(
                "since",
                "Invalid since: it is after until. Swap the two times.",
            ));
        }
        Ok(AuditFilter {
            since: since.map(timestamp),
            until: until.map(timestamp),
            action: self.action.unwrap_or_default().to_owned(),
            actor_id: self.actor.unwrap_or_default().to_owned(),
            target_id: self.target.unwrap_or_default().to_owned(),
        })
    }
}

impl From<AuditEvent> for EventView {
    fn from(event: AuditEvent) -> Self {
        let details = if event.details_json.is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(&event.details_json).unwrap_or_else(|error| {
                tracing::warn!(event_id = %event.id, error = %error, "audit event details are not JSON; returning an empty object");
                Value::Object(serde_json::Map::new())
            })
        };
        Self {
            time: views::rfc3339(event.time.as_ref()),
            changes: event
                .changes
                .into_iter()
                .map(|change| ChangeView {
                    attribute: change.attribute,
                    before: change.before,
                    after: change.after,
                })
                .collect(),
            details,
            id: event.id,
            workspace_id: event.workspace_id,
            actor_type: event.actor_type,
            actor_id: event.actor_id,
            identity_provider: event.identity_provider,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            target_name: event.target_name,
            request_id: event.request_id,
            trace_id: event.trace_id,
            outcome: event.outcome,
        }
    }
}

/// Returns the audit-svc format, the content type and the file name
/// extension of an export's `format` parameter.
fn export_format(
    format: Option<&str>,
) -> Result<(ExportFormat, &'static str, &'static str), AdminError> {
    match format {
        Some("ndjson") => Ok((ExportFormat::Ndjson, "application/x-ndjson", "ndjson")),
        Some("csv") => Ok((ExportFormat::Csv, "text/csv; charset=utf-8", "csv")),
        Some(other) => Err(AdminError::invalid(
            "format",
            format!("Invalid format {other:?}: use format=ndjson or format=csv."),
        )),
        None => Err(AdminError::invalid(
            "format",
            "format is required: use format=ndjson or format=csv.",
        )),
    }
}

fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, AdminError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        AdminError::invalid(
            field,
            format!("Invalid {field} {text:?}: use an RFC 3339 time such as 2026-01-31T09:00:00Z."),
        )
    })
}

fn timestamp(time: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.unix_timestamp(),
        nanos: i32::try_from(time.nanosecond()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_query(query: &str) -> Result<ListAuditEventsRequest, AdminError> {
        let uri: axum::http::Uri = format!("/audit/events?{query}").parse().unwrap();
        let Query(parsed) = Query::<EventsQuery>::try_from_uri(&uri).unwrap();
        parsed.request("w1".to_owned())
    }

    #[test]
    fn filters_reach_the_request() {
        let request = events_query(
            "action=user.created&actor=tok-1&target=u1&since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00%2B01:00&page_size=10",
        )
        .unwrap();

        let filter = request.filter.unwrap();
        assert_eq!(filter.action, "user.created");
        assert_eq!(filter.actor_id, "tok-1");
        assert_eq!(filter.target_id, "u1");
        assert_eq!(filter.since.unwrap().seconds, 1_767_225_600);
        assert_eq!(filter.until.unwrap().seconds, 1_767_308_400);
        assert_eq!(request.page_size, 10);
    }

    #[test]
    fn invalid_time_names_its_field() {
        let error = events_query("until=yesterday").unwrap_err();

        assert_eq!(error.body().field.as_deref(), Some("until"));
    }

    #[test]
    fn since_after_until_rejected() {
        let error =
            events_query("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z").unwrap_err();

        assert_eq!(error.body().field.as_deref(), Some("since"));
    }

    #[test]
    fn page_size_out_of_range_rejected() {
        for query in ["page_size=0", "page_size=1001", "page_size=ten"] {
            let error = events_query(query).unwrap_err();

            assert_eq!(error.body().field.as_deref(), Some("page_size"), "{query}");
        }
    }

    #[test]
    fn page_token_not_an_event_id_rejected() {
        let error = events_query("page_token=zzz").unwrap_err();

        assert_eq!(error.body().field.as_deref(), Some("page_token"));
    }

    #[test]
    fn export_format_required() {
        let missing = export_format(None).unwrap_err();
        let unknown = export_format(Some("xml")).unwrap_err();

        assert_eq!(missing.body().field.as_deref(), Some("format"));
        assert_eq!(unknown.body().field.as_deref(), Some("format"));
        assert_eq!(export_format(Some("csv")).unwrap().0, ExportFormat::Csv);
    }

    #[test]
    fn details_parsed_as_object() {
        let view = EventView::from(AuditEvent {
            id: "e1".to_owned(),
            details_json: r#"{"added": ["u1"]}"#.to_owned(),
            time: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            ..AuditEvent::default()
        });

        assert_eq!(view.details, serde_json::json!({"added": ["u1"]}));
        assert_eq!(view.time.as_deref(), Some("1970-01-01T00:00:01Z"));
    }
}
