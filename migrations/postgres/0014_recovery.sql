-- Account recovery (a user who lost every key). Recovery codes are stored
-- as SHA-256 hashes (each code carries 100 random bits, so a fast hash is
-- enough), one row per code, spent by setting used_at.
CREATE TABLE recovery_codes (
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
-- Recoveries: started with the password and a code, completed with the
-- token (stored hashed) once completes_at has passed, unless cancelled by
-- one of the account's keys first. At most one pending per user.
CREATE TABLE recoveries (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    status       TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    completes_at BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE UNIQUE INDEX recoveries_user_id_key ON recoveries (user_id) WHERE status = 'pending';
