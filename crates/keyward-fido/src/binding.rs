//! Transaction-bound challenges: writes a chosen challenge (a step-up's or a
//! key-chain endorsement's, from `keyward-proof`) into webauthn-rs's
//! authentication state. It must not pick nonces, hash withdrawal details or
//! store anything: callers supply a fresh random nonce and the details digest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::RequestChallengeResponse;

use crate::{AuthenticationState, FidoError};

/// Where webauthn-rs 0.6 keeps the challenge inside a serialised
/// `SecurityKeyAuthentication` (a base64url-no-pad string). A webauthn-rs
/// upgrade that moves it makes [`bind_state`] refuse with `CorruptState`.
pub(crate) const STATE_CHALLENGE_POINTER: &str = "/ast/challenge";

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
    use crate::step_up_challenge;
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
