//! Raw evidence in every approval and redeem: what the user's key signed,
//! checked here as an exchange would, from the response alone — the details'
//! digest, the challenge bound to it, and the assertion's signature.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_fido::{AssertionEvidence, step_up_challenge, verify_evidence};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, withdrawal};

backend_tests!(approvals_and_redeems_carry_evidence_the_exchange_checks_itself);

/// The exchange's own check of `evidence` against the digest it expects.
fn check(app: &TestApp, evidence: &Value, digest: &str) -> keyward_fido::EvidenceFacts {
    let details = evidence["details"].as_str().unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(details.as_bytes())),
        digest,
        "details hash to the digest"
    );
    let nonce: [u8; 32] = URL_SAFE_NO_PAD
        .decode(evidence["nonce"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let digest: [u8; 32] = hex::decode(digest).unwrap().try_into().unwrap();
    let challenge = step_up_challenge(&nonce, &digest);
    let assertion: AssertionEvidence =
        serde_json::from_value(evidence["assertion"].clone()).unwrap();
    verify_evidence(&assertion, &challenge, &app.state.config.rp_id, &app.origin).unwrap()
}

async fn approvals_and_redeems_carry_evidence_the_exchange_checks_itself(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(&["stepup:create", "stepup:redeem"]).await);
    let (status, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.25", "ev-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    let id = step["id"].as_str().unwrap();
    let digest = step["digest"].as_str().unwrap().to_owned();

    let (status, approved) = app
        .approve(&mut alice, id, &keyward_testkit::Forge::default())
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let facts = check(&app, &approved["evidence"], &digest);
    assert!(facts.user_verified);

    let (status, redeemed) = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{redeemed}");
    assert_eq!(redeemed["evidence"], approved["evidence"]);
    check(&app, &redeemed["evidence"], &digest);
    // The details the exchange asked for are what the key signed.
    let details: Value =
        serde_json::from_str(redeemed["evidence"]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["details"]["amount"], "0.25", "{details}");

    // The activity log says what was approved and paid out, in words.
    let events = keyward_server::store::audit::for_user(&app.state.db, alice.user_id, 50)
        .await
        .unwrap();
    for name in ["stepup.pending", "stepup.approved", "stepup.redeemed"] {
        let entry = events.iter().find(|e| e.event == name).expect(name);
        let detail: Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(
            detail["what"],
            format!("0.25 BTC to {}", crate::helpers::DEST),
            "{name}"
        );
    }

    // Evidence for other details (say, a changed amount) does not check.
    let mut forged = redeemed["evidence"].clone();
    forged["details"] = details.to_string().replace("0.25", "25").into();
    let forged_digest = hex::encode(Sha256::digest(
        forged["details"].as_str().unwrap().as_bytes(),
    ));
    let nonce: [u8; 32] = URL_SAFE_NO_PAD
        .decode(forged["nonce"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let d: [u8; 32] = hex::decode(&forged_digest).unwrap().try_into().unwrap();
    let assertion: AssertionEvidence = serde_json::from_value(forged["assertion"].clone()).unwrap();
    assert!(
        verify_evidence(
            &assertion,
            &step_up_challenge(&nonce, &d),
            &app.state.config.rp_id,
            &app.origin
        )
        .is_err(),
        "the key did not sign other details"
    );
}
