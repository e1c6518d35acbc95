-- SCIM lifecycle of a workspace for SQLite: the entitlement, the identity
-- provider choice, an unfinished reset, and users created outside SCIM.

-- Whether the workspace's plan includes SCIM. Existing workspaces with SCIM
-- on had it implicitly, so they keep it.
ALTER TABLE workspaces ADD COLUMN scim_entitled INTEGER NOT NULL DEFAULT 0 CHECK (scim_entitled IN (0, 1));
UPDATE workspaces SET scim_entitled = 1 WHERE scim_enabled = 1;

-- 'entra' or 'okta' once an admin has set SCIM up; NULL before and after a
-- reset.
ALTER TABLE workspaces ADD COLUMN identity_provider TEXT CHECK (identity_provider IN ('entra', 'okta'));

-- Steps of an unfinished reset as a JSON array of names, such as
-- '["groups"]'; NULL when no reset is in progress. While it is set, SCIM
-- cannot be enabled and no token can be issued, so a retried reset never
-- removes state that was created after it began.
ALTER TABLE workspaces ADD COLUMN scim_reset_pending TEXT CHECK (scim_reset_pending IS NULL OR json_valid(scim_reset_pending));

-- Optimistic concurrency of the switches above: every change is
-- conditional on the version it read, so a concurrent SSO change and an
-- enable cannot both win and leave SCIM on without SSO.
ALTER TABLE workspaces ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);

-- False for a user an admin created outside SCIM, until the identity
-- provider first writes it. Every user created before this column existed
-- came through SCIM.
ALTER TABLE users ADD COLUMN scim_managed INTEGER NOT NULL DEFAULT 1 CHECK (scim_managed IN (0, 1));
