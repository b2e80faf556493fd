//! The flows behind the routes: each takes parsed input, does the work in
//! one transaction with its audit entry, and returns a wire or domain
//! result. Routes stay thin; nothing here builds an HTTP response.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod assertion;
pub mod audit;
pub mod checkpoints;
pub mod events;
pub mod key_chain;
pub mod keys;
pub mod metadata;
pub mod operator_requests;
pub mod recovery;
pub mod risk;
pub mod security_lock;
pub mod settings;
pub mod step_ups;
pub mod throttle;
pub mod withdrawal_controls;
