//! Keyward's HTTP suite: every flow end to end over a real socket with a
//! software security key, on SQLite always and on PostgreSQL when
//! `KEYWARD_TEST_DATABASE_URL` is set. One binary, so the suite links once.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::field_reassign_with_default
)]

mod helpers;

mod accounts;
mod api_key_rules;
mod api_key_verify;
mod api_keys;
mod attestation;
mod audit;
mod audit_checkpoints;
mod cli;
mod client_events;
mod concurrency;
mod conformance;
mod crash;
mod daily_limit;
mod documentation;
mod errors;
mod events;
mod evidence;
mod key_chain;
mod key_custody;
mod keys;
mod metadata;
mod observability;
mod openapi;
mod operators;
mod passkeys;
mod races;
mod recovery;
mod risk;
mod security_lock;
mod service_powers;
mod sessions;
mod stepup_policy;
mod stepup_redemption;
mod stepups;
mod throttling;
mod token_custody;
mod two_instances;
mod webauthn_checks;
mod withdrawal_rules;
