-- Step-up approvals, service keys, signing keys and withdrawal policy state.
-- PostgreSQL flavour; keep in step with migrations/sqlite/0002_step_ups.sql.

-- Exchange back-end services. Only the SHA-256 of the bearer token is stored.
-- `scopes` is a space-separated list (stepup:create stepup:approve ...).
CREATE TABLE service_keys (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    CONSTRAINT service_keys_token_hash_key UNIQUE (token_hash)
);

-- Ed25519 keys that sign approval tokens. Shared by all instances; the
-- newest unretired key signs, retired keys stay published until their
-- tokens have expired.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- A request for a key-approved action. `details` is the canonical JSON the
-- user approves and `digest` its SHA-256; the WebAuthn challenge commits to
-- the digest and `nonce`. Status: pending -> approved -> redeemed, or held /
-- denied at creation, or refused at redeem. `evidence` keeps the signed
-- assertion so the approval can be re-verified offline.
CREATE TABLE step_ups (
    id                  UUID PRIMARY KEY,
    user_id             UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    service_key_id      UUID,
    action              TEXT NOT NULL,
    details             TEXT NOT NULL,
    digest              TEXT NOT NULL,
    nonce               BYTEA NOT NULL,
    client_reference    TEXT,
    status              TEXT NOT NULL,
    reason              TEXT,
    held_until          BIGINT,
    asset               TEXT,
    amount_units        TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    approved_at         BIGINT,
    approval_expires_at BIGINT,
    credential_key_id   UUID,
    user_verified       BOOLEAN,
    evidence            TEXT,
    token_jti           UUID,
    redeemed_at         BIGINT,
    redeemed_by         UUID,
    CONSTRAINT step_ups_client_reference_key UNIQUE (service_key_id, client_reference)
);
CREATE INDEX step_ups_user_redeemed_idx ON step_ups (user_id, action, redeemed_at);

-- The operator's emergency switch: while frozen, every withdrawal is denied.
CREATE TABLE withdrawal_controls (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    frozen     BOOLEAN NOT NULL,
    reason     TEXT,
    changed_at BIGINT NOT NULL
);
INSERT INTO withdrawal_controls (id, frozen, reason, changed_at) VALUES (1, FALSE, NULL, 0);

-- Per-user policy state: self-freeze, and the hold after security changes.
ALTER TABLE users ADD COLUMN frozen_at BIGINT;
ALTER TABLE users ADD COLUMN hold_until BIGINT;
ALTER TABLE users ADD COLUMN hold_reason TEXT;

-- Withdrawal address allow-list. An entry is usable from `usable_from`
-- (cooling-off after it was added with a key approval); removal is immediate.
CREATE TABLE withdrawal_addresses (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    network     TEXT NOT NULL,
    address     TEXT NOT NULL,
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    usable_from BIGINT NOT NULL,
    CONSTRAINT withdrawal_addresses_user_network_address_key UNIQUE (user_id, network, address)
);

-- A ceremony may be about one thing (a step-up id); it then serves only that.
ALTER TABLE ceremonies ADD COLUMN subject UUID;
