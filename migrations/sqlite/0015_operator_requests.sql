-- Operator actions that loosen protection (lifting the global withdrawal
-- freeze, unlocking an account, an operator-assisted recovery) wait here
-- until a second operator (another admin service key, by another name)
-- approves them within the window, or they expire. subject is the account
-- (NULL for the global freeze); subject_key is the same as text ('' for
-- none), so that the unique index covers the global freeze too (NULLs never
-- collide): at most one pending request per action and subject.
CREATE TABLE operator_requests (
    id                BLOB PRIMARY KEY,
    action            TEXT NOT NULL,
    subject           BLOB REFERENCES users(id) ON DELETE CASCADE,
    subject_key       TEXT NOT NULL,
    reason            TEXT NOT NULL,
    requested_by      BLOB NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at      BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    status            TEXT NOT NULL,
    decided_by        BLOB,
    decided_by_name   TEXT,
    decided_at        BIGINT
);
CREATE UNIQUE INDEX operator_requests_pending_key
    ON operator_requests (action, subject_key) WHERE status = 'pending';
