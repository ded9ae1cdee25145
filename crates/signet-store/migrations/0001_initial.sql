-- One schema for SQLite and PostgreSQL: only TEXT and BIGINT columns, text identifiers,
-- times in Unix milliseconds, lists and structured options as JSON text.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    quota_period    TEXT NOT NULL,
    max_calls       BIGINT,
    max_documents   BIGINT,
    rate_per_second BIGINT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants (id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE usage_counters (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    period_start BIGINT NOT NULL,
    calls        BIGINT NOT NULL,
    documents    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, period_start)
);

CREATE TABLE identities (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    key_store   TEXT NOT NULL,
    key_ref     TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    chain       TEXT NOT NULL,
    cert_serial TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE images (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    blob_key   TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    placements TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE documents (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    kind       TEXT NOT NULL,
    name       TEXT,
    blob_key   TEXT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    source_id  TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX documents_tenant ON documents (tenant_id, created_at);

-- One row per signature made (or refused after authorisation): the signing record. The
-- tamper-evident log chains these rows; `seq` orders them per tenant.
CREATE TABLE signatures (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    seq              BIGINT NOT NULL,
    identity_id      TEXT,
    identity_name    TEXT NOT NULL,
    key_id           TEXT,
    digest_algorithm TEXT NOT NULL,
    digest           TEXT NOT NULL,
    level            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    caller           TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    detail           TEXT,
    document_id      TEXT,
    created_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, seq)
);

CREATE TABLE idempotency (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    idem_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    state        TEXT NOT NULL,
    status_code  BIGINT,
    headers      TEXT,
    body         TEXT,
    document_id  TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);

CREATE TABLE batches (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    caller      TEXT NOT NULL,
    options     TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE batch_items (
    batch_id    TEXT NOT NULL REFERENCES batches (id),
    idx         BIGINT NOT NULL,
    name        TEXT NOT NULL,
    input_blob  TEXT NOT NULL,
    state       TEXT NOT NULL,
    document_id TEXT,
    error       TEXT,
    PRIMARY KEY (batch_id, idx)
);
