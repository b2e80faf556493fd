-- Where each approval-signing key's private half is kept:
--   'kek'    sealed in `private_key` under the operator's key-encryption key
--            (AES-256-GCM, kid as associated data);
--   'pkcs11' in a PKCS#11 token (an HSM), labelled with its kid;
--            `private_key` is empty;
--   'clear'  rows written before this migration, in clear: at start-up such
--            a key is retired and its private half wiped.
-- A key that does not open under the KEK (or is not in the token) is never
-- used and never published.
ALTER TABLE signing_keys ADD COLUMN custody TEXT NOT NULL DEFAULT 'clear';
