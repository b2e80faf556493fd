-- A service's idempotency key (`client_reference`) is unique per user, not
-- per service: two users' "payout-1" are two withdrawals.
ALTER TABLE step_ups DROP CONSTRAINT step_ups_client_reference_key;
ALTER TABLE step_ups ADD CONSTRAINT step_ups_client_reference_key
    UNIQUE (service_key_id, user_id, client_reference);
