//! WebAuthn conformance findings from an independent black-box battery:
//! UV at registration (§7.1), the userHandle and credential type (§7.2),
//! `none` attestation with a statement (§8.7), `crossOrigin` in every
//! ceremony, possibly-cloned keys and genuine assertions that arrive out of
//! counter order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_refused, withdrawal};

backend_tests!(
    registration_without_user_verification_is_refused,
    registration_of_another_credential_type_is_refused,
    none_attestation_with_a_statement_is_refused,
    cross_origin_is_refused_in_every_ceremony,
    a_user_handle_must_be_the_accounts,
    a_possibly_cloned_key_approves_nothing_until_confirmed,
    out_of_order_approvals_do_not_flag_the_key,
    key_management_needs_user_verification_by_default,
);

/// Registration options for a signed-up user's first key.
async fn registration(app: &TestApp, user: &User) -> Value {
    let (status, options) = app
        .post(&user.browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn submit_registration(
    app: &TestApp,
    user: &User,
    options: &Value,
    credential: Value,
) -> (StatusCode, Value) {
    let body = json!({ "ceremony": options["ceremony"], "label": "k", "credential": credential });
    app.post(&user.browser, "/v1/keys/registration/verify", body)
        .await
}

async fn no_keys(app: &TestApp, user: &User) {
    assert!(
        app.snapshot(user.user_id).await.keys.is_empty(),
        "nothing enrolled"
    );
}

async fn registration_without_user_verification_is_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.signed_up("nouv1").await;
    let no_uv = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let got = app.enrol(&mut user, no_uv).await;
    assert_refused(&got, "user_not_verified");
    no_keys(&app, &user).await;
}

async fn registration_of_another_credential_type_is_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.signed_up("type1").await;
    let options = registration(&app, &user).await;
    let mut credential = user.key.register(&options, &app.origin);
    credential["type"] = json!("password");
    let got = submit_registration(&app, &user, &options, credential).await;
    assert_refused(&got, "malformed_response");
    no_keys(&app, &user).await;
}

async fn none_attestation_with_a_statement_is_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.signed_up("none1").await;
    let options = registration(&app, &user).await;
    let mut credential = user.key.register(&options, &app.origin);
    let raw = URL_SAFE_NO_PAD
        .decode(
            credential["response"]["attestationObject"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let mut object: ciborium::Value = ciborium::from_reader(raw.as_slice()).unwrap();
    let map = object.as_map_mut().unwrap();
    let fmt = map
        .iter()
        .find(|(k, _)| k.as_text() == Some("fmt"))
        .unwrap();
    assert_eq!(
        fmt.1.as_text(),
        Some("none"),
        "the soft key attests with none"
    );
    let statement = map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("attStmt"))
        .unwrap();
    statement.1 = ciborium::Value::Map(vec![(
        ciborium::Value::Text("sig".into()),
        ciborium::Value::Bytes(vec![1, 2, 3]),
    )]);
    let mut rewritten = Vec::new();
    ciborium::into_writer(&object, &mut rewritten).unwrap();
    credential["response"]["attestationObject"] = json!(URL_SAFE_NO_PAD.encode(rewritten));
    let got = submit_registration(&app, &user, &options, credential).await;
    assert_refused(&got, "malformed_attestation");
    no_keys(&app, &user).await;
}

