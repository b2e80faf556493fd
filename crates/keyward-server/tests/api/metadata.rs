//! FIDO metadata (MDS3) end to end: BLOBs signed under a test root the
//! server is configured to pin; what `trusted` then accepts; the lifecycle
//! of enrolled keys whose model metadata marks compromised; and the
//! per-action device-bound and certification requirements.

use keyward_server::config::{AttestationMode, Config};
use keyward_server::flows::metadata::{ImportError, Imported, import};
use keyward_testkit::{Attestation, BlobSigner, Forge, SoftKey, TestCa, mds};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, User, assert_refused};

mod requirements;

backend_tests!(
    metadata_trusts_a_listed_model_once_applied,
    a_compromise_suspends_approvals_but_not_sign_in,
    the_operator_can_stop_suspended_keys_signing_in,
    a_newer_blob_lifts_a_suspension,
    old_replayed_and_foreign_blobs_change_nothing,
    a_compromised_model_enrolled_under_any_starts_suspended,
    metadata_is_fetched_from_the_configured_url,
);

const MODEL: [u8; 16] = *b"keyward-mds-mdl1";

fn model() -> String {
    uuid::Uuid::from_bytes(MODEL).to_string()
}

/// A server pinning `signer`'s root for metadata, tweaked further by `more`.
async fn app_with(
    b: &Backend,
    signer: &BlobSigner,
    more: impl FnOnce(&mut Config, &std::path::Path),
) -> TestApp {
    let pem = signer.root().cert_pem();
    TestApp::spawn_with(b, move |c: &mut Config, dir| {
        let path = dir.join("mds-root.pem");
        std::fs::write(&path, pem).unwrap();
        c.attestation.metadata_roots = vec![path];
        more(c, dir);
    })
    .await
}

/// A BLOB `no` describing [`MODEL`] under `vendor` with `statuses`.
fn blob(signer: &BlobSigner, no: u64, vendor: &TestCa, statuses: &[(&str, &str)]) -> String {
    let entry = mds::entry(&model(), "Keyward Test Key NFC", &[vendor], statuses);
    signer.sign(&mds::payload(no, "2099-01-01", vec![entry]))
}

async fn import_blob(app: &TestApp, blob: &str) -> Result<Imported, ImportError> {
    let s = &app.state;
    let done = import(&s.db, &s.config, blob, s.clock.now(), "test").await;
    // What the running server does when it sees a new serial.
    keyward_server::app::apply_metadata(s).await.unwrap();
    done
}

/// A user whose one key is of [`MODEL`] (unattested: the `any` policy).
async fn of_model(app: &TestApp, name: &str) -> User {
    let mut user = app.signed_up(name).await;
    user.key = SoftKey::new().with_aaguid(MODEL);
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    user
}

/// Options for step-up `id` in the user's session.
async fn options(app: &TestApp, user: &User, id: &str) -> (StatusCode, Value) {
    let path = format!("/v1/step-ups/{id}/options");
    app.post(&user.browser, &path, json!({})).await
}

/// An allow-list addition the user must approve; its step-up id.
async fn address_step_up(app: &TestApp, user: &User) -> String {
    let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold wallet" });
    let (status, body) = app.post(&user.browser, "/v1/addresses", add).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["step_up"]["id"].as_str().unwrap().to_owned()
}

async fn events(app: &TestApp, user: &User) -> Vec<(String, Value)> {
    keyward_server::store::audit::for_user(&app.state.db, user.user_id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, serde_json::from_str(&e.detail).unwrap()))
        .collect()
}

async fn key_view(app: &TestApp, user: &User) -> Value {
    let (status, body) = app.get(&user.browser, "/v1/keys").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["keys"][0].clone()
}

