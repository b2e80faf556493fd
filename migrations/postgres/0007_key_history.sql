-- Every public key ever enrolled, kept after the key is removed, so a past
-- approval's evidence stays checkable (`keyward approval verify`). Filled by
-- a trigger on `credentials` (every way a key is added), never changed.
CREATE TABLE key_history (
    key_id             UUID PRIMARY KEY,
    user_id            UUID NOT NULL,
    credential_id      BYTEA NOT NULL,
    key_json           TEXT NOT NULL,
    aaguid             UUID,
    attestation_format TEXT NOT NULL,
    enrolled_at        BIGINT NOT NULL
);
INSERT INTO key_history (key_id, user_id, credential_id, key_json, aaguid, attestation_format, enrolled_at)
    SELECT id, user_id, credential_id, key_json, aaguid, attestation_format, created_at FROM credentials;
CREATE FUNCTION credentials_into_key_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO key_history (key_id, user_id, credential_id, key_json, aaguid, attestation_format, enrolled_at)
    VALUES (NEW.id, NEW.user_id, NEW.credential_id, NEW.key_json, NEW.aaguid, NEW.attestation_format, NEW.created_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER credentials_into_key_history AFTER INSERT ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_into_key_history();
CREATE FUNCTION key_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'key_history is append-only';
END
$$;
CREATE TRIGGER key_history_append_only BEFORE UPDATE OR DELETE ON key_history
    FOR EACH ROW EXECUTE FUNCTION key_history_append_only();
