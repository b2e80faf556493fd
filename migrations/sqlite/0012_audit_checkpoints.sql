-- Signed checkpoints of the audit chain head: {seq, hash, at} signed (JWS,
-- EdDSA) with the approval-signing key, which is kept outside the database.
-- Exported (`keyward audit checkpoints`) and kept elsewhere, they let
-- `keyward audit verify --checkpoints FILE` detect a rewritten and re-hashed
-- entry, a truncation or a deleted tail, which the hash chain alone cannot
-- show to someone who can also rewrite the head.
CREATE TABLE audit_checkpoints (
    seq    BIGINT PRIMARY KEY,
    hash   TEXT NOT NULL,
    at     BIGINT NOT NULL,
    token  TEXT NOT NULL
);
