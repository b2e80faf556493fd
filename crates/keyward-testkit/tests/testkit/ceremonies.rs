//! Honest ceremonies verified by real webauthn-rs 0.6.2, per attestation kind.

use crate::common::{ORIGIN, authenticate, register, registered_key, start_registration, webauthn};
use keyward_testkit::{Attestation, Forge, SoftKey, TestCa};
use serde_json::Value;
use webauthn_rs::prelude::*;

const AAGUID: [u8; 16] = *b"keyward-testkit!";

fn ca_list(ca: &TestCa, aaguid: [u8; 16]) -> AttestationCaList {
    let mut builder = AttestationCaListBuilder::new();
    builder
        .insert_device_der(
            &ca.cert_der(),
            Uuid::from_bytes(aaguid),
            "Keyward soft key".to_string(),
            Default::default(),
        )
        .unwrap();
    builder.build()
}

#[test]
fn registration_response_has_browser_json_shape() {
    let wa = webauthn();
    let (options, _state) = start_registration(&wa, None, None);
    let response = SoftKey::new().register(&options, ORIGIN);
    assert_eq!(response["type"], "public-key");
    assert_eq!(response["id"], response["rawId"]);
    assert_eq!(
        response["response"]["transports"],
        serde_json::json!(["usb"])
    );
    assert_eq!(response["clientExtensionResults"], serde_json::json!({}));
    for field in ["clientDataJSON", "attestationObject"] {
        let text = response["response"][field].as_str().unwrap();
        assert!(
            !text.contains(['=', '+', '/']),
            "{field} is not base64url: {text}"
        );
    }
}

#[test]
fn none_attestation_registers_and_authenticates_with_rising_counter() {
    let (wa, mut key, mut sk) = registered_key();
    assert!(matches!(sk.attestation().data, ParsedAttestationData::None));
    assert_eq!(key.credential_ids(), vec![sk.cred_id().as_slice().to_vec()]);

    for expected in 1..=3 {
        let result =
            authenticate(&wa, &mut key, std::slice::from_ref(&sk), &Forge::default()).unwrap();
        assert_eq!(result.counter(), expected);
        assert!(result.user_verified());
        assert_eq!(result.cred_id(), sk.cred_id());
        sk.update_credential(&result);
    }
    assert_eq!(key.counter(sk.cred_id().as_slice()), Some(3));
}

#[test]
fn assertion_accepts_inner_public_key_options_and_returns_user_handle() {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let (options, state) = start_registration(&wa, None, None);
    let user_id = options["publicKey"]["user"]["id"].clone();
    let response = key.register(&options["publicKey"], ORIGIN);
    let sk = wa
        .finish_securitykey_registration(&serde_json::from_value(response).unwrap(), &state)
        .unwrap();

    let (rcr, state) = wa.start_securitykey_authentication(&[sk]).unwrap();
    let options: Value = serde_json::to_value(&rcr).unwrap();
    let response = key.assert(&options["publicKey"], ORIGIN);
    assert_eq!(response["response"]["userHandle"], user_id);
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    wa.finish_securitykey_authentication(&cred, &state).unwrap();
}

#[test]
fn picks_the_allowed_credential_among_several() {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let first = register(&wa, &mut key, None, &Forge::default()).unwrap();
    let second = register(&wa, &mut key, None, &Forge::default()).unwrap();
    assert_eq!(key.credential_ids().len(), 2);
    let result = authenticate(
        &wa,
        &mut key,
        std::slice::from_ref(&second),
        &Forge::default(),
    )
    .unwrap();
    assert_eq!(result.cred_id(), second.cred_id());
    let result = authenticate(
        &wa,
        &mut key,
        std::slice::from_ref(&first),
        &Forge::default(),
    )
    .unwrap();
    assert_eq!(result.cred_id(), first.cred_id());
}

