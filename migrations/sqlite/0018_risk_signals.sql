-- Risk signals (domain/risk.rs). Each login keeps where it came from, so
-- the next sign-in or approval can be compared with the account's history:
-- the browser's device id, its network (/24 or /48) and, with a GeoIP
-- database, its country, autonomous system and approximate location.
ALTER TABLE logins ADD COLUMN device TEXT;
ALTER TABLE logins ADD COLUMN network TEXT;
ALTER TABLE logins ADD COLUMN country TEXT;
ALTER TABLE logins ADD COLUMN asn BIGINT;
ALTER TABLE logins ADD COLUMN latitude REAL;
ALTER TABLE logins ADD COLUMN longitude REAL;
CREATE INDEX logins_user_created_idx ON logins (user_id, created_at);
-- The last security change (a key added or removed, the password changed,
-- a recovery, an unfreeze, a withdraw-scoped API key).
ALTER TABLE users ADD COLUMN security_changed_at BIGINT;
-- The signals that fired for a step-up, with their effects (JSON array of
-- keyward_api::risk::RiskReason); withdrawal velocity counts by creation.
ALTER TABLE step_ups ADD COLUMN risk TEXT;
CREATE INDEX step_ups_user_created_idx ON step_ups (user_id, action, created_at);
