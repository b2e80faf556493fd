//! Persistence: one module per table family, each function written once in
//! portable SQL and run on SQLite or PostgreSQL via `on_db!` / `on_tx!`.
//! Writes take a `Tx` so a change and its audit entry commit together.

pub mod api_keys;
pub mod audit;
pub mod ceremonies;
pub mod credentials;
pub mod event_deliveries;
pub mod import;
pub mod key_chain;
pub mod logins;
pub mod metadata;
pub mod operator_requests;
pub mod recovery;
pub mod secrets;
pub mod service_keys;
pub mod signing_keys;
pub mod step_ups;
pub mod throttle;
pub mod users;
pub mod withdrawal_controls;
