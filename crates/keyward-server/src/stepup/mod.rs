//! Step-up approvals: the details a user approves (validated, canonical,
//! hashed) and the withdrawal policy that decides whether a step-up may be
//! created or redeemed. Both are pure: no I/O, time passed in.

pub mod address;
pub mod amount;
pub mod details;
pub mod policy;
#[cfg(test)]
mod properties;