async fn metadata_trusts_a_listed_model_once_applied(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |c, _| {
        c.attestation.policy = AttestationMode::Trusted;
    })
    .await;
    let attested = || {
        SoftKey::new()
            .with_attestation(Attestation::PackedX5c(vendor.issue_attestation_cert(MODEL)))
    };
    // Before metadata, nothing vouches for the vendor.
    let mut early = app.signed_up("early").await;
    early.key = attested();
    assert_refused(
        &app.enrol(&mut early, Forge::default()).await,
        "untrusted_attestation",
    );

    let done = import_blob(
        &app,
        &blob(&signer, 1, &vendor, &[("FIDO_CERTIFIED_L2", "2024-01-01")]),
    )
    .await
    .unwrap();
    assert_eq!((done.no, done.models, done.compromised_models), (1, 1, 0));
    let mut user = app.signed_up("listed").await;
    user.key = attested();
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["model"], "Keyward Test Key NFC");
    assert_eq!(body["certification"], "L2");
    assert_eq!(body["device_bound"], true);
    assert!(body["suspended"].is_null());

    // A model metadata marks compromised is refused at enrolment, even
    // though its certificate chains.
    import_blob(
        &app,
        &blob(
            &signer,
            2,
            &vendor,
            &[
                ("FIDO_CERTIFIED_L2", "2024-01-01"),
                ("ATTESTATION_KEY_COMPROMISE", "2026-11-01"),
            ],
        ),
    )
    .await
    .unwrap();
    let mut late = app.signed_up("late").await;
    late.key = attested();
    assert_refused(
        &app.enrol(&mut late, Forge::default()).await,
        "untrusted_attestation",
    );
}

async fn a_compromise_suspends_approvals_but_not_sign_in(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |_, _| {}).await;
    let mut user = of_model(&app, "alice").await;
    let certified = [("FIDO_CERTIFIED_L1", "2023-05-01")];
    let done = import_blob(&app, &blob(&signer, 1, &vendor, &certified))
        .await
        .unwrap();
    assert!(done.suspended.is_empty());

    // Options taken before the news; the answer comes after it.
    let id = address_step_up(&app, &user).await;
    let (status, before) = options(&app, &user, &id).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let compromised = [certified[0], ("USER_KEY_PHYSICAL_COMPROMISE", "2026-12-01")];
    let done = import_blob(&app, &blob(&signer, 2, &vendor, &compromised))
        .await
        .unwrap();
    let key_id = app.snapshot(user.user_id).await.keys[0].0;
    assert_eq!(done.suspended, vec![key_id]);
    assert_eq!(done.compromised_models, 1);

    let credential = user.key.assert(&before, &app.origin);
    let body = json!({ "ceremony": before["ceremony"], "credential": credential });
    let got = app
        .post(&user.browser, &format!("/v1/step-ups/{id}/verify"), body)
        .await;
    assert_refused(&got, "key_suspended");
    // New options are refused outright: the user's only key is suspended.
    assert_refused(&options(&app, &user, &id).await, "key_suspended");

    // Sign-in still works, so the user can see why and enrol another key.
    user.browser = app.sign_in(&mut user).await;
    let key = key_view(&app, &user).await;
    assert_eq!(
        key["suspended"]["status"], "USER_KEY_PHYSICAL_COMPROMISE",
        "{key}"
    );
    assert_eq!(key["model"], "Keyward Test Key NFC");

    let events = events(&app, &user).await;
    let suspended = events
        .iter()
        .find(|(e, _)| e == "key.suspended")
        .expect("audited");
    assert_eq!(suspended.1["status"], "USER_KEY_PHYSICAL_COMPROMISE");
    assert_eq!(suspended.1["key_id"], key_id.to_string());
    assert_eq!(suspended.1["metadata_no"], 2);
    let metrics = keyward_server::metrics::render(&app.state.db);
    assert!(
        metrics.contains("keyward_keys_suspended_total"),
        "{metrics}"
    );
    let listed = keyward_server::store::credentials::suspended(&app.state.db)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].username, "alice");

    // A second key, of a sound model, approves the same step-up: the
    // refusals above left it pending.
    // (The suspended key still endorses its replacement.)
    app.reauth(&mut user).await;
    user.new_key(SoftKey::new());
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.approve(&mut user, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn the_operator_can_stop_suspended_keys_signing_in(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |c, _| {
        c.attestation.suspended_keys_sign_in = false;
    })
    .await;
    let user = of_model(&app, "bob").await;
    import_blob(
        &app,
        &blob(&signer, 1, &vendor, &[("REVOKED", "2026-01-01")]),
    )
    .await
    .unwrap();
    let browser = app.password_step(&user).await;
    let (status, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    assert_refused(&(status, options), "key_suspended");
}

async fn a_newer_blob_lifts_a_suspension(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |_, _| {}).await;
    let mut user = of_model(&app, "carol").await;
    let bypass = ("USER_VERIFICATION_BYPASS", "2026-02-01");
    import_blob(&app, &blob(&signer, 1, &vendor, &[bypass]))
        .await
        .unwrap();
    let id = address_step_up(&app, &user).await;
    assert_refused(&options(&app, &user, &id).await, "key_suspended");
    // The vendor fixed it; FIDO certified the fixed model after the bypass.
    let fixed = [bypass, ("FIDO_CERTIFIED_L1", "2026-10-01")];
    let done = import_blob(&app, &blob(&signer, 2, &vendor, &fixed))
        .await
        .unwrap();
    assert_eq!(done.lifted.len(), 1);
    assert!(key_view(&app, &user).await["suspended"].is_null());
    let (status, body) = app.approve(&mut user, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        events(&app, &user)
            .await
            .iter()
            .any(|(e, _)| e == "key.suspension_lifted")
    );
}

