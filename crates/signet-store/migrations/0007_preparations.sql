-- Deferred signing with a party's own key (same conventions as 0001: TEXT and BIGINT only,
-- times in Unix milliseconds, JSON as text).
--
-- A preparation is a signature made ready for one envelope party: the incremental update
-- with the signature field filled in and an empty /Contents (its bytes in the blob store under
-- `blob_key`), the digest of its byte range, and the CAdES signed attributes the party's key
-- signs. It is used once (`used_at`), or expires at `expires_at`; rows are kept a day past
-- their expiry so that a late upload is told it expired, then purged.
CREATE TABLE signature_preparations (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    envelope_id        TEXT NOT NULL REFERENCES envelopes (id),
    party_id           TEXT NOT NULL,
    field_id           TEXT NOT NULL,
    -- the envelope's version it was made from: an upload after another version is refused
    document_id        TEXT NOT NULL,
    digest_algorithm   TEXT NOT NULL,
    -- hex
    document_digest    TEXT NOT NULL,
    -- base64 of the DER SET OF Attribute that is signed (RFC 5652 §5.4)
    signed_attributes  TEXT NOT NULL,
    -- the four /ByteRange numbers, space separated
    byte_range         TEXT NOT NULL,
    original_len       BIGINT NOT NULL,
    blob_key           TEXT NOT NULL,
    -- JSON: the field values filled in with the signature, the certification
    detail             TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    used_at            BIGINT,
    -- the version the signature made
    result_document_id TEXT
);
CREATE INDEX signature_preparations_party ON signature_preparations (envelope_id, party_id, id);
CREATE INDEX signature_preparations_expiry ON signature_preparations (expires_at);