#[test]
fn packed_self_attestation_is_accepted_without_a_ca_list() {
    let wa = webauthn();
    let mut key = SoftKey::new().with_attestation(Attestation::PackedSelf);
    let sk = register(&wa, &mut key, None, &Forge::default()).unwrap();
    assert!(matches!(
        sk.attestation().data,
        ParsedAttestationData::Self_
    ));
    authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap();
}

#[test]
fn packed_x5c_attestation_verifies_against_its_ca() {
    let wa = webauthn();
    let ca = TestCa::generate("Keyward Test Vendor");
    let cert = ca.issue_attestation_cert(AAGUID);
    let mut key = SoftKey::new().with_attestation(Attestation::PackedX5c(cert.clone()));
    let sk = register(&wa, &mut key, Some(ca_list(&ca, AAGUID)), &Forge::default()).unwrap();
    match &sk.attestation().data {
        ParsedAttestationData::Basic(chain) => assert_eq!(chain.len(), 1),
        other => panic!("expected basic attestation, got {other:?}"),
    }
    match &sk.attestation().metadata {
        AttestationMetadata::Packed { aaguid } => assert_eq!(*aaguid, Uuid::from_bytes(AAGUID)),
        other => panic!("expected packed metadata, got {other:?}"),
    }
    assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(cert.chain_der(), [ca.cert_der()]);
    authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap();
}

/// A vendor's attestation PKI with an intermediate (as Yubico's newest root
/// has them), where the key sends only its own certificate: the chain
/// validates when the intermediate is trusted beside the root, and not with
/// the root alone — which is why Keyward's built-in Yubico list carries the
/// intermediates.
#[test]
fn a_device_certificate_under_a_trusted_intermediate_verifies() {
    let wa = webauthn();
    let root = TestCa::generate("Keyward Test Vendor");
    let intermediate = root.issue_intermediate("Keyward Test Vendor FIDO");
    let cert = intermediate.issue_attestation_cert(AAGUID);
    let mut builder = AttestationCaListBuilder::new();
    for ca in [&root, &intermediate] {
        builder
            .insert_device_der(
                &ca.cert_der(),
                Uuid::from_bytes(AAGUID),
                "soft".into(),
                Default::default(),
            )
            .unwrap();
    }
    let mut key = SoftKey::new().with_attestation(Attestation::PackedX5c(cert.clone()));
    register(&wa, &mut key, Some(builder.build()), &Forge::default()).unwrap();

    let mut key = SoftKey::new().with_attestation(Attestation::PackedX5c(cert));
    let err = register(
        &wa,
        &mut key,
        Some(ca_list(&root, AAGUID)),
        &Forge::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, WebauthnError::AttestationChainNotTrusted(_)),
        "{err:?}"
    );
}

#[test]
fn packed_x5c_is_accepted_without_a_ca_list() {
    let wa = webauthn();
    let ca = TestCa::generate("Keyward Test Vendor");
    let mut key =
        SoftKey::new().with_attestation(Attestation::PackedX5c(ca.issue_attestation_cert(AAGUID)));
    register(&wa, &mut key, None, &Forge::default()).unwrap();
}

#[test]
fn packed_x5c_from_another_ca_is_not_trusted() {
    let wa = webauthn();
    let trusted = TestCa::generate("Trusted Vendor");
    let rogue = TestCa::generate("Rogue Vendor");
    let mut key = SoftKey::new()
        .with_attestation(Attestation::PackedX5c(rogue.issue_attestation_cert(AAGUID)));
    let err = register(
        &wa,
        &mut key,
        Some(ca_list(&trusted, AAGUID)),
        &Forge::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, WebauthnError::AttestationChainNotTrusted(_)),
        "{err:?}"
    );
}

#[test]
fn packed_x5c_with_an_aaguid_outside_the_ca_list_entry_is_rejected() {
    let wa = webauthn();
    let ca = TestCa::generate("Keyward Test Vendor");
    let mut key =
        SoftKey::new().with_attestation(Attestation::PackedX5c(ca.issue_attestation_cert(AAGUID)));
    let err = register(
        &wa,
        &mut key,
        Some(ca_list(&ca, [9; 16])),
        &Forge::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, WebauthnError::AttestationUntrustedAaguid),
        "{err:?}"
    );
}

