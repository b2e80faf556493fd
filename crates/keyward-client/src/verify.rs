//! Verifying an approval without trusting Keyward: the exchange's own
//! digest of what it asked for, the user's key signature over the challenge
//! that commits to it, and the key's place in the user's key chain followed
//! from the pin the exchange keeps ([`PinStore`]). All of it is
//! `keyward-proof`, the code Keyward runs too.

use std::sync::Arc;

use keyward_proof::approval::{ApprovalError, Expected, verify_approval};
use keyward_proof::{ApprovalEvidence, RelyingParty, VerifiedApproval};
use serde_json::Value;

use crate::error::Error;
use crate::pins::PinStore;

/// Checks approvals' evidence against pinned key chains.
///
/// `rp_id` and `origin` are Keyward's as the exchange configured them (not
/// as Keyward reports them): e.g. `auth.exchange.example` and
/// `https://auth.exchange.example`.
#[derive(Clone)]
pub struct Verifier {
    rp: RelyingParty,
    require_uv: bool,
    pins: Arc<dyn PinStore>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("rp", &self.rp)
            .field("require_uv", &self.require_uv)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for Keyward at `rp_id` / `origin`, pinning chains in
    /// `pins`. User verification (PIN or biometric) is required; see
    /// [`Verifier::allow_without_uv`].
    pub fn new(rp_id: &str, origin: &str, pins: Arc<dyn PinStore>) -> Self {
        Self {
            rp: RelyingParty {
                rp_id: rp_id.to_owned(),
                origin: origin.trim_end_matches('/').to_owned(),
            },
            require_uv: true,
            pins,
        }
    }

    /// Accepts approvals by keys that did not verify the user (a key with
    /// no PIN set, under a Keyward configured to allow it).
    pub fn allow_without_uv(mut self) -> Self {
        self.require_uv = false;
        self
    }

    /// Verifies that `evidence` approves `action` with exactly `details` (as
    /// the exchange asked for them) by a key in `user`'s pinned chain, and
    /// moves the pin forward to the chain's head. The first approval of a
    /// user pins their chain (its genesis key is trusted on first use).
    ///
    /// A chain that started again (another genesis than the pinned one) is
    /// [`Error::ChainRestarted`]; accept it only after confirming with the
    /// user out of band, with [`Verifier::accept_restart`].
    pub fn verify(
        &self,
        user: &str,
        action: &str,
        details: &Value,
        evidence: &ApprovalEvidence,
    ) -> Result<VerifiedApproval, Error> {
        let pin = self.pins.get(user).map_err(|e| Error::PinStore(e.0))?;
        let verified = self.check(action, details, evidence, pin.as_ref())?;
        let new_pin = verified.chain.pin();
        if pin.as_ref() != Some(&new_pin) {
            self.pins
                .put(user, &new_pin)
                .map_err(|e| Error::PinStore(e.0))?;
        }
        Ok(verified)
    }

    /// Like [`Verifier::verify`], but pins `evidence`'s chain afresh,
    /// whatever was pinned: for a restart (recovery, an operator reset) the
    /// exchange confirmed with the user out of band.
    pub fn accept_restart(
        &self,
        user: &str,
        action: &str,
        details: &Value,
        evidence: &ApprovalEvidence,
    ) -> Result<VerifiedApproval, Error> {
        let verified = self.check(action, details, evidence, None)?;
        self.pins
            .put(user, &verified.chain.pin())
            .map_err(|e| Error::PinStore(e.0))?;
        Ok(verified)
    }

    fn check(
        &self,
        action: &str,
        details: &Value,
        evidence: &ApprovalEvidence,
        pin: Option<&keyward_proof::Pin>,
    ) -> Result<VerifiedApproval, Error> {
        let digest =
            keyward_proof::details::digest_of(action, details).map_err(|e| Error::Validation {
                field: e.field.into_owned(),
                detail: e.detail.into_owned(),
            })?;
        let expected = Expected {
            rp: &self.rp,
            digest,
            require_uv: self.require_uv,
            pin,
        };
        verify_approval(evidence, &expected).map_err(|e| match e {
            ApprovalError::Chain(keyward_proof::ChainError::Restarted {
                pinned,
                genesis,
                restarted_from,
                recovered,
            }) => Error::ChainRestarted {
                pinned,
                genesis,
                restarted_from,
                recovered,
            },
            other => Error::Unverified {
                reason: other.slug(),
                detail: other.to_string(),
            },
        })
    }
}
