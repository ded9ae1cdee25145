-- Webhooks (same conventions as 0001: TEXT and BIGINT only, times in Unix milliseconds, lists
-- as JSON text, booleans as 0/1).

-- A tenant's endpoint. The secret signs every request (HMAC-SHA256), so it is kept as is;
-- after a rotation the previous one also signs until `previous_secret_until`.
CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    description           TEXT,
    active                BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

-- An event, emitted once: `body` is the exact JSON every delivery of it sends.
CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One event to one endpoint: `pending` until a 2xx answer (`delivered`) or the last attempt
-- (`failed`). A pending delivery is due at `next_attempt_at`; a worker that takes it moves
-- that time past its own timeout (a lease), so no two workers send it at once and one that
-- dies leaves it due again.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id),
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT,
    last_attempt_at  BIGINT,
    last_status_code BIGINT,
    last_error       TEXT,
    delivered_at     BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Every attempt of a delivery: the delivery log.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n           BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
