-- Approval-signing keys are stored sealed under the operator's key-encryption
-- key (AES-256-GCM, kid as associated data). Rows written before this were
-- in clear: at start-up such a key is retired and its private half wiped,
-- and a sealed key signs instead. A key that does not open under the KEK is
-- never used and never published.
ALTER TABLE signing_keys ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
