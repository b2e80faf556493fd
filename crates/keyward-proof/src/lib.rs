//! What Keyward and an exchange's back end both run to decide what a user
//! approved, so the exchange need not trust Keyward's word for it:
//!
//! - [`details`]: the per-action details a user approves, validated and
//!   written in one canonical JSON form, and their digest;
//! - [`challenge`]: the WebAuthn challenges that commit a key's assertion to
//!   one withdrawal, or to one change of the user's key chain;
//! - [`evidence`]: re-checking a raw assertion offline with p256 alone;
//! - [`chain`]: the per-user key chain (the first key, then each key added
//!   or removed, endorsed by a key already in it) and the pinned head an
//!   exchange keeps of it;
//! - [`approval`]: an approval checked end to end against those.
//!
//! No I/O, no clock, no randomness: callers pass those in. The server and
//! `keyward-client` use this one crate, never a copy.

pub mod amount;
pub mod approval;
pub mod chain;
pub mod challenge;
pub mod details;
pub mod evidence;
pub mod ip;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod validation;

pub use approval::{ApprovalEvidence, Expected, VerifiedApproval, verify_approval};
pub use chain::{ChainAction, ChainEntry, ChainError, ChainKey, ChainState, Pin, Statement};
pub use challenge::{CHAIN_TAG, STEP_UP_TAG, chain_challenge, step_up_challenge};
pub use evidence::{AssertionEvidence, EvidenceFacts, PublicKeyBytes, verify_evidence};
pub use validation::ValidationError;

/// Why a cryptographic check refused its input: a stable slug
/// (`bad_signature`, `challenge_mismatch`, `origin_mismatch`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refusal(pub &'static str);

/// Where a relying party's assertions come from: the rp id whose hash starts
/// authenticatorData, and the exact origin in clientDataJSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The WebAuthn rp id, e.g. `auth.exchange.example`.
    pub rp_id: String,
    /// The origin browsers report, e.g. `https://auth.exchange.example`.
    pub origin: String,
}
