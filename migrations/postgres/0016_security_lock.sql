-- The user's security lock (domain/security_lock.rs): the days in force,
-- and a shortening that waits for the lock in force to pass (its days,
-- and from when).
ALTER TABLE users ADD COLUMN security_lock_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN security_lock_next_days BIGINT;
ALTER TABLE users ADD COLUMN security_lock_next_at BIGINT;
-- A key removal the lock delays: it can be finished, with a key touch,
-- from removal_from; cancelling clears it.
ALTER TABLE credentials ADD COLUMN removal_from BIGINT;