async fn old_replayed_and_foreign_blobs_change_nothing(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |_, _| {}).await;
    let user = of_model(&app, "dave").await;
    let current = blob(&signer, 5, &vendor, &[("FIDO_CERTIFIED_L1", "2024-01-01")]);
    import_blob(&app, &current).await.unwrap();
    let revoked = [("REVOKED", "2026-01-01")];
    // The same BLOB again, and an older one (say, replayed by an attacker
    // who wants to undo news): refused by serial.
    for (no, statuses) in [(5, &revoked[..]), (4, &revoked[..])] {
        let err = import_blob(&app, &blob(&signer, no, &vendor, statuses))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ImportError::NotNewer { in_use: 5, .. }),
            "{err}"
        );
    }
    // Signed under a root the server does not pin.
    let rogue = BlobSigner::generate("Rogue MDS");
    let err = import_blob(&app, &blob(&rogue, 9, &vendor, &revoked))
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Blob(_)), "{err}");
    // A changed payload under the real signature.
    let genuine = blob(&signer, 9, &vendor, &[]);
    let forged_payload = blob(&signer, 9, &vendor, &revoked);
    let mut parts: Vec<&str> = genuine.split('.').collect();
    parts[1] = forged_payload.split('.').nth(1).unwrap();
    let err = import_blob(&app, &parts.join(".")).await.unwrap_err();
    assert!(matches!(err, ImportError::Blob(_)), "{err}");

    let in_use = keyward_server::store::metadata::current(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_use.no, 5);
    assert!(key_view(&app, &user).await["suspended"].is_null());
    assert!(
        keyward_server::store::credentials::suspended(&app.state.db)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_compromised_model_enrolled_under_any_starts_suspended(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |_, _| {}).await;
    import_blob(
        &app,
        &blob(
            &signer,
            1,
            &vendor,
            &[("USER_KEY_REMOTE_COMPROMISE", "2026-01-01")],
        ),
    )
    .await
    .unwrap();
    let mut user = app.signed_up("erin").await;
    user.key = SoftKey::new().with_aaguid(MODEL);
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["suspended"]["status"], "USER_KEY_REMOTE_COMPROMISE");
    let id = address_step_up(&app, &user).await;
    assert_refused(&options(&app, &user, &id).await, "key_suspended");
}

/// Serves `blob` at `/mds` on a loopback port; counts the requests.
async fn blob_server(blob: String) -> (url::Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new().route(
        "/mds",
        axum::routing::get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let blob = blob.clone();
            async move { blob }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (
        format!("http://127.0.0.1:{port}/mds").parse().unwrap(),
        hits,
    )
}

async fn metadata_is_fetched_from_the_configured_url(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let (url, hits) = blob_server(blob(
        &signer,
        3,
        &vendor,
        &[("FIDO_CERTIFIED_L1", "2024-01-01")],
    ))
    .await;
    let app = app_with(&b, &signer, move |c, _| {
        c.attestation.policy = AttestationMode::Trusted;
        c.attestation.metadata_url = Some(url);
    })
    .await;
    // Fetched at start-up, without anyone running the CLI.
    let mut in_use = None;
    for _ in 0..100 {
        in_use = keyward_server::store::metadata::current(&app.state.db)
            .await
            .unwrap();
        if in_use.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(in_use.expect("fetched and imported").no, 3);
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // And applied: the vendor's key enrols under `trusted` (give the apply
    // that follows the import a moment).
    let mut enrolled = StatusCode::BAD_REQUEST;
    for attempt in 0..20 {
        let mut user = app.signed_up(&format!("fetched{attempt}")).await;
        user.key = SoftKey::new()
            .with_attestation(Attestation::PackedX5c(vendor.issue_attestation_cert(MODEL)));
        enrolled = app.enrol(&mut user, Forge::default()).await.0;
        if enrolled == StatusCode::CREATED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(enrolled, StatusCode::CREATED);
}
