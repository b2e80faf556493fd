//! A small client for exchange back ends talking to Keyward: ask a user to
//! approve a withdrawal with their security key, wait for it, redeem the
//! approval once and verify it without trusting Keyward (the user's own key
//! signature, against the key chain you pinned), verify approval tokens,
//! and check user API keys.
//!
//! Every call authenticates with a service key (`kw_svc_…`, created with
//! `keyward service-key create`) that carries the scopes it needs:
//! `stepup:create`, `stepup:read`, `stepup:redeem`, `apikeys:verify`, and
//! `events:read` to read security events (and to wait for an approval by
//! them, [`KeywardClient::wait_for_approval_by_events`]).
//! Errors are typed ([`Error`]), mapped from Keyward's RFC 9457 problems.
//!
//! # A withdrawal
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use keyward_client::{Error, FilePins, KeywardClient, Verifier};
//! use serde_json::json;
//!
//! # async fn pay(_: &serde_json::Value) {}
//! # async fn withdraw() -> Result<(), Error> {
//! let keyward = KeywardClient::new("https://auth.exchange.example", "kw_svc_...")?;
//! // Keyward's rp id and origin as *you* configured them, and where you
//! // keep each user's pinned key chain (a file here; any `PinStore`).
//! let verifier = Verifier::new(
//!     "auth.exchange.example",
//!     "https://auth.exchange.example",
//!     Arc::new(FilePins::new("/var/lib/exchange/keyward-pins.json")),
//! );
//!
//! // 1. Ask Keyward for an approval of exactly this withdrawal.
//! let details = json!({
//!     "asset": "BTC", "network": "bitcoin", "amount": "0.25",
//!     "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
//!     "client_reference": "payout-1",
//! });
//! let step_up = keyward.create_step_up("alice", "withdrawal", details.clone()).await?;
//! // `held` or `denied` come back at once, with a reason; otherwise send the
//! // user to `step_up.confirm_url` to touch their key.
//!
//! // 2. Wait (bounded) for the user's approval.
//! keyward
//!     .wait_for_approval(step_up.id, Duration::from_secs(2), Duration::from_secs(300))
//!     .await?;
//!
//! // 3. Redeem it, once (a second redeem is `Error::AlreadyRedeemed`), and
//! //    verify it without trusting Keyward: alice's own key, one in the key
//! //    chain you pinned, signed exactly `details` (hashed here, by the code
//! //    Keyward runs too). Anything else is an error: do not pay.
//! let (redeemed, _proof) = keyward
//!     .redeem_verified(step_up.id, "alice", "withdrawal", &details, &verifier)
//!     .await?;
//! pay(&redeemed.step_up.details).await;
//! # Ok(())
//! # }
//! ```
//!
//! Instead of polling the step-up in step 2, a service can wait for the
//! approval's security event; take the cursor before step 1, so nothing
//! can happen between asking and waiting (the key's name, here `payouts`,
//! is the events' audience):
//!
//! ```no_run
//! # use std::time::Duration;
//! # use keyward_client::{Error, KeywardClient};
//! # async fn wait(keyward: &KeywardClient, details: serde_json::Value) -> Result<(), Error> {
//! let cursor = keyward.event_cursor().await?;
//! let step_up = keyward.create_step_up("alice", "withdrawal", details).await?;
//! let approved = keyward
//!     .wait_for_approval_by_events(step_up.id, "payouts", cursor, Duration::from_secs(300))
//!     .await?;
//! # let _ = approved;
//! # Ok(())
//! # }
//! ```
//!
//! A chain that started again (account recovery, an operator reset) is
//! [`Error::ChainRestarted`]: confirm with the user out of band, then
//! [`Verifier::accept_restart`]. Approval tokens ([`KeywardClient::verify_approval`],
//! [`approval_matches`]) remain for services that trust Keyward's signature.

mod approval;
mod client;
mod error;
mod events;
pub mod pins;
mod types;
mod verify;

pub use approval::{AUDIENCE, ApprovalClaims, approval_matches};
pub use client::KeywardClient;
pub use error::{Error, TokenError};
pub use events::{EventOrder, SET_TYP};
pub use keyward_api::events::{EventPage, PolledEvent, SecurityEventClaims, SubjectId};
pub use keyward_proof::{ApprovalEvidence, VerifiedApproval};
pub use pins::{FilePins, MemoryPins, Pin, PinStore};
pub use types::{ApiKeyRefusal, PolicyReason, Redeemed, StepUp, StepUpStatus, VerifiedKey};
pub use verify::Verifier;

/// Offline approval-token and event verification against a given key set,
/// for the fuzz target (`fuzz/`) and the shared test vectors (`testdata/`);
/// not part of the supported API.
#[doc(hidden)]
pub mod offline {
    pub use crate::approval::verify_with_set;
    pub use crate::events::verify_event_with_set;
    pub use jsonwebtoken::jwk::JwkSet;
}
