-- Operator lock (`keyward user lock`): refuses sign-in and approvals until
-- the operator unlocks. Separate from throttling, whose locks expire.
ALTER TABLE users ADD COLUMN locked_at BIGINT;

-- Secrets every instance shares, created by the first instance to start:
-- `device_mac`, the MAC key of device cookies.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
