//! The flows behind the routes: each takes parsed input, does the work in
//! one transaction with its audit entry, and returns a domain result.
//! Handlers stay thin; nothing here knows about HTTP bodies.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod approval;
pub mod assertion;
pub mod key_verify;
pub mod keys;
pub mod names;
pub mod signing;
pub mod stepup;
pub mod throttle;
pub mod withdrawals;
