-- Each user's key chain (keyward-proof's `chain`): the first key, then every
-- key added or removed, each entry hashing the one before and each change
-- endorsed by a key already in the chain. `position` counts every entry the
-- user ever had; `seq` restarts at 0 when a chain starts again. `entry` is
-- the entry's JSON as served; nothing here is trusted by an exchange, which
-- re-verifies the chain from the pin it keeps. Append-only.
CREATE TABLE key_chain (
    user_id    UUID NOT NULL,
    position   BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    entry      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE FUNCTION key_chain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'key_chain is append-only';
END
$$;
CREATE TRIGGER key_chain_append_only BEFORE UPDATE OR DELETE ON key_chain
    FOR EACH ROW EXECUTE FUNCTION key_chain_append_only();
-- The chain head when a step-up was approved: its evidence carries the
-- chain up to it.
ALTER TABLE step_ups ADD COLUMN chain_head TEXT;
