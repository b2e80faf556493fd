//! Keyward's HTTP suite: every flow end to end over a real socket with a
//! software security key, on SQLite always and on PostgreSQL when
//! `KEYWARD_TEST_DATABASE_URL` is set. One binary, so the suite links once.

mod helpers;

mod accounts;
mod attestation;
mod audit;
mod errors;
mod keys;
mod sessions;
mod throttling;
mod webauthn_checks;
