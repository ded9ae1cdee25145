-- The envelope that claimed a line of versions when it was sent. While that envelope is in
-- progress the document changes only through it: no version from the versions API or the
-- signing agent (a version from outside made the envelope's next step fail). Once the
-- envelope ends (completed, declined, voided, expired) the claim holds nothing, so it is
-- never cleared: whether it holds is the envelope's status.
ALTER TABLE document_heads ADD COLUMN envelope_id TEXT;
