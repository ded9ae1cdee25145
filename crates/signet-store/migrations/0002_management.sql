-- People, seals and the signing log (same conventions as 0001: TEXT and BIGINT only, times
-- in Unix milliseconds, lists and structured values as JSON text, booleans as 0/1).

-- Per-tenant settings (MFA enforcement, single sign-on) as one JSON document.
ALTER TABLE tenants ADD COLUMN settings TEXT;

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    username         TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    email            TEXT,
    roles            TEXT NOT NULL,
    status           TEXT NOT NULL,
    password_hash    TEXT,
    totp_secret      TEXT,
    totp_enabled     BIGINT NOT NULL,
    totp_last_step   BIGINT,
    recovery_codes   TEXT,
    external_subject TEXT,
    failed_logins    BIGINT NOT NULL,
    locked_until     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, username),
    UNIQUE (tenant_id, external_subject)
);

-- A session is known by the SHA-256 of its cookie's secret.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    stage        TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    via          TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Seals: an image and a signing identity under a name, with a state.
CREATE TABLE seals (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    image_id      TEXT NOT NULL REFERENCES images (id),
    identity_id   TEXT NOT NULL REFERENCES identities (id),
    owner_user_id TEXT REFERENCES users (id),
    spec          TEXT,
    valid_from    BIGINT NOT NULL,
    valid_until   BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    status_reason TEXT,
    UNIQUE (tenant_id, name),
    UNIQUE (identity_id)
);

-- Who may use a seal: a user, a role or an API key, optionally within a time window, a
-- number of uses, and with an approval for each use.
CREATE TABLE seal_grants (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    seal_id           TEXT NOT NULL REFERENCES seals (id),
    grantee_kind      TEXT NOT NULL,
    grantee           TEXT NOT NULL,
    not_before        BIGINT,
    not_after         BIGINT,
    max_uses          BIGINT,
    uses              BIGINT NOT NULL,
    requires_approval BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    revoked_at        BIGINT
);
CREATE INDEX seal_grants_seal ON seal_grants (seal_id);

-- A request to use a seal once, decided by an approver.
CREATE TABLE seal_requests (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    seal_id      TEXT NOT NULL REFERENCES seals (id),
    grant_id     TEXT NOT NULL REFERENCES seal_grants (id),
    requester    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL,
    decided_by   TEXT,
    decision     TEXT,
    created_at   BIGINT NOT NULL,
    decided_at   BIGINT,
    used_at      BIGINT
);
CREATE INDEX seal_requests_tenant ON seal_requests (tenant_id, state);

-- A seal's identity is used through the seal only.
ALTER TABLE identities ADD COLUMN seal_id TEXT;

-- The signing log: every operation, one hash chain per tenant (tenant '' holds the
-- operator's). Each entry's `hash` commits to its fields and to the `prev_hash` of the entry
-- before it; see signet_store::audit for the exact bytes.
CREATE TABLE audit_log (
    tenant_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    action      TEXT NOT NULL,
    target_kind TEXT,
    target      TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);

-- Timestamp tokens over a chain's head: evidence of the log as it stood then.
CREATE TABLE audit_anchors (
    tenant_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- Document versions: each logical document (named by its first version's id) has a line of
-- versions; `document_heads` holds its latest, advanced only from the version a writer saw
-- (compare-and-swap: no lost update when two systems change one document).
CREATE TABLE document_heads (
    root_id    TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    head_id    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE document_versions (
    root_id     TEXT NOT NULL,
    version     BIGINT NOT NULL,
    document_id TEXT NOT NULL UNIQUE REFERENCES documents (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (root_id, version)
);
