//! A small client for exchange back ends talking to Keyward: ask a user to
//! approve a withdrawal with their security key, wait for it, redeem the
//! approval once, verify approval tokens offline, and check user API keys.
//!
//! Every call authenticates with a service key (`kw_svc_…`, created with
//! `keyward service-key create`) that carries the scopes it needs:
//! `stepup:create`, `stepup:read`, `stepup:redeem`, `apikeys:verify`.
//! Errors are typed ([`Error`]), mapped from Keyward's RFC 9457 problems.
//!
//! # A withdrawal
//!
//! ```no_run
//! use std::time::Duration;
//! use keyward_client::{Error, KeywardClient, approval_matches};
//! use serde_json::json;
//!
//! # async fn pay(_: &serde_json::Value) {}
//! # async fn withdraw() -> Result<(), Error> {
//! let keyward = KeywardClient::new("https://auth.exchange.example", "kw_svc_...")?;
//!
//! // 1. Ask Keyward for an approval of exactly this withdrawal.
//! let step_up = keyward
//!     .create_step_up("alice", "withdrawal", json!({
//!         "asset": "BTC", "network": "bitcoin", "amount": "0.25",
//!         "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
//!         "client_reference": "payout-1",
//!     }))
//!     .await?;
//! // `held` or `denied` come back at once, with a reason; otherwise send the
//! // user to `step_up.confirm_url` to touch their key.
//!
//! // 2. Wait (bounded) for the user's approval.
//! keyward
//!     .wait_for_approval(step_up.id, Duration::from_secs(2), Duration::from_secs(300))
//!     .await?;
//!
//! // 3. Redeem it, once: Keyward re-checks its policy and hands back what was
//! //    approved. A second redeem is `Error::AlreadyRedeemed`.
//! let redeemed = keyward.redeem(step_up.id).await?;
//!
//! // 4. Pay only what was approved: the digest must be the one of the
//! //    step-up you created (and of the approval token, if you have it).
//! if redeemed.step_up.digest != step_up.digest {
//!     return Ok(()); // refuse: the details changed
//! }
//! # let approval_token = "";
//! // With the approval token (from the approve response, forwarded by your page):
//! let claims = keyward.verify_approval(approval_token).await?;
//! if approval_matches(&claims, &step_up.digest, step_up.id) {
//!     pay(&redeemed.step_up.details).await;
//! }
//! # Ok(())
//! # }
//! ```

mod approval;
mod client;
mod error;
mod types;

pub use approval::{AUDIENCE, ApprovalClaims, approval_matches};
pub use client::KeywardClient;
pub use error::{Error, TokenError};
pub use types::{ApiKeyRefusal, PolicyReason, Redeemed, StepUp, StepUpStatus, VerifiedKey};

/// Offline approval-token verification against a given key set, for the fuzz
/// target (`fuzz/`); not part of the supported API.
#[doc(hidden)]
pub mod offline {
    pub use crate::approval::verify_with_set;
    pub use jsonwebtoken::jwk::JwkSet;
}
