//! The domain, pure: validated names, the step-up details a user approves
//! (canonical, hashed), amounts and address formats per network, and the
//! withdrawal policy decision. No I/O, time passed in; nothing here imports
//! another part of this crate, so every layer may use it.

pub mod address;
pub mod amount;
pub mod audit;
pub mod details;
pub mod ip;
pub mod names;
pub mod policy;
#[cfg(test)]
mod properties;
pub mod validation;

pub use validation::ValidationError;
