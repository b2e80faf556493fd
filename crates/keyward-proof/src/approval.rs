//! An approval checked end to end, as an exchange's back end checks it
//! without trusting Keyward: the details it asked for (its own canonical
//! digest), the challenge recomputed from the nonce and that digest, the
//! key's assertion over it (clientDataJSON type, origin, challenge; rp id
//! hash; UP and, when required, UV; the signature), and the signing key's
//! place in the user's key chain followed from the exchange's pin.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::{self, ChainEntry, ChainError, ChainKey, ChainState, Pin};
use crate::evidence::{AssertionEvidence, EvidenceFacts, verify_evidence};
use crate::{RelyingParty, step_up_challenge};

/// What the user's key signed, raw, so an exchange can check an approval
/// itself: SHA-256 of `details` is the step-up's `digest`; the challenge is
/// SHA-256(`"keyward/step-up/v1"` ‖ nonce ‖ digest); the assertion's
/// signature covers authenticatorData ‖ SHA-256(clientDataJSON), and
/// clientDataJSON carries that challenge, the origin and `webauthn.get`; the
/// signing key is in `key_chain`, the user's key chain at approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalEvidence {
    /// The canonical JSON of the action and details the challenge commits to.
    pub details: String,
    /// The server nonce mixed into the challenge (base64url, 32 bytes).
    pub nonce: String,
    /// The assertion as the key made it.
    pub assertion: AssertionEvidence,
    /// The user's key chain when the key approved (genesis first).
    #[serde(default)]
    pub key_chain: Vec<ChainEntry>,
}

/// What the verifier knows without Keyward.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Keyward's rp id and origin, as configured on the exchange's side.
    pub rp: &'a RelyingParty,
    /// The digest of what the exchange asked to approve, computed by the
    /// exchange ([`crate::details::canonicalise`] or [`crate::details::digest_of`]).
    pub digest: [u8; 32],
    /// Whether the key must have verified the user (PIN or biometric).
    pub require_uv: bool,
    /// The user's chain as the exchange pinned it; `None` the first time
    /// (the genesis key is then trusted on first use).
    pub pin: Option<&'a Pin>,
}

/// An approval that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedApproval {
    /// The chain followed; keep [`ChainState::pin`] as the new pin.
    pub chain: ChainState,
    /// The key that approved.
    pub key: ChainKey,
    /// What its authenticator data says.
    pub facts: EvidenceFacts,
}

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The evidence's details are not the ones the exchange asked for.
    #[error("the approved details are not the ones asked for")]
    DetailsDiffer,
    /// The nonce is not 32 bytes of base64url.
    #[error("the evidence's nonce is malformed")]
    Nonce,
    /// The assertion does not verify (slug: `bad_signature`, …).
    #[error("the assertion does not verify: {0}")]
    Assertion(&'static str),
    /// The key did not verify the user and the exchange requires it.
    #[error("the key did not verify the user (PIN or biometric)")]
    UserNotVerified,
    /// The chain does not verify or does not follow the pin.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The signing key is not in the user's key chain.
    #[error("the approving key is not in the user's key chain")]
    KeyNotInChain,
}

impl ApprovalError {
    /// A stable slug for logs and exit reports.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::DetailsDiffer => "details_differ",
            Self::Nonce => "malformed_nonce",
            Self::Assertion(_) => "assertion_invalid",
            Self::UserNotVerified => "user_not_verified",
            Self::Chain(ChainError::Restarted { .. }) => "chain_restarted",
            Self::Chain(_) => "chain_invalid",
            Self::KeyNotInChain => "key_not_in_chain",
        }
    }

    /// The finer reason under [`slug`](Self::slug), where there is one: the
    /// evidence refusal (`bad_signature`, `origin_mismatch`, …) of an
    /// `assertion_invalid`, the [`ChainError::slug`] of a `chain_invalid`.
    /// Clients in other languages report the same pair (testdata/).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Assertion(refusal) => Some(*refusal),
            Self::Chain(ChainError::Restarted { .. }) => None,
            Self::Chain(e) => Some(e.slug()),
            _ => None,
        }
    }
}

