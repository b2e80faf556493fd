-- Each user's key chain (keyward-proof's `chain`): the first key, then every
-- key added or removed, each entry hashing the one before and each change
-- endorsed by a key already in the chain. `position` counts every entry the
-- user ever had; `seq` restarts at 0 when a chain starts again. `entry` is
-- the entry's JSON as served; nothing here is trusted by an exchange, which
-- re-verifies the chain from the pin it keeps. Append-only.
CREATE TABLE key_chain (
    user_id    BLOB NOT NULL,
    position   BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    entry      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE TRIGGER key_chain_no_update BEFORE UPDATE ON key_chain
BEGIN
    SELECT RAISE(ABORT, 'key_chain is append-only');
END;
CREATE TRIGGER key_chain_no_delete BEFORE DELETE ON key_chain
BEGIN
    SELECT RAISE(ABORT, 'key_chain is append-only');
END;
-- The chain head when a step-up was approved: its evidence carries the
-- chain up to it.
ALTER TABLE step_ups ADD COLUMN chain_head TEXT;
