-- The events feed (GET /api/v1/events): every event of a tenant is stored, webhooks or not,
-- and numbered within its tenant from 1 without gaps. A number is assigned in the
-- transaction that stores the event, after every smaller one has committed (one writer per
-- tenant at a time in a process; this index stops a second process), so a reader that has
-- seen number n never later finds a new event below n. Test pings (one endpoint, not part
-- of the feed) and the events stored before this migration have no number.
ALTER TABLE webhook_events ADD COLUMN seq BIGINT;
CREATE UNIQUE INDEX webhook_events_feed ON webhook_events (tenant_id, seq);
