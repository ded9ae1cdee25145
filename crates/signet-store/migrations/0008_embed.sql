-- Embedded signing views: a signer session made from an embed token (minted by the tenant's
-- document system for one party) names the parent page's origin, the only one allowed to
-- frame the view and to receive its events. NULL: a session from an e-mailed link.
ALTER TABLE signer_sessions ADD COLUMN embed_origin TEXT;
