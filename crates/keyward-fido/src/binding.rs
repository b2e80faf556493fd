//! Transaction-bound challenges: derives the WebAuthn challenge that commits a
//! step-up assertion to one exact withdrawal, and writes it into webauthn-rs's
//! authentication state. It must not pick nonces, hash withdrawal details or
//! store anything: callers supply a fresh random nonce and the details digest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::RequestChallengeResponse;

use crate::{AuthenticationState, FidoError};

/// Domain-separation tag of step-up challenges.
///
/// Security: a key's signature over a step-up challenge must never be
/// replayable as (or confusable with) a signature for another purpose that
/// hashes the same nonce and digest; the tag names the purpose and version.
pub const STEP_UP_TAG: &[u8] = b"keyward/step-up/v1";

/// Where webauthn-rs 0.6 keeps the challenge inside a serialised
/// `SecurityKeyAuthentication` (a base64url-no-pad string). A webauthn-rs
/// upgrade that moves it makes [`bind_state`] refuse with `CorruptState`.
pub(crate) const STATE_CHALLENGE_POINTER: &str = "/ast/challenge";

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

/// Replaces webauthn-rs's random challenge with `challenge` in both the
/// options sent to the browser and the server-side state, and returns the
/// rebound state.
///
/// webauthn-rs 0.6 has no API to choose a challenge, so this edits the
/// serialised state: it serialises the state to JSON, requires the string at
/// [`STATE_CHALLENGE_POINTER`] to decode to exactly the challenge in
/// `options` (proving it found the right field), writes base64url-no-pad of
/// the new challenge there, deserialises, and re-reads the field to confirm.
/// Any deviation is `CorruptState`: a state that still verified the old
/// random challenge would approve an assertion not bound to the withdrawal.
pub(crate) fn bind_state(
    options: &mut RequestChallengeResponse,
    state: &AuthenticationState,
    challenge: &[u8; 32],
) -> Result<AuthenticationState, FidoError> {
    let corrupt = |what: &str| FidoError::CorruptState(format!("binding challenge: {what}"));
    let mut json = serde_json::to_value(state).map_err(|e| corrupt(&e.to_string()))?;
    let slot = json
        .pointer_mut(STATE_CHALLENGE_POINTER)
        .ok_or_else(|| corrupt("no challenge field in webauthn-rs state"))?;
    let current = slot
        .as_str()
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or_else(|| corrupt("state challenge is not base64url"))?;
    if current != options.public_key.challenge.as_slice() {
        return Err(corrupt("state challenge differs from the request's"));
    }
    *slot = Value::String(URL_SAFE_NO_PAD.encode(challenge));
    let bound: AuthenticationState =
        serde_json::from_value(json).map_err(|e| corrupt(&e.to_string()))?;
    if state_challenge(&bound)? != challenge.as_slice() {
        return Err(corrupt("rebound state does not read back the challenge"));
    }
    options.public_key.challenge = challenge.to_vec();
    Ok(bound)
}

/// Reads the challenge a state will verify against.
pub(crate) fn state_challenge(state: &AuthenticationState) -> Result<Vec<u8>, FidoError> {
    let json = serde_json::to_value(state).map_err(|e| FidoError::CorruptState(e.to_string()))?;
    json.pointer(STATE_CHALLENGE_POINTER)
        .and_then(Value::as_str)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or_else(|| FidoError::CorruptState("state has no readable challenge".into()))
}

#[cfg(test)]
mod tests {
    use keyward_testkit::SoftKey;
    use url::Url;
    use uuid::Uuid;
    use webauthn_rs::prelude::{RegisterPublicKeyCredential, SecurityKey};

    use super::*;
    use crate::{AttestationPolicy, Fido, RelyingParty, UserVerification};

    fn fido_and_key() -> (Fido, SecurityKey) {
        let rp = RelyingParty {
            id: "localhost".into(),
            origin: Url::parse("http://localhost:8080").unwrap(),
            name: "Keyward".into(),
        };
        let fido = Fido::new(&rp, AttestationPolicy::Any).unwrap();
        let (ccr, state) = fido
            .start_registration(Uuid::new_v4(), "alice", vec![], false)
            .unwrap();
        let response = SoftKey::new().register(
            &serde_json::to_value(&ccr).unwrap(),
            "http://localhost:8080",
        );
        let response: RegisterPublicKeyCredential = serde_json::from_value(response).unwrap();
        (
            fido.clone(),
            fido.finish_registration(&response, &state).unwrap().key,
        )
    }

    #[test]
    fn challenge_is_sha256_of_tag_nonce_digest() {
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

    /// Fails when a webauthn-rs upgrade moves the challenge in the state.
    #[test]
    fn webauthn_rs_state_layout_has_the_challenge_where_expected() {
        let (fido, key) = fido_and_key();
        let (options, state) = fido
            .start_authentication(&[key], UserVerification::Preferred)
            .unwrap();
        let json = serde_json::to_value(&state).unwrap();
        let field = json
            .pointer(STATE_CHALLENGE_POINTER)
            .and_then(Value::as_str)
            .expect("webauthn-rs state layout changed: no /ast/challenge string");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(field).unwrap(),
            options.public_key.challenge
        );
    }

    #[test]
    fn binding_sets_the_challenge_in_options_and_state() {
        let (fido, key) = fido_and_key();
        let chosen = step_up_challenge(&[7; 32], &[9; 32]);
        let (options, state) = fido
            .start_bound_authentication(&[key], UserVerification::Required, chosen)
            .unwrap();
        assert_eq!(options.public_key.challenge, chosen);
        assert_eq!(state_challenge(&state).unwrap(), chosen);
        let wire = serde_json::to_value(&options).unwrap();
        assert_eq!(
            wire.pointer("/publicKey/challenge").and_then(Value::as_str),
            Some(URL_SAFE_NO_PAD.encode(chosen).as_str())
        );
    }

    #[test]
    fn a_state_not_matching_the_options_is_refused() {
        let (fido, key) = fido_and_key();
        let (mut options, state) = fido
            .start_authentication(&[key], UserVerification::Preferred)
            .unwrap();
        options.public_key.challenge = vec![0; 32];
        let err = bind_state(&mut options, &state, &[5; 32]).unwrap_err();
        assert!(matches!(err, FidoError::CorruptState(_)), "{err}");
        assert_eq!(
            options.public_key.challenge,
            vec![0; 32],
            "options untouched"
        );
    }
}
