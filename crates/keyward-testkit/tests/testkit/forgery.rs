//! Every forge knob makes real webauthn-rs 0.6.2 reject the ceremony (or, where noted,
//! documents what webauthn-rs does not check).

use crate::common::{ORIGIN, authenticate, register, registered_key, start_registration, webauthn};
use keyward_testkit::{Attestation, Forge, SoftKey, TestCa};
use webauthn_rs::prelude::*;

/// Register with `forge` using a key with `attestation`; return webauthn-rs's error.
fn registration_error(attestation: Attestation, forge: Forge) -> WebauthnError {
    let mut key = SoftKey::new().with_attestation(attestation);
    match register(&webauthn(), &mut key, None, &forge) {
        Ok(_) => panic!("forged registration {forge:?} was accepted"),
        Err(err) => err,
    }
}

/// Authenticate an honestly registered key with `forge`; return webauthn-rs's error.
fn assertion_error(forge: Forge) -> WebauthnError {
    let (wa, mut key, sk) = registered_key();
    match authenticate(&wa, &mut key, &[sk], &forge) {
        Ok(_) => panic!("forged assertion {forge:?} was accepted"),
        Err(err) => err,
    }
}

fn x5c() -> Attestation {
    Attestation::PackedX5c(TestCa::generate("Keyward Test Vendor").issue_attestation_cert([3; 16]))
}

/// A forgery and the check its webauthn-rs error must pass.
type Case = (Forge, fn(&WebauthnError) -> bool);

fn field_forgeries() -> Vec<Case> {
    vec![
        (
            Forge {
                origin: Some("http://evil.example:8080".into()),
                ..Forge::default()
            },
            |e| matches!(e, WebauthnError::InvalidRPOrigin),
        ),
        (
            Forge {
                origin: Some("http://localhost:9090".into()),
                ..Forge::default()
            },
            |e| matches!(e, WebauthnError::InvalidRPOrigin),
        ),
        (
            Forge {
                challenge: Some(vec![0; 32]),
                ..Forge::default()
            },
            |e| matches!(e, WebauthnError::MismatchedChallenge),
        ),
        (
            Forge {
                rp_id: Some("evil.example".into()),
                ..Forge::default()
            },
            |e| matches!(e, WebauthnError::InvalidRPIDHash),
        ),
        (
            Forge {
                user_present: Some(false),
                ..Forge::default()
            },
            |e| matches!(e, WebauthnError::UserNotPresent),
        ),
    ]
}

#[test]
fn registration_field_forgeries_are_rejected() {
    let mut cases = field_forgeries();
    cases.push((
        Forge {
            client_data_type: Some("webauthn.get".into()),
            ..Forge::default()
        },
        |e| matches!(e, WebauthnError::InvalidClientDataType),
    ));
    for (forge, expected) in cases {
        for attestation in [Attestation::None, Attestation::PackedSelf] {
            let err = registration_error(attestation, forge.clone());
            assert!(expected(&err), "{forge:?}: unexpected {err:?}");
        }
    }
}

#[test]
fn assertion_field_forgeries_are_rejected() {
    let mut cases = field_forgeries();
    cases.push((
        Forge {
            client_data_type: Some("webauthn.create".into()),
            ..Forge::default()
        },
        |e| matches!(e, WebauthnError::InvalidClientDataType),
    ));
    cases.push((
        Forge {
            user_verified: Some(false),
            ..Forge::default()
        },
        |e| matches!(e, WebauthnError::UserNotVerified),
    ));
    for (forge, expected) in cases {
        let err = assertion_error(forge.clone());
        assert!(expected(&err), "{forge:?}: unexpected {err:?}");
    }
}

#[test]
fn registration_tampering_breaks_packed_attestation_signatures() {
    let knobs = [
        Forge {
            tamper_client_data: true,
            ..Forge::default()
        },
        Forge {
            tamper_authenticator_data: true,
            ..Forge::default()
        },
        Forge {
            tamper_signature: true,
            ..Forge::default()
        },
    ];
    for forge in knobs {
        for attestation in [Attestation::PackedSelf, x5c()] {
            let err = registration_error(attestation, forge.clone());
            assert!(
                matches!(err, WebauthnError::AttestationStatementSigInvalid),
                "{forge:?}: unexpected {err:?}"
            );
        }
    }
}

