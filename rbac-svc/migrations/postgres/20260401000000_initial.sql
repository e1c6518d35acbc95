-- Schema of rbac-svc for PostgreSQL. The same statements run on both engines
-- through sqlx's Any driver, so integers are BIGINT/INTEGER (flags are 0 or
-- 1) and timestamps are microseconds since the Unix epoch.

-- Workspaces the service has seen, with their default role.
CREATE TABLE rbac_workspaces (
    workspace_id TEXT PRIMARY KEY NOT NULL,
    -- Role of users in no mapped group; a name from this workspace's roles.
    default_role TEXT NOT NULL,
    created BIGINT NOT NULL
);

-- Role catalogue of each workspace, seeded with the built-in roles.
CREATE TABLE roles (
    workspace_id TEXT NOT NULL REFERENCES rbac_workspaces (workspace_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- A user in groups mapped to several roles gets the highest rank.
    rank BIGINT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name),
    UNIQUE (workspace_id, rank)
);

-- IdP groups, as groups-svc's events describe them.
CREATE TABLE idp_groups (
    workspace_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    PRIMARY KEY (workspace_id, group_id)
);

-- Members of IdP groups, as groups-svc's events describe them. A member
-- may be a user whose own events have not arrived yet.
CREATE TABLE group_members (
    workspace_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (workspace_id, group_id, user_id)
);

CREATE INDEX group_members_by_user ON group_members (workspace_id, user_id);

-- Group to role mappings. A group maps to at most one role; many groups may
-- map to the same role.
CREATE TABLE group_mappings (
    workspace_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    role TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, group_id),
    FOREIGN KEY (workspace_id, role) REFERENCES roles (workspace_id, name)
);

-- Users, as identity-svc's events describe them, with their stored
-- effective role.
CREATE TABLE users (
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    scim_managed BIGINT NOT NULL CHECK (scim_managed IN (0, 1)),
    -- Role an admin set; only for users not managed by SCIM.
    manual_role TEXT,
    -- Effective role, and where it comes from: 'default', 'group' (then
    -- role_group_id is the mapped group) or 'manual'.
    role TEXT NOT NULL,
    role_source TEXT NOT NULL CHECK (role_source IN ('default', 'group', 'manual')),
    role_group_id TEXT,
    -- Bumped by every change of the row; the cache epoch of the user.
    version BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE INDEX users_by_role ON users (workspace_id, role, user_id);
CREATE INDEX users_by_source ON users (workspace_id, role_source, user_id);

-- Ids of applied events, so a redelivered event is skipped.
CREATE TABLE processed_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    processed BIGINT NOT NULL
);

-- Transactional outbox: role changes, mapping and default role changes for
-- the audit trail. The relay in plumbing::outbox delivers them.
CREATE TABLE outbox (
    -- Delivery order; never reused, even after pruning.
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- events.v1.Event.id, a UUIDv7.
    id TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    -- Payload case, such as "effective_role_changed".
    event_type TEXT NOT NULL,
    -- The protobuf encoding of the whole events.v1.Event.
    payload BYTEA NOT NULL,
    created BIGINT NOT NULL
);

-- Delivery state of each consumer of the outbox: one cursor each.
CREATE TABLE outbox_consumers (
    consumer TEXT PRIMARY KEY NOT NULL,
    delivered_sequence BIGINT NOT NULL DEFAULT 0 CHECK (delivered_sequence >= 0),
    delivered_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at BIGINT,
    failed_event_id TEXT,
    last_error TEXT,
    created BIGINT NOT NULL
);
