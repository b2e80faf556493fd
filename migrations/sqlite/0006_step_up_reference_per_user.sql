-- A service's idempotency key (`client_reference`) is unique per user, not
-- per service: two users' "payout-1" are two withdrawals. SQLite cannot
-- change a table constraint in place, so the table is rebuilt (nothing
-- references step_ups).
CREATE TABLE step_ups_new (
    id                  BLOB PRIMARY KEY,
    user_id             BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    service_key_id      BLOB,
    action              TEXT NOT NULL,
    details             TEXT NOT NULL,
    digest              TEXT NOT NULL,
    nonce               BLOB NOT NULL,
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
    credential_key_id   BLOB,
    user_verified       BOOLEAN,
    evidence            TEXT,
    token_jti           BLOB,
    redeemed_at         BIGINT,
    redeemed_by         BLOB,
    CONSTRAINT step_ups_client_reference_key UNIQUE (service_key_id, user_id, client_reference)
);
INSERT INTO step_ups_new SELECT * FROM step_ups;
DROP TABLE step_ups;
ALTER TABLE step_ups_new RENAME TO step_ups;
CREATE INDEX step_ups_user_redeemed_idx ON step_ups (user_id, action, redeemed_at);
