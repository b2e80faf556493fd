-- User API keys (for trading bots) and the user's anti-phishing phrase.
-- PostgreSQL flavour; keep in step with migrations/sqlite/0003_api_keys.sql.

-- Shown on Keyward's confirmation page so a user can tell it from a copy.
ALTER TABLE users ADD COLUMN anti_phishing_phrase TEXT;

-- Only the SHA-256 of a key is stored. `ip_allowlist` is a JSON array of
-- addresses / CIDR ranges (empty = any address, which only non-withdraw keys
-- may have, and those expire). `step_up_id` is the key-approved request that
-- created it: the approval is redeemed by the creation, once.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    token_hash   BYTEA NOT NULL,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    ip_allowlist TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    step_up_id   UUID NOT NULL,
    CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_keys_step_up_id_key UNIQUE (step_up_id)
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Bumped by every revocation; each instance polls it and drops its verify
-- cache when it changes, so a revocation is in force everywhere within the
-- poll interval.
CREATE TABLE api_key_epoch (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO api_key_epoch (id, epoch) VALUES (1, 0);
