-- Schema of audit-svc for PostgreSQL. The same statements run on both engines
-- through sqlx's Any driver, so timestamps are microseconds since the Unix
-- epoch.

-- The audit trail. Rows are only ever inserted, and deleted by the retention
-- job once older than the configured age; nothing updates them.
CREATE TABLE audit_events (
    -- Id of the events.v1.Event that recorded the change (a UUIDv7), or a
    -- new UUIDv7 for rejected-request counts. Lower-case UUIDv7 text sorts
    -- by time, so newest first is id order.
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    identity_provider TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    -- JSON array of {"attribute", "before", "after"}.
    changes TEXT NOT NULL,
    -- JSON object of further facts.
    details TEXT NOT NULL,
    request_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    outcome TEXT NOT NULL
);

CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, id);
CREATE INDEX audit_events_by_action ON audit_events (workspace_id, action, id);
CREATE INDEX audit_events_by_target ON audit_events (workspace_id, target_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (workspace_id, actor_id, id);
CREATE INDEX audit_events_by_time ON audit_events (time);

-- Ids of rejected-request reports already stored, so a retried report is
-- stored once.
CREATE TABLE rejection_reports (
    report_id TEXT PRIMARY KEY NOT NULL,
    received BIGINT NOT NULL
);
