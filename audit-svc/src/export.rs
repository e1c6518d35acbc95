//! NDJSON and CSV renderings of audit records for exports.

use serde_json::{Value, json};

use crate::record::{AuditRecord, timestamp};

/// Columns of a CSV export, in order, with the line break.
pub const CSV_HEADER: &str = "id,workspace_id,time,actor_type,actor_id,identity_provider,action,target_type,target_id,target_name,changes,details,request_id,trace_id,outcome\n";

/// Returns the record as one JSON object with the fields of
/// `audit.v1.AuditEvent`, `time` in RFC 3339, and a line break.
pub fn ndjson_line(record: &AuditRecord) -> String {
    let mut line = object(record).to_string();
    line.push('\n');
    line
}

/// Returns the record as one CSV line (RFC 4180 quoting) with a line break.
pub fn csv_line(record: &AuditRecord) -> String {
    let changes = changes(record).to_string();
    let details = record.details.to_string();
    let time = rfc3339(record.time);
    let fields = [
        record.id.as_str(),
        record.workspace_id.as_str(),
        time.as_str(),
        record.actor_type.as_str(),
        record.actor_id.as_str(),
        record.identity_provider.as_str(),
        record.action.as_str(),
        record.target_type.as_str(),
        record.target_id.as_str(),
        record.target_name.as_str(),
        changes.as_str(),
        details.as_str(),
        record.request_id.as_str(),
        record.trace_id.as_str(),
        record.outcome.as_str(),
    ];
    let mut line = fields.map(quote).join(",");
    line.push('\n');
    line
}

fn object(record: &AuditRecord) -> Value {
    json!({
        "id": record.id,
        "workspace_id": record.workspace_id,
        "time": rfc3339(record.time),
        "actor_type": record.actor_type,
        "actor_id": record.actor_id,
        "identity_provider": record.identity_provider,
        "action": record.action,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "target_name": record.target_name,
        "changes": changes(record),
        "details": record.details,
        "request_id": record.request_id,
        "trace_id": record.trace_id,
        "outcome": record.outcome,
    })
}

fn changes(record: &AuditRecord) -> Value {
    Value::Array(
        record
            .changes
            .iter()
            .map(|change| {
                json!({"attribute": change.attribute, "before": change.before, "after": change.after})
            })
            .collect(),
    )
}

/// Formats microseconds since the Unix epoch as RFC 3339 with microseconds.
pub fn rfc3339(micros: i64) -> String {
    let stamp = timestamp(micros);
    let nanos = i128::from(stamp.seconds) * 1_000_000_000 + i128::from(stamp.nanos);
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Quotes a CSV field when it contains a comma, quote or line break, and
/// neutralises a leading `=`, `+`, `-` or `@` so spreadsheets do not run it
/// as a formula.
fn quote(field: &str) -> String {
    let guarded = match field.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{field}"),
        _ => field.to_owned(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_field_quoted() {
        assert_eq!(quote("a,b"), "\"a,b\"");
    }

    #[test]
    fn quote_doubled() {
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn formula_neutralised() {
        assert_eq!(quote("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn time_formatted() {
        assert_eq!(rfc3339(1_000_000), "1970-01-01T00:00:01Z");
    }
}
