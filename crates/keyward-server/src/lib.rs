//! Keyward server: the axum application, its persistence, flows and CLI.
//! The FIDO core (`keyward-fido`) and access primitives (`keyward-access`)
//! hold the domain; this crate wires them to HTTP and the database.

pub mod app;
pub mod auth;
pub mod caller;
pub mod cli;
pub mod clock;
pub mod config;
pub mod custody;
pub mod db;
pub mod device;
pub mod domain;
pub mod error;
pub mod extract;
pub mod flows;
#[doc(hidden)]
pub mod fuzzing;
pub mod geo;
pub mod hsm;
pub mod kek;
#[cfg(test)]
mod layering;
pub mod metrics;
pub mod openapi;
pub mod passkey_token;
pub mod passwords;
pub mod routes;
pub mod security_headers;
pub mod signing;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod verifier;

pub use app::App;
pub use clock::Clock;
pub use config::Config;
pub use db::{Db, DbOptions};
