-- Every public key ever enrolled, kept after the key is removed, so a past
-- approval's evidence stays checkable (`keyward approval verify`). Filled by
-- a trigger on `credentials` (every way a key is added), never changed.
CREATE TABLE key_history (
    key_id             BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL,
    credential_id      BLOB NOT NULL,
    key_json           TEXT NOT NULL,
    aaguid             BLOB,
    attestation_format TEXT NOT NULL,
    enrolled_at        BIGINT NOT NULL
);
INSERT INTO key_history (key_id, user_id, credential_id, key_json, aaguid, attestation_format, enrolled_at)
    SELECT id, user_id, credential_id, key_json, aaguid, attestation_format, created_at FROM credentials;
CREATE TRIGGER credentials_into_key_history AFTER INSERT ON credentials
BEGIN
    INSERT INTO key_history (key_id, user_id, credential_id, key_json, aaguid, attestation_format, enrolled_at)
    VALUES (NEW.id, NEW.user_id, NEW.credential_id, NEW.key_json, NEW.aaguid, NEW.attestation_format, NEW.created_at);
END;
CREATE TRIGGER key_history_no_update BEFORE UPDATE ON key_history
BEGIN
    SELECT RAISE(ABORT, 'key_history is append-only');
END;
CREATE TRIGGER key_history_no_delete BEFORE DELETE ON key_history
BEGIN
    SELECT RAISE(ABORT, 'key_history is append-only');
END;