#[test]
fn none_attestation_signs_nothing_so_registration_tampering_goes_unnoticed() {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let forge = Forge {
        tamper_client_data: true,
        tamper_authenticator_data: true,
        tamper_signature: true,
        ..Forge::default()
    };
    register(&wa, &mut key, None, &forge).unwrap();
}

#[test]
fn assertion_tampering_breaks_the_signature() {
    let knobs = [
        Forge {
            tamper_client_data: true,
            ..Forge::default()
        },
        Forge {
            tamper_authenticator_data: true,
            ..Forge::default()
        },
        Forge {
            tamper_signature: true,
            ..Forge::default()
        },
    ];
    for forge in knobs {
        let err = assertion_error(forge.clone());
        assert!(
            matches!(err, WebauthnError::AuthenticationFailure),
            "{forge:?}: unexpected {err:?}"
        );
    }
}

#[test]
fn registration_without_user_verification_is_accepted_for_security_keys() {
    // start_securitykey_registration asks for UV "preferred", so UV=0 passes; a credential
    // registered without UV may then also authenticate without UV.
    let wa = webauthn();
    let mut key = SoftKey::new();
    let no_uv = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let sk = register(&wa, &mut key, None, &no_uv).unwrap();
    let result = authenticate(&wa, &mut key, &[sk], &no_uv).unwrap();
    assert!(!result.user_verified());
}

#[test]
fn webauthn_rs_accepts_credential_ids_up_to_4096_bytes() {
    // WebAuthn L3 caps credentialIdLength at 1023, but webauthn-rs 0.6.2 allows up to 4096
    // (room for post-quantum key-wrapped ids): a server wanting the spec limit must check.
    let wa = webauthn();
    let mut key = SoftKey::new();
    for len in [1023, 1024, 4096] {
        let forge = Forge {
            credential_id: Some(vec![7; len]),
            ..Forge::default()
        };
        let sk = register(&wa, &mut key, None, &forge).unwrap();
        assert_eq!(sk.cred_id().as_slice().len(), len);
        authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap();
    }
    let too_long = Forge {
        credential_id: Some(vec![7; 4097]),
        ..Forge::default()
    };
    let err = registration_error(Attestation::None, too_long);
    assert!(matches!(err, WebauthnError::ParseNOMFailure), "{err:?}");
}

#[test]
fn webauthn_rs_does_not_reject_a_duplicate_credential_id_by_itself() {
    // The server must check that a new credential id is not registered yet.
    let (wa, _key, sk) = registered_key();
    let duplicate = Forge {
        credential_id: Some(sk.cred_id().as_slice().to_vec()),
        ..Forge::default()
    };
    let mut other_key = SoftKey::new();
    let again = register(&wa, &mut other_key, None, &duplicate).unwrap();
    assert_eq!(again.cred_id(), sk.cred_id());
}

#[test]
fn a_credential_id_in_exclude_credentials_is_rejected() {
    let (wa, mut key, sk) = registered_key();
    let (options, state) = start_registration(&wa, None, Some(vec![sk.cred_id().clone()]));
    let forge = Forge {
        credential_id: Some(sk.cred_id().as_slice().to_vec()),
        ..Forge::default()
    };
    let response = key.register_with(&options, ORIGIN, &forge);
    let reg: RegisterPublicKeyCredential = serde_json::from_value(response).unwrap();
    let err = wa
        .finish_securitykey_registration(&reg, &state)
        .unwrap_err();
    // webauthn-rs reports an excluded credential with this (misleading) variant.
    assert!(
        matches!(err, WebauthnError::CredentialAlteredAlgFromRequest),
        "{err:?}"
    );
    // The key kept its original credential: it still authenticates.
    authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap();
}

#[test]
fn forged_counters_are_checked_against_the_stored_counter() {
    let (wa, mut key, mut sk) = registered_key();
    let high = Forge {
        counter: Some(41),
        ..Forge::default()
    };
    let result = authenticate(&wa, &mut key, std::slice::from_ref(&sk), &high).unwrap();
    assert_eq!(result.counter(), 41);
    sk.update_credential(&result);
    // The forged counter was a one-off: the key itself is still at 0.
    assert_eq!(key.counter(sk.cred_id().as_slice()), Some(0));
    for replayed in [41, 40, 0] {
        let forge = Forge {
            counter: Some(replayed),
            ..Forge::default()
        };
        let err = authenticate(&wa, &mut key, std::slice::from_ref(&sk), &forge).unwrap_err();
        assert!(
            matches!(err, WebauthnError::CredentialPossibleCompromise),
            "{err:?}"
        );
    }
    key.set_counter(sk.cred_id().as_slice(), 41);
    assert_eq!(
        authenticate(&wa, &mut key, &[sk], &Forge::default())
            .unwrap()
            .counter(),
        42
    );
}

