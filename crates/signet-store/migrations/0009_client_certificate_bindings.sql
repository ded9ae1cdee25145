-- A certificate bound to a user as their second factor is unique per user, no longer across
-- the installation. A binding needs no proof of possession (it grants nothing without the
-- private key at login), so one live mapping per certificate let any tenant block a
-- certificate's holder by binding it to a user of its own first. An API client's
-- registration (`user_id` NULL, registered with proof of possession) stays unique across
-- tenants: it says which tenant a request is.
DROP INDEX client_certificates_fingerprint;
CREATE UNIQUE INDEX client_certificates_client ON client_certificates (fingerprint)
    WHERE revoked_at IS NULL AND user_id IS NULL;
CREATE UNIQUE INDEX client_certificates_binding ON client_certificates (user_id, fingerprint)
    WHERE revoked_at IS NULL AND user_id IS NOT NULL;