async fn cross_origin_is_refused_in_every_ceremony(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let framed = Forge {
        cross_origin: true,
        ..Forge::default()
    };
    // Registration.
    let mut fresh = app.signed_up("framed1").await;
    assert_refused(&app.enrol(&mut fresh, framed.clone()).await, "cross_origin");
    no_keys(&app, &fresh).await;
    // Sign-in.
    let mut user = app.withdrawal_ready("framed2").await;
    let browser = app.password_step(&user).await;
    assert_refused(
        &app.key_step(&browser, &mut user.key, &framed).await,
        "cross_origin",
    );
    // Step-up approval.
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let (status, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("framed2", "0.1", "x-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    let got = app
        .approve(&mut user, step["id"].as_str().unwrap(), &framed)
        .await;
    assert_refused(&got, "cross_origin");
    // Re-authentication.
    let (status, options) = app
        .post(&user.browser, "/v1/reauth/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = user.key.assert_with(&options, &app.origin, &framed);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    assert_refused(
        &app.post(&user.browser, "/v1/reauth/verify", body).await,
        "cross_origin",
    );
}

async fn a_user_handle_must_be_the_accounts(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.enrolled("handle1").await;
    let other = app.enrolled("handle2").await;
    let browser = app.password_step(&user).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let mut credential = user.key.assert(&options, &app.origin);
    assert_eq!(
        credential["response"]["userHandle"],
        json!(URL_SAFE_NO_PAD.encode(user.user_id.as_bytes())),
        "the soft key answers with the handle it was enrolled with"
    );
    // userHandle is not signed: anyone relaying the answer can change it.
    credential["response"]["userHandle"] = json!(URL_SAFE_NO_PAD.encode(other.user_id.as_bytes()));
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let got = app.post(&browser, "/v1/signin/key/verify", body).await;
    assert_refused(&got, "user_handle_mismatch");
    // A credential of the wrong type is refused too.
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let mut credential = user.key.assert(&options, &app.origin);
    credential["type"] = json!("password");
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    assert_refused(
        &app.post(&browser, "/v1/signin/key/verify", body).await,
        "malformed_response",
    );
    // No handle at all is allowed (security keys need not send one).
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let mut credential = user.key.assert(&options, &app.origin);
    credential["response"]["userHandle"] = Value::Null;
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let got = app.post(&browser, "/v1/signin/key/verify", body).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

async fn a_possibly_cloned_key_approves_nothing_until_confirmed(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.withdrawal_ready("cloned1").await;
    // A copy of the key answers with a counter that went backwards.
    let mut clone: SoftKey = user.key.clone();
    user.browser = app.sign_in(&mut user).await;
    let browser = app.password_step(&user).await;
    assert_refused(
        &app.key_step(&browser, &mut clone, &Forge::default()).await,
        "counter_regression",
    );
    assert!(app.snapshot(user.user_id).await.keys[0].3, "flagged");
    // The owner still signs in with it, but it approves nothing…
    user.browser = app.sign_in(&mut user).await;
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let (status, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("cloned1", "0.1", "c-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    let id = step["id"].as_str().unwrap().to_owned();
    let got = app.approve(&mut user, &id, &Forge::default()).await;
    assert_refused(&got, "key_possibly_cloned");
    // …until the owner confirms it (with a fresh touch).
    let key_id = app.snapshot(user.user_id).await.keys[0].0;
    let confirm = format!("/v1/keys/{key_id}/confirm");
    app.advance(std::time::Duration::from_secs(600));
    user.browser = app.sign_in(&mut user).await;
    app.advance(std::time::Duration::from_secs(600));
    let stale = app.post(&user.browser, &confirm, json!({})).await;
    assert_eq!(
        stale.0,
        StatusCode::FORBIDDEN,
        "needs a fresh touch: {}",
        stale.1
    );
    app.reauth(&mut user).await;
    // Bad ids are 404 problems and change nothing.
    for bad in [
        format!("/v1/keys/{}/confirm", uuid::Uuid::new_v4()),
        "/v1/keys/not-an-id/confirm".into(),
    ] {
        let got = app.post(&user.browser, &bad, json!({})).await;
        crate::helpers::assert_problem(&got, StatusCode::NOT_FOUND, "not-found");
    }
    assert!(app.snapshot(user.user_id).await.keys[0].3, "still flagged");
    let (status, body) = app.post(&user.browser, &confirm, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!app.snapshot(user.user_id).await.keys[0].3, "unflagged");
    let (status, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("cloned1", "0.1", "c-2"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    let got = app
        .approve(&mut user, step["id"].as_str().unwrap(), &Forge::default())
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

/// Review finding: 20 concurrent approvals flagged the key in 2 of 3 runs.
/// Assertions signed in one order and recorded in another are genuine.
async fn out_of_order_approvals_do_not_flag_the_key(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.withdrawal_ready("busy1").await;
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let mut answers = Vec::new();
    for i in 0..20 {
        let (status, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                withdrawal("busy1", "0.01", &format!("b-{i}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{step}");
        let id = step["id"].as_str().unwrap().to_owned();
        let (status, options) = app
            .post(
                &user.browser,
                &format!("/v1/step-ups/{id}/options"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = user.key.assert(&options, &app.origin);
        answers.push((
            id,
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        ));
    }
    answers.reverse(); // highest counter first: every later one is "behind"
    let sends = answers.into_iter().map(|(id, body)| {
        let (app, browser) = (&app, &user.browser);
        async move {
            app.post(browser, &format!("/v1/step-ups/{id}/verify"), body)
                .await
        }
    });
    let results = futures::future::join_all(sends).await;
    let approved = results.iter().filter(|r| r.0 == StatusCode::OK).count();
    assert!(approved >= 1);
    for r in results.iter().filter(|r| r.0 != StatusCode::OK) {
        assert_refused(r, "counter_raced");
    }
    assert!(!app.snapshot(user.user_id).await.keys[0].3, "not flagged");
}

/// Review finding: user verification was only preferred for re-authentication
/// (adding and removing keys, unfreezing). It is required by default.
async fn key_management_needs_user_verification_by_default(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.enrolled("uvkm1").await;
    let (status, options) = app
        .post(&user.browser, "/v1/reauth/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let no_uv = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let credential = user.key.assert_with(&options, &app.origin, &no_uv);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let got = app.post(&user.browser, "/v1/reauth/verify", body).await;
    assert_refused(&got, "user_not_verified");
}
