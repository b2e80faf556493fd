-- FIDO metadata (MDS3). One row: the BLOB in use, by serial; a BLOB is
-- imported only if its serial is greater (an older one cannot be replayed).
CREATE TABLE metadata_blob (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    no           BIGINT NOT NULL,
    next_update  TEXT NOT NULL,
    imported_at  BIGINT NOT NULL
);

-- What the BLOB in use says about each FIDO2 model, by AAGUID. Replaced
-- whole on each import.
CREATE TABLE metadata_models (
    aaguid        UUID PRIMARY KEY,
    description   TEXT NOT NULL,
    status        TEXT,
    certification TEXT,
    model_json    TEXT NOT NULL
);

-- A key whose model metadata marks as compromised approves nothing: the
-- status that suspended it, and when. Cleared if a later BLOB clears it.
ALTER TABLE credentials ADD COLUMN suspended_reason TEXT;
ALTER TABLE credentials ADD COLUMN suspended_at BIGINT;
