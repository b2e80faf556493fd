-- Push delivery of security events (the audit log is the outbox): one row
-- per webhook endpoint, with the last audit position delivered there. An
-- instance delivers to an endpoint only while it holds the row's lease, so
-- two instances do not race the same endpoint; a lease that lapses (the
-- instance died) passes to another. Failures back off until
-- next_attempt_at; order is kept: nothing after a failed event is sent.
CREATE TABLE event_deliveries (
    endpoint        TEXT PRIMARY KEY,
    delivered_seq   BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_attempt_at BIGINT,
    last_error      TEXT
);
