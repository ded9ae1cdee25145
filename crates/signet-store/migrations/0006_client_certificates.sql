-- TLS client certificates as credentials (same conventions as 0001: TEXT and BIGINT only,
-- times in Unix milliseconds, scopes space-separated as for API keys).

-- A certificate registered to a tenant (an API client: `user_id` NULL, with scopes, as an API
-- key) or bound to a user as their second factor at login (`user_id` set, no scopes). It is
-- known by the SHA-256 of its DER encoding; subject, issuer, serial number and validity are
-- kept to list it and to refuse it once expired without parsing it again. A revoked mapping
-- stays, with `revoked_at`, so that what it did can still be read in the signing log.
CREATE TABLE client_certificates (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    user_id     TEXT REFERENCES users (id),
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    certificate TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
-- one live mapping per certificate: a certificate names one tenant (and at most one user)
CREATE UNIQUE INDEX client_certificates_fingerprint ON client_certificates (fingerprint)
    WHERE revoked_at IS NULL;
CREATE INDEX client_certificates_tenant ON client_certificates (tenant_id, id);
CREATE INDEX client_certificates_user ON client_certificates (user_id);
