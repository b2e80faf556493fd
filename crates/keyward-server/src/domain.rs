//! The domain, pure: validated names, the step-up details a user approves
//! (canonical, hashed), amounts and address formats per network, the
//! withdrawal policy decision and what is left of the daily limit. No I/O,
//! time passed in; nothing here imports another part of this crate, so
//! every layer may use it.

pub mod address;
pub mod audit;
pub mod daily_limit;
pub mod names;
pub mod policy;
#[cfg(test)]
mod properties;
pub mod risk;
pub mod security_events;
pub mod security_lock;

// The details a user approves are canonicalised by the code the exchange's
// verifier runs too (keyward-proof), never a copy of it.
pub use keyward_proof::{amount, details, ip, validation};

pub use validation::ValidationError;
