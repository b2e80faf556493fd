//! keyward-fido integration tests (one binary): transaction-bound challenges and offline evidence, with a SoftKey.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod evidence;
mod step_up;
