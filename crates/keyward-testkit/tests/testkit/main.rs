//! keyward-testkit integration tests (one binary): the soft key against real webauthn-rs, every forge knob, and the softkey CLI.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ceremonies;
mod cli;
mod common;
mod forgery;
