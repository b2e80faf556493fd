//! A software FIDO2 security key for tests: produces real WebAuthn attestations and
//! assertions (ES256 / P-256), with [`Forge`] knobs to falsify them for negative tests.
//!
//! ```no_run
//! use keyward_testkit::{Attestation, Forge, SoftKey, TestCa};
//! # let creation_options = serde_json::json!({});
//! # let request_options = serde_json::json!({});
//! let ca = TestCa::generate("Keyward Test Vendor");
//! let mut key = SoftKey::new().with_attestation(Attestation::PackedX5c(
//!     ca.issue_attestation_cert([7; 16]),
//! ));
//! let registration = key.register(&creation_options, "http://localhost:8080");
//! let forged = key.assert_with(
//!     &request_options,
//!     "http://localhost:8080",
//!     &Forge { tamper_signature: true, ..Forge::default() },
//! );
//! ```
//!
//! The infallible methods panic on bad input (this is test-support code, where a panic is
//! the right failure); `try_*` variants return [`TestkitError`].
//!
//! [`SoftKey::to_json`] / [`SoftKey::from_json`] save and load a key (private keys
//! included); the crate's `softkey` binary uses them to answer Keyward's ceremonies from a
//! terminal (`softkey --help`).

mod attestation;
mod encoding;
mod error;
mod forge;
pub mod mds;
mod options;
mod softkey;

pub use attestation::{Attestation, AttestationCert, TestCa};
pub use error::TestkitError;
pub use forge::Forge;
pub use mds::BlobSigner;
pub use softkey::SoftKey;
