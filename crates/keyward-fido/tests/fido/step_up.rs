//! Transaction-bound step-up challenges, end to end with a SoftKey.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_fido::{FidoError, UserVerification, step_up_challenge};
use keyward_testkit::Forge;
use serde_json::Value;

fn client_data_challenge(response: &Value) -> Vec<u8> {
    let encoded = response["response"]["clientDataJSON"].as_str().unwrap();
    let client_data: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    URL_SAFE_NO_PAD
        .decode(client_data["challenge"].as_str().unwrap())
        .unwrap()
}

#[test]
fn a_bound_assertion_verifies_and_signs_the_chosen_challenge() {
    let mut enrolled = crate::common::enrol();
    let chosen = step_up_challenge(&[0x11; 32], &[0x22; 32]);
    let (options, state) = enrolled.start(chosen);
    let (json, response) = enrolled.answer(&options, &Forge::default());

    let outcome = enrolled
        .fido
        .finish_authentication(
            &response,
            &state,
            UserVerification::Required,
            enrolled.user_id,
        )
        .unwrap();
    assert_eq!(outcome.credential_id, enrolled.key.cred_id().to_vec());
    assert_eq!(client_data_challenge(&json), chosen);
}

#[test]
fn an_assertion_for_another_challenge_is_refused() {
    let mut enrolled = crate::common::enrol();
    let x = step_up_challenge(&[1; 32], &[0xAA; 32]);
    let y = step_up_challenge(&[2; 32], &[0xAA; 32]);
    let (options_x, state_x) = enrolled.start(x);
    let (_options_y, state_y) = enrolled.start(y);
    let (_, for_x) = enrolled.answer(&options_x, &Forge::default());

    let err = enrolled
        .fido
        .finish_authentication(
            &for_x,
            &state_y,
            UserVerification::Required,
            enrolled.user_id,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            FidoError::Refused {
                reason: "challenge_mismatch"
            }
        ),
        "{err}"
    );
    // The same assertion is fine against the state it was made for.
    enrolled
        .fido
        .finish_authentication(
            &for_x,
            &state_x,
            UserVerification::Required,
            enrolled.user_id,
        )
        .unwrap();
}

#[test]
fn a_forged_challenge_is_refused_by_a_bound_state() {
    let mut enrolled = crate::common::enrol();
    let chosen = step_up_challenge(&[3; 32], &[4; 32]);
    let (options, state) = enrolled.start(chosen);
    let forge = Forge {
        challenge: Some(step_up_challenge(&[3; 32], &[5; 32]).to_vec()),
        ..Forge::default()
    };
    let (_, response) = enrolled.answer(&options, &forge);
    let err = enrolled
        .fido
        .finish_authentication(
            &response,
            &state,
            UserVerification::Required,
            enrolled.user_id,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            FidoError::Refused {
                reason: "challenge_mismatch"
            }
        ),
        "{err}"
    );
}