/// The verdict slug for evidence JSON that does not parse as
/// [`ApprovalEvidence`] (an unknown field in the assertion, bad base64, an
/// algorithm other than ES256): refused before any check runs.
pub const MALFORMED_EVIDENCE: &str = "malformed_evidence";

/// Verifies `evidence` against what the exchange knows (see module docs).
pub fn verify_approval(
    evidence: &ApprovalEvidence,
    expected: &Expected<'_>,
) -> Result<VerifiedApproval, ApprovalError> {
    let details_digest: [u8; 32] = Sha256::digest(evidence.details.as_bytes()).into();
    if details_digest != expected.digest {
        return Err(ApprovalError::DetailsDiffer);
    }
    let nonce: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&evidence.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or(ApprovalError::Nonce)?;
    let challenge = step_up_challenge(&nonce, &expected.digest);
    let facts = verify_evidence(
        &evidence.assertion,
        &challenge,
        &expected.rp.rp_id,
        &expected.rp.origin,
    )
    .map_err(|r| ApprovalError::Assertion(r.0))?;
    if expected.require_uv && !facts.user_verified {
        return Err(ApprovalError::UserNotVerified);
    }
    let chain = chain::follow(&evidence.key_chain, expected.rp, expected.pin)?;
    let key = chain
        .key(
            &evidence.assertion.credential_id,
            &evidence.assertion.public_key,
        )
        .cloned()
        .ok_or(ApprovalError::KeyNotInChain)?;
    Ok(VerifiedApproval { chain, key, facts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainAction;
    use crate::testing::{assert_over, change, genesis, key, rp};

    const DETAILS: &str = r#"{"action":"withdrawal","details":{"amount":"1"}}"#;

    fn digest() -> [u8; 32] {
        Sha256::digest(DETAILS.as_bytes()).into()
    }

    /// Evidence of an approval by key `signer` with `a` and `b` in the chain.
    fn evidence(signer: u8) -> ApprovalEvidence {
        let (a, b) = (key(1), key(2));
        let mut chain = vec![genesis(&a)];
        chain.push(change(&chain, ChainAction::Add, &b, &a));
        let nonce = [5; 32];
        ApprovalEvidence {
            details: DETAILS.into(),
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            assertion: assert_over(&key(signer), &step_up_challenge(&nonce, &digest())),
            key_chain: chain,
        }
    }

    fn check(ev: &ApprovalEvidence, digest: [u8; 32]) -> Result<VerifiedApproval, ApprovalError> {
        let rp = rp();
        let expected = Expected {
            rp: &rp,
            digest,
            require_uv: true,
            pin: None,
        };
        verify_approval(ev, &expected)
    }

    #[test]
    fn an_approval_by_a_key_in_the_chain_verifies() {
        let verified = check(&evidence(2), digest()).unwrap();
        assert_eq!(verified.key, key(2).record);
        assert!(verified.facts.user_verified);
        assert_eq!(verified.chain.seq, 1);
    }

    #[test]
    fn each_broken_part_is_refused() {
        assert_eq!(
            check(&evidence(2), [0; 32]).unwrap_err(),
            ApprovalError::DetailsDiffer
        );
        let mut changed = evidence(2);
        changed.details = DETAILS.replace('1', "9");
        assert_eq!(
            check(&changed, digest()).unwrap_err(),
            ApprovalError::DetailsDiffer
        );
        assert_eq!(
            check(&evidence(9), digest()).unwrap_err(),
            ApprovalError::KeyNotInChain
        );
        let mut other_nonce = evidence(2);
        other_nonce.nonce = URL_SAFE_NO_PAD.encode([6; 32]);
        assert_eq!(
            check(&other_nonce, digest()).unwrap_err(),
            ApprovalError::Assertion("challenge_mismatch")
        );
        let mut short = evidence(2);
        short.nonce = "AAAA".into();
        assert_eq!(check(&short, digest()).unwrap_err(), ApprovalError::Nonce);
        let mut unchained = evidence(2);
        unchained.key_chain.clear();
        assert!(matches!(
            check(&unchained, digest()).unwrap_err(),
            ApprovalError::Chain(_)
        ));
    }
}
