//! Offline re-verification of assertion evidence, with real SoftKey assertions.

use keyward_fido::{
    AssertionEvidence, EvidenceFacts, FidoError, PublicKeyBytes, UserVerification,
    step_up_challenge, verify_evidence,
};
use keyward_testkit::Forge;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

const CHALLENGE: [u8; 32] = [0x5A; 32];

/// Evidence of a SoftKey assertion over a bound challenge, optionally forged.
fn evidence_with(forge: &Forge) -> AssertionEvidence {
    let mut enrolled = crate::common::enrol();
    let (options, _state) = enrolled.start(CHALLENGE);
    let (_, response) = enrolled.answer(&options, forge);
    keyward_fido::capture(&response, &enrolled.key).unwrap()
}

fn verify(evidence: &AssertionEvidence) -> Result<EvidenceFacts, FidoError> {
    verify_evidence(
        evidence,
        &CHALLENGE,
        crate::common::RP_ID,
        crate::common::ORIGIN,
    )
}

fn reason(result: Result<EvidenceFacts, FidoError>) -> &'static str {
    match result {
        Err(FidoError::Refused { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn flip(bytes: &mut [u8], index: usize) {
    bytes[index] ^= 0x01;
}

#[test]
fn evidence_of_a_verified_bound_assertion_verifies_offline() {
    let mut enrolled = crate::common::enrol();
    let chosen = step_up_challenge(&[9; 32], &[8; 32]);
    let (options, state) = enrolled.start(chosen);
    let (_, response) = enrolled.answer(&options, &Forge::default());
    let outcome = enrolled
        .fido
        .finish_authentication(
            &response,
            &state,
            UserVerification::Required,
            enrolled.user_id,
        )
        .unwrap();

    let evidence = keyward_fido::capture(&response, &enrolled.key).unwrap();
    let facts = verify_evidence(
        &evidence,
        &chosen,
        crate::common::RP_ID,
        crate::common::ORIGIN,
    )
    .unwrap();
    assert_eq!(
        facts,
        EvidenceFacts {
            user_verified: true,
            counter: outcome.counter
        }
    );
    assert_eq!(evidence.credential_id, outcome.credential_id);
}

#[test]
fn flipping_a_byte_of_any_signed_field_fails() {
    let good = evidence_with(&Forge::default());
    assert!(verify(&good).is_ok());

    let mut e = good.clone();
    let last = e.signature.len() - 1;
    flip(&mut e.signature, last);
    assert_eq!(reason(verify(&e)), "bad_signature");

    let mut e = good.clone();
    flip(&mut e.client_data_json, 20);
    assert_eq!(reason(verify(&e)), "bad_signature");

    let mut e = good.clone();
    flip(&mut e.authenticator_data, 34);
    assert_eq!(reason(verify(&e)), "bad_signature");

    let mut e = good.clone();
    let PublicKeyBytes::Es256(point) = &mut e.public_key;
    flip(point, 64);
    assert!(matches!(
        reason(verify(&e)),
        "bad_signature" | "malformed_response"
    ));
}

#[test]
fn another_expected_challenge_fails() {
    let evidence = evidence_with(&Forge::default());
    let other = step_up_challenge(&[1; 32], &[2; 32]);
    let result = verify_evidence(
        &evidence,
        &other,
        crate::common::RP_ID,
        crate::common::ORIGIN,
    );
    assert_eq!(reason(result), "challenge_mismatch");
}

#[test]
fn wrong_origin_or_rp_id_fails() {
    let evidence = evidence_with(&Forge::default());
    let result = verify_evidence(
        &evidence,
        &CHALLENGE,
        crate::common::RP_ID,
        "http://localhost:8081",
    );
    assert_eq!(reason(result), "origin_mismatch");
    let result = verify_evidence(&evidence, &CHALLENGE, "example.com", crate::common::ORIGIN);
    assert_eq!(reason(result), "rp_id_mismatch");
}

#[test]
fn signed_but_wrong_ceremony_facts_each_have_their_reason() {
    let cases = [
        (
            Forge {
                user_present: Some(false),
                ..Forge::default()
            },
            "user_not_present",
        ),
        (
            Forge {
                client_data_type: Some("webauthn.create".into()),
                ..Forge::default()
            },
            "wrong_client_data_type",
        ),
        (
            Forge {
                origin: Some("https://evil.example".into()),
                ..Forge::default()
            },
            "origin_mismatch",
        ),
        (
            Forge {
                rp_id: Some("evil.example".into()),
                ..Forge::default()
            },
            "rp_id_mismatch",
        ),
    ];
    for (forge, expected) in cases {
        assert_eq!(
            reason(verify(&evidence_with(&forge))),
            expected,
            "{forge:?}"
        );
    }
}

#[test]
fn uv_flag_is_reported() {
    let forge = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let facts = verify(&evidence_with(&forge)).unwrap();
    assert!(!facts.user_verified);
}

/// Evidence signed by a throwaway key over arbitrary bytes.
fn self_signed(authenticator_data: Vec<u8>, client_data_json: Vec<u8>) -> AssertionEvidence {
    let key = SigningKey::from_slice(&[7; 32]).unwrap();
    let mut signed = authenticator_data.clone();
    signed.extend_from_slice(&Sha256::digest(&client_data_json));
    let signature: Signature = key.sign(&signed);
    let point = key.verifying_key().to_encoded_point(false);
    AssertionEvidence {
        credential_id: vec![1, 2, 3],
        authenticator_data,
        client_data_json,
        signature: signature.to_der().as_bytes().to_vec(),
        public_key: PublicKeyBytes::Es256(point.as_bytes().to_vec()),
    }
}

#[test]
fn signed_garbage_is_malformed() {
    let mut auth = Sha256::digest(crate::common::RP_ID.as_bytes()).to_vec();
    auth.extend_from_slice(&[0x05, 0, 0, 0, 1]);
    assert_eq!(
        reason(verify(&self_signed(auth.clone(), b"not json".to_vec()))),
        "malformed_response"
    );

    let client = serde_json::json!({
        "type": "webauthn.get",
        "challenge": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, CHALLENGE),
        "origin": crate::common::ORIGIN,
    });
    let client = serde_json::to_vec(&client).unwrap();
    assert_eq!(
        verify(&self_signed(auth.clone(), client.clone())).unwrap(),
        EvidenceFacts {
            user_verified: true,
            counter: 1
        }
    );
    assert_eq!(
        reason(verify(&self_signed(auth[..36].to_vec(), client))),
        "malformed_response"
    );

    let mut compressed = self_signed(auth, b"{}".to_vec());
    compressed.public_key = PublicKeyBytes::Es256(
        SigningKey::from_slice(&[7; 32])
            .unwrap()
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec(),
    );
    assert_eq!(reason(verify(&compressed)), "malformed_response");
}

#[test]
fn evidence_json_round_trips_in_the_documented_shape() {
    let evidence = evidence_with(&Forge::default());
    let json = serde_json::to_value(&evidence).unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "authenticator_data",
            "client_data_json",
            "credential_id",
            "public_key",
            "signature"
        ]
    );
    assert_eq!(json["public_key"]["alg"], "ES256");
    for field in [
        "credential_id",
        "authenticator_data",
        "client_data_json",
        "signature",
    ] {
        let s = json[field].as_str().unwrap();
        assert!(
            !s.contains('=') && !s.contains('+') && !s.contains('/'),
            "{field}: {s}"
        );
    }

    let text = serde_json::to_string(&evidence).unwrap();
    let back: AssertionEvidence = serde_json::from_str(&text).unwrap();
    assert_eq!(back, evidence);
    assert!(verify(&back).is_ok());

    let mut extra = json.clone();
    extra["note"] = "x".into();
    assert!(serde_json::from_value::<AssertionEvidence>(extra).is_err());
}

#[test]
fn evidence_refuses_a_key_that_did_not_sign() {
    let mut enrolled = crate::common::enrol();
    let other = crate::common::enrol();
    let (options, _state) = enrolled.start(CHALLENGE);
    let (_, response) = enrolled.answer(&options, &Forge::default());
    let err = keyward_fido::capture(&response, &other.key).unwrap_err();
    assert!(
        matches!(
            err,
            FidoError::Refused {
                reason: "credential_not_allowed"
            }
        ),
        "{err}"
    );
}
