//! The WebAuthn challenges Keyward asks keys to sign. Each is a SHA-256 over
//! a purpose tag and fixed-length inputs, so a signature made for one
//! purpose never answers another, and every input is recoverable by a
//! verifier from the evidence it is given.

use sha2::{Digest, Sha256};

/// Domain-separation tag of step-up challenges.
///
/// Security: a key's signature over a step-up challenge must never be
/// replayable as (or confusable with) a signature for another purpose that
/// hashes the same nonce and digest; the tag names the purpose and version.
pub const STEP_UP_TAG: &[u8] = b"keyward/step-up/v1";

/// Domain-separation tag of key-chain endorsements.
pub const CHAIN_TAG: &[u8] = b"keyward/key-chain/v1";

/// The challenge for a step-up assertion approving one withdrawal:
/// `SHA-256(STEP_UP_TAG ‖ nonce ‖ details_digest)`.
///
/// Security: the security key signs this challenge (inside clientDataJSON),
/// so the assertion proves the user approved *these* details and no others.
/// `nonce` must be fresh random bytes per attempt: it makes every challenge
/// unpredictable and unique, so an assertion captured for one attempt cannot
/// answer another attempt for identical details. No length prefixes are
/// needed: the tag is a constant and `nonce` and `details_digest` are both
/// exactly 32 bytes, so the concatenation is unambiguous (injective).
pub fn step_up_challenge(nonce: &[u8; 32], details_digest: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(STEP_UP_TAG);
    hasher.update(nonce);
    hasher.update(details_digest);
    hasher.finalize().into()
}

/// The challenge a key signs to endorse one key-chain entry:
/// `SHA-256(CHAIN_TAG ‖ entry_hash)`, where the entry hash commits to the
/// user, the position in the chain, the previous entry, the key added or
/// removed (id, public key, AAGUID, attestation digest) and a fresh nonce.
///
/// Security: the tag differs from [`STEP_UP_TAG`] and the input lengths
/// differ (20 + 32 bytes against 18 + 64), so no step-up assertion is an
/// endorsement and no endorsement approves a withdrawal.
pub fn chain_challenge(entry_hash: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CHAIN_TAG);
    hasher.update(entry_hash);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_challenge_is_sha256_of_tag_nonce_digest() {
        let mut input = STEP_UP_TAG.to_vec();
        input.extend_from_slice(&[1; 32]);
        input.extend_from_slice(&[2; 32]);
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(step_up_challenge(&[1; 32], &[2; 32]), expected);
        assert_ne!(
            step_up_challenge(&[1; 32], &[2; 32]),
            step_up_challenge(&[2; 32], &[1; 32])
        );
    }

    #[test]
    fn chain_challenge_is_sha256_of_tag_and_entry_hash() {
        let mut input = CHAIN_TAG.to_vec();
        input.extend_from_slice(&[3; 32]);
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(chain_challenge(&[3; 32]), expected);
        assert_ne!(chain_challenge(&[3; 32]), chain_challenge(&[4; 32]));
    }
}