#[test]
fn registration_counter_can_start_high() {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let start = Forge {
        counter: Some(100),
        ..Forge::default()
    };
    let sk = register(&wa, &mut key, None, &start).unwrap();
    let result = authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap();
    assert_eq!(result.counter(), 101);
}

#[test]
fn claiming_an_unknown_or_unlisted_credential_is_rejected() {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let allowed = register(&wa, &mut key, None, &Forge::default()).unwrap();
    let other = register(&wa, &mut key, None, &Forge::default()).unwrap();
    for claimed in [vec![0xAB; 32], other.cred_id().as_slice().to_vec()] {
        let forge = Forge {
            credential_id: Some(claimed),
            ..Forge::default()
        };
        let err = authenticate(&wa, &mut key, std::slice::from_ref(&allowed), &forge).unwrap_err();
        assert!(matches!(err, WebauthnError::CredentialNotFound), "{err:?}");
    }
    // A credential of another key cannot answer for this one.
    let mut stranger = SoftKey::new();
    let forge = Forge {
        credential_id: Some(allowed.cred_id().as_slice().to_vec()),
        ..Forge::default()
    };
    let err = authenticate(&wa, &mut stranger, &[allowed], &forge).unwrap_err();
    assert!(
        matches!(err, WebauthnError::AuthenticationFailure),
        "{err:?}"
    );
}

#[test]
fn webauthn_rs_state_is_reusable_so_the_server_must_consume_it() {
    // finish_* takes the state by reference and records nothing; the authentication state
    // holds a snapshot of the credentials (and their counters) taken at start. Replaying the
    // same response against the same state therefore succeeds again, even after the server
    // updated the credential's counter: the server must make each state single-use.
    let wa = webauthn();
    let mut key = SoftKey::new();
    let (options, state) = start_registration(&wa, None, None);
    let reg: RegisterPublicKeyCredential =
        serde_json::from_value(key.register(&options, ORIGIN)).unwrap();
    let mut sk = wa.finish_securitykey_registration(&reg, &state).unwrap();
    wa.finish_securitykey_registration(&reg, &state).unwrap();

    let (rcr, state) = wa
        .start_securitykey_authentication(std::slice::from_ref(&sk))
        .unwrap();
    let response = key.assert(&serde_json::to_value(&rcr).unwrap(), ORIGIN);
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    let first = wa.finish_securitykey_authentication(&cred, &state).unwrap();
    sk.update_credential(&first);
    wa.finish_securitykey_authentication(&cred, &state).unwrap();

    // Against a fresh state the replay fails on the challenge.
    let (_, fresh) = wa.start_securitykey_authentication(&[sk]).unwrap();
    let err = wa
        .finish_securitykey_authentication(&cred, &fresh)
        .unwrap_err();
    assert!(matches!(err, WebauthnError::MismatchedChallenge), "{err:?}");
}

#[test]
fn webauthn_rs_ignores_user_handle_registration_ids_and_type() {
    // The registration's id/rawId/type are never compared with the attested credential id;
    // an assertion's userHandle and type are not checked either.
    let wa = webauthn();
    let mut key = SoftKey::new();
    let (options, state) = start_registration(&wa, None, None);
    let mut response = key.register(&options, ORIGIN);
    response["id"] = "AAAA".into();
    response["rawId"] = "AAAA".into();
    response["type"] = "not-a-public-key".into();
    let reg: RegisterPublicKeyCredential = serde_json::from_value(response).unwrap();
    let sk = wa.finish_securitykey_registration(&reg, &state).unwrap();
    assert_eq!(sk.cred_id().as_slice(), key.credential_ids()[0].as_slice());

    let (rcr, state) = wa.start_securitykey_authentication(&[sk]).unwrap();
    let mut response = key.assert(&serde_json::to_value(&rcr).unwrap(), ORIGIN);
    response["response"]["userHandle"] = "c29tZW9uZS1lbHNl".into();
    response["type"] = "not-a-public-key".into();
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    wa.finish_securitykey_authentication(&cred, &state).unwrap();
}
