-- Contract envelopes (same conventions as 0001: TEXT and BIGINT only, times in Unix
-- milliseconds, JSON as text).

-- One envelope: a document and the parties who act on it. The envelope is one aggregate:
-- `body` is its whole state as JSON, changed only from the `revision` the writer read
-- (compare-and-swap), so two parties signing at once never lose each other's step. The other
-- columns are what lists, searches and the scheduler read without parsing `body`.
CREATE TABLE envelopes (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    title      TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    -- lowercased title, party names and e-mail addresses, for `q`
    search     TEXT NOT NULL,
    -- a list line: parties' names, roles and states, expiry
    summary    TEXT NOT NULL,
    body       TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    -- when the scheduler next has something to do (expiry, a reminder); NULL: nothing
    due_at     BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- identifiers sort by creation time: newest first is `id DESC`
CREATE INDEX envelopes_tenant ON envelopes (tenant_id, id);
CREATE INDEX envelopes_tenant_status ON envelopes (tenant_id, status, id);
CREATE INDEX envelopes_due ON envelopes (due_at);

-- The status history, oldest first by id.
CREATE TABLE envelope_events (
    id          TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    party_id    TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX envelope_events_envelope ON envelope_events (envelope_id, id);

-- Invitation links: the SHA-256 of the token in the e-mailed link.
CREATE TABLE envelope_links (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    envelope_id TEXT NOT NULL REFERENCES envelopes (id),
    party_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX envelope_links_party ON envelope_links (envelope_id, party_id);

-- A signer's session, opened from a link: the SHA-256 of the cookie value. `stage` is
-- `code` (an e-mailed one-time code awaited: its SHA-256, expiry and wrong tries), `login`
-- (an internal user must log in), or `ready`.
CREATE TABLE signer_sessions (
    id_hash         TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    envelope_id     TEXT NOT NULL REFERENCES envelopes (id),
    party_id        TEXT NOT NULL,
    stage           TEXT NOT NULL,
    csrf            TEXT NOT NULL,
    code_hash       TEXT,
    code_expires_at BIGINT,
    code_sent_at    BIGINT,
    code_failures   BIGINT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX signer_sessions_expiry ON signer_sessions (expires_at);

-- A tenant's documents, newest line first (the console's document list).
CREATE INDEX document_heads_tenant ON document_heads (tenant_id, root_id);
