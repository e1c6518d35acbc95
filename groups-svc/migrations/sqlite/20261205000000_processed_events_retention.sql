-- Processed event ids are deleted once older than the retention, oldest
-- first, so the table stays bounded.
CREATE INDEX processed_events_by_time ON processed_events (processed_at);