#[test]
fn packed_x5c_whose_cert_aaguid_disagrees_with_auth_data_is_rejected() {
    let wa = webauthn();
    let ca = TestCa::generate("Keyward Test Vendor");
    let mut key = SoftKey::new()
        .with_attestation(Attestation::PackedX5c(ca.issue_attestation_cert(AAGUID)))
        .with_aaguid([1; 16]);
    let err = register(&wa, &mut key, None, &Forge::default()).unwrap_err();
    assert!(
        matches!(err, WebauthnError::AttestationCertificateAAGUIDMismatch),
        "{err:?}"
    );
}

#[test]
fn none_and_self_attestation_fail_when_a_ca_list_is_required() {
    let wa = webauthn();
    let ca = TestCa::generate("Keyward Test Vendor");
    for attestation in [Attestation::None, Attestation::PackedSelf] {
        let mut key = SoftKey::new()
            .with_attestation(attestation)
            .with_aaguid(AAGUID);
        let err =
            register(&wa, &mut key, Some(ca_list(&ca, AAGUID)), &Forge::default()).unwrap_err();
        assert!(
            matches!(err, WebauthnError::AttestationNotVerifiable),
            "{err:?}"
        );
    }
}

#[test]
fn key_refuses_to_register_twice_when_excluded() {
    let (wa, mut key, sk) = registered_key();
    let (options, _state) = start_registration(&wa, None, Some(vec![sk.cred_id().clone()]));
    let err = key
        .try_register_with(&options, ORIGIN, &Forge::default())
        .unwrap_err();
    assert_eq!(err, keyward_testkit::TestkitError::Excluded);
    // A different key is not affected by the exclusion.
    SoftKey::new().register(&options, ORIGIN);
}

#[test]
fn counter_regression_is_rejected_by_webauthn_rs() {
    let (wa, mut key, mut sk) = registered_key();
    let result = authenticate(&wa, &mut key, std::slice::from_ref(&sk), &Forge::default()).unwrap();
    sk.update_credential(&result);
    let id = sk.cred_id().as_slice().to_vec();
    key.set_counter(&id, 0); // next assertion reports 1 again
    let err = authenticate(&wa, &mut key, &[sk], &Forge::default()).unwrap_err();
    assert!(
        matches!(err, WebauthnError::CredentialPossibleCompromise),
        "{err:?}"
    );
}

#[test]
fn saved_and_loaded_key_keeps_authenticating() {
    for attestation in [Attestation::None, Attestation::PackedSelf] {
        let wa = webauthn();
        let mut key = SoftKey::new()
            .with_attestation(attestation)
            .with_aaguid(AAGUID);
        let mut sk = register(&wa, &mut key, None, &Forge::default()).unwrap();
        let result =
            authenticate(&wa, &mut key, std::slice::from_ref(&sk), &Forge::default()).unwrap();
        sk.update_credential(&result);

        // Through text, as the softkey CLI stores it.
        let saved = serde_json::to_string_pretty(&key.to_json().unwrap()).unwrap();
        drop(key);
        let mut loaded = SoftKey::from_json(&serde_json::from_str(&saved).unwrap()).unwrap();
        assert_eq!(loaded.counter(sk.cred_id().as_slice()), Some(1));

        let result = authenticate(
            &wa,
            &mut loaded,
            std::slice::from_ref(&sk),
            &Forge::default(),
        )
        .unwrap();
        assert_eq!(result.counter(), 2);
        assert_eq!(result.cred_id(), sk.cred_id());
        // The loaded key still refuses to register a credential it holds.
        let (options, _state) = start_registration(&wa, None, Some(vec![sk.cred_id().clone()]));
        assert_eq!(
            loaded
                .try_register_with(&options, ORIGIN, &Forge::default())
                .unwrap_err(),
            keyward_testkit::TestkitError::Excluded
        );
    }
}
