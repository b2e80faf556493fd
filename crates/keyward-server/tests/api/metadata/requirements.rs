//! The per-action key requirements metadata makes possible: a device-bound
//! key for withdrawals under `trusted`, and a minimum FIDO certification
//! level that a newer BLOB can meet.

use keyward_testkit::{Attestation, BlobSigner, Forge, SoftKey, TestCa};
use reqwest::StatusCode;

use super::{MODEL, address_step_up, app_with, blob, import_blob, key_view, of_model, options};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_refused, trust_ca, withdrawal};

backend_tests!(
    withdrawals_under_trusted_need_a_device_bound_key,
    a_minimum_certification_level_is_enforced,
);

/// A `trusted` server with `vendor` vouching for [`MODEL`].
async fn trusted_app(b: &Backend, signer: &BlobSigner, vendor: &TestCa) -> TestApp {
    let pem = vendor.cert_pem();
    app_with(b, signer, move |c, dir| trust_ca(c, dir, &pem, MODEL)).await
}

async fn withdrawal_step_up(app: &TestApp, user: &User, reference: &str) -> String {
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let (status, body) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal(&user.username, "0.1", reference),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn withdrawals_under_trusted_need_a_device_bound_key(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = trusted_app(&b, &signer, &vendor).await;
    let attested = Attestation::PackedX5c(vendor.issue_attestation_cert(MODEL));
    // A synced credential (backup eligible) may add an address, but not
    // approve a withdrawal.
    let synced = app
        .withdrawal_ready_with(
            "synced",
            SoftKey::new().with_attestation(attested.clone()).synced(),
        )
        .await;
    assert_eq!(key_view(&app, &synced).await["device_bound"], false);
    let id = withdrawal_step_up(&app, &synced, "w-synced").await;
    assert_refused(&options(&app, &synced, &id).await, "key_not_device_bound");

    let mut bound = app
        .withdrawal_ready_with("bound", SoftKey::new().with_attestation(attested))
        .await;
    assert_eq!(key_view(&app, &bound).await["device_bound"], true);
    let id = withdrawal_step_up(&app, &bound, "w-bound").await;
    let (status, body) = app.approve(&mut bound, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn a_minimum_certification_level_is_enforced(b: Backend) {
    let signer = BlobSigner::generate("Test MDS");
    let vendor = TestCa::generate("Vendor CA");
    let app = app_with(&b, &signer, |c, _| {
        c.attestation.require.address_add.min_certification =
            Some(keyward_fido::CertificationLevel::L2);
    })
    .await;
    let mut user = of_model(&app, "frank").await;
    // Not described by metadata: no level.
    let id = address_step_up(&app, &user).await;
    assert_refused(
        &options(&app, &user, &id).await,
        "key_certification_too_low",
    );
    import_blob(
        &app,
        &blob(&signer, 1, &vendor, &[("FIDO_CERTIFIED_L1", "2024-01-01")]),
    )
    .await
    .unwrap();
    assert_refused(
        &options(&app, &user, &id).await,
        "key_certification_too_low",
    );
    import_blob(
        &app,
        &blob(
            &signer,
            2,
            &vendor,
            &[
                ("FIDO_CERTIFIED_L1", "2024-01-01"),
                ("FIDO_CERTIFIED_L2", "2025-01-01"),
            ],
        ),
    )
    .await
    .unwrap();
    let (status, body) = app.approve(&mut user, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
