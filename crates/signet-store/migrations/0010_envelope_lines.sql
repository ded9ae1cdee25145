-- The envelope that added a line's latest versions (its fields, then each signature), named
-- in the statement that moves the head. While that envelope is in progress the document
-- changes only through it: no version from the versions API or the signing agent (a version
-- from outside made the envelope's next step fail), no second envelope. Once the envelope
-- ends (completed, declined, voided, expired) the name holds nothing, so it is never
-- cleared: whether it holds is the envelope's status. An envelope in progress when this
-- column was added names its line at its next version.
ALTER TABLE document_heads ADD COLUMN envelope_id TEXT;
