//! The parts of the load generator other crates use: synthetic accounts
//! derived from a seed and an index ([`bulk`]), so `keyward import` can load
//! a million of them and the load generator (or a test) can later sign for
//! any one without keeping a million private keys anywhere.

pub mod bulk;
