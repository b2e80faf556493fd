-- Keyward schema, SQLite flavour. Times are UTC instants in milliseconds
-- since the Unix epoch (BIGINT), so comparisons are numeric on both backends.
-- Keep this file in step with migrations/postgres/0001_accounts.sql.

-- Accounts. `password_hash` is an argon2id PHC string, never the password.
-- `keys_version` is bumped by every change to the user's keys so concurrent
-- changes serialise on this row (e.g. two removals cannot delete the last key).
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    keys_version  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

-- Enrolled security keys. `credential_id` is unique across ALL users
-- (WebAuthn §7.1 step 22). `key_json` is webauthn-rs's SecurityKey (public
-- key, counter, policy). `sign_count` mirrors its counter and is updated with a
-- compare-and-set so a replayed or cloned key's counter cannot go backwards.
CREATE TABLE credentials (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id      BLOB NOT NULL,
    label              TEXT NOT NULL,
    aaguid             BLOB,
    attestation_format TEXT NOT NULL,
    key_json           TEXT NOT NULL,
    sign_count         BIGINT NOT NULL,
    possibly_cloned    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT,
    CONSTRAINT credentials_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX credentials_user_idx ON credentials (user_id);

-- In-flight WebAuthn ceremonies (webauthn-rs state, serialised). A row is
-- bound to one user and one purpose and is deleted atomically (DELETE ...
-- RETURNING) when used, so a challenge can be answered at most once.
CREATE TABLE ceremonies (
    id         BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ceremonies_expiry_idx ON ceremonies (expires_at);

-- Signed-in sessions ("logins"). The cookie session (tower-sessions) names a
-- login; a login can be ended server-side (logout, "end this session", key
-- removal) and has an absolute expiry, checked on every request.
CREATE TABLE logins (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    end_reason   TEXT,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX logins_user_idx ON logins (user_id);

-- Failure counters for throttling, shared by all instances. `scope_key` is
-- `acct:<username>` or `ip:<address>`.
CREATE TABLE throttle (
    scope_key       TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL
);

-- Tamper-evident audit log: each row's `hash` covers its content and the
-- previous row's hash. `audit_head` holds the chain's tip; appending updates it
-- first, which serialises appends across instances.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    user_id   BLOB,
    event     TEXT NOT NULL,
    detail    TEXT NOT NULL,
    ip        TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, seq);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
-- The genesis hash: 64 zeros.
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
