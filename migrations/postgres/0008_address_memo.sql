-- The memo / destination tag of an allow-list entry, for networks that use
-- one (an exchange's deposit address is shared; the memo says whose
-- deposit it is). NULL: no memo. A withdrawal must carry the entry's memo.
ALTER TABLE withdrawal_addresses ADD COLUMN memo TEXT;
