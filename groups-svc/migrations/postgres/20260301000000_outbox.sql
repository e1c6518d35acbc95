-- Transactional outbox of groups-svc for PostgreSQL.
--
-- Each domain event is inserted in the same transaction as the change it
-- describes, and the relay in plumbing::outbox delivers it to every
-- consumer afterwards. Writers take a transaction-level advisory lock just
-- before the insert, so sequence order is commit order and a consumer's
-- cursor can never pass an event that is not yet visible.

CREATE TABLE outbox (
    -- Delivery order. An identity column never hands out a value twice, so
    -- pruning cannot make a new event reuse a sequence below a cursor.
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- events.v1.Event.id, a UUIDv7; consumers skip ids they applied before.
    id TEXT NOT NULL UNIQUE,
    -- No foreign key: an event must outlive the rows it talks about, such
    -- as a deleted group.
    workspace_id TEXT NOT NULL,
    -- Aggregate key, such as "group" and the group id. Events of one
    -- aggregate are delivered in sequence order.
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    -- Payload case, such as "group_updated", so operators can read the table
    -- without decoding the payload.
    event_type TEXT NOT NULL,
    -- The protobuf encoding of the whole events.v1.Event, sent as stored.
    payload BYTEA NOT NULL,
    -- When the service wrote the event; the lag metric and pruning use it.
    created TIMESTAMPTZ NOT NULL
);

-- Delivery state of each consumer. Delivery is in sequence order and stops
-- at the first failure, so one cursor per consumer describes which events
-- it has: those at or below delivered_sequence.
CREATE TABLE outbox_consumers (
    -- Stable consumer name chosen by the relay's configuration, such as
    -- "rbac-svc".
    consumer TEXT PRIMARY KEY,
    -- Highest sequence the consumer acknowledged; 0 before the first.
    delivered_sequence BIGINT NOT NULL DEFAULT 0 CHECK (delivered_sequence >= 0),
    -- When the cursor last moved.
    delivered_at TIMESTAMPTZ,
    -- Failed attempts of the current batch since the last success; the
    -- relay's backoff grows with it.
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Earliest next attempt while backing off, kept across restarts.
    next_attempt_at TIMESTAMPTZ,
    -- First event of the batch that failed last, and the error, for
    -- operators. Cleared by the next success.
    failed_event_id TEXT,
    last_error TEXT,
    created TIMESTAMPTZ NOT NULL
);
