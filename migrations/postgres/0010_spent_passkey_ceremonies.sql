-- Passkey sign-in ceremonies live in a MAC'd handle the browser keeps (the
-- options are asked for before anyone is known, so strangers must not make
-- the database store anything). A handle is spent — its SHA-256 stored here,
-- unique — before the assertion it carries is verified, so it is answered at
-- most once. Rows go once the handle has expired (housekeeping).
CREATE TABLE spent_passkey_ceremonies (
    digest      BYTEA PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX spent_passkey_ceremonies_expiry_idx ON spent_passkey_ceremonies (expires_at);
