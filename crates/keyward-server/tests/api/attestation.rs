//! The `trusted` attestation policy: only keys attested by a configured CA,
//! for an allow-listed AAGUID, may be enrolled.

use keyward_server::config::Config;
use keyward_testkit::{Attestation, Forge, SoftKey, TestCa};
use reqwest::StatusCode;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_refused, trust_ca};

backend_tests!(
    trusted_accepts_an_attested_allow_listed_key,
    trusted_refuses_an_untrusted_ca,
    trusted_refuses_an_unlisted_aaguid,
    trusted_refuses_none_attestation,
    trusted_refuses_self_attestation,
);

const MODEL: [u8; 16] = *b"keyward-test-mdl";

/// A server under `trusted` with `ca` as an extra root for [`MODEL`] only.
async fn trusted_app(b: &Backend, ca: &TestCa) -> TestApp {
    let pem = ca.cert_pem();
    TestApp::spawn_with(b, move |c: &mut Config, dir| trust_ca(c, dir, &pem, MODEL)).await
}

async fn enrol_with(
    app: &TestApp,
    name: &str,
    key: SoftKey,
) -> (StatusCode, serde_json::Value, uuid::Uuid) {
    let mut user = app.signed_up(name).await;
    user.key = key;
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    (status, body, user.user_id)
}

async fn trusted_accepts_an_attested_allow_listed_key(b: Backend) {
    let ca = TestCa::generate("Vendor CA");
    let app = trusted_app(&b, &ca).await;
    let key =
        SoftKey::new().with_attestation(Attestation::PackedX5c(ca.issue_attestation_cert(MODEL)));
    let (status, body, _) = enrol_with(&app, "usert1", key).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["attestation_format"], "packed");
    assert_eq!(body["aaguid"], uuid::Uuid::from_bytes(MODEL).to_string());
}

async fn refused(app: &TestApp, name: &str, key: SoftKey) {
    let mut user = app.signed_up(name).await;
    user.key = key;
    let got = app.enrol(&mut user, Forge::default()).await;
    assert_refused(&got, "untrusted_attestation");
    assert!(app.snapshot(user.user_id).await.keys.is_empty());
}

async fn trusted_refuses_an_untrusted_ca(b: Backend) {
    let app = trusted_app(&b, &TestCa::generate("Vendor CA")).await;
    let rogue = TestCa::generate("Rogue CA");
    refused(
        &app,
        "usert2",
        SoftKey::new()
            .with_attestation(Attestation::PackedX5c(rogue.issue_attestation_cert(MODEL))),
    )
    .await;
}

async fn trusted_refuses_an_unlisted_aaguid(b: Backend) {
    let ca = TestCa::generate("Vendor CA");
    let app = trusted_app(&b, &ca).await;
    let other_model = *b"some-other-model";
    refused(
        &app,
        "usert3",
        SoftKey::new().with_attestation(Attestation::PackedX5c(
            ca.issue_attestation_cert(other_model),
        )),
    )
    .await;
}

async fn trusted_refuses_none_attestation(b: Backend) {
    let app = trusted_app(&b, &TestCa::generate("Vendor CA")).await;
    refused(&app, "usert4", SoftKey::new().with_aaguid(MODEL)).await;
}

async fn trusted_refuses_self_attestation(b: Backend) {
    let app = trusted_app(&b, &TestCa::generate("Vendor CA")).await;
    refused(
        &app,
        "usert5",
        SoftKey::new()
            .with_aaguid(MODEL)
            .with_attestation(Attestation::PackedSelf),
    )
    .await;
}
