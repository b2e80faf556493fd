//! Passkey sign-in: options with an empty allow-list, the account found from
//! the credential's user handle, a device-bound attested key, the same
//! throttling and audit as password + key, and the per-deployment choice of
//! asking for the password too.

use std::time::Duration;

use keyward_server::config::{Config, PasskeySignIn};
use keyward_testkit::{Attestation, Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem, assert_refused};

backend_tests!(
    a_standalone_passkey_signs_in_without_username_or_password,
    a_passkey_handle_is_answered_once_and_expires,
    with_password_the_password_is_checked_and_counted,
    only_device_bound_attested_keys_sign_in_alone,
    a_forged_handle_or_unknown_account_is_refused,
    passkey_sign_in_can_be_turned_off,
    failed_passkey_answers_are_throttled_and_audited,
);

async fn app(b: &Backend, mode: PasskeySignIn) -> TestApp {
    TestApp::spawn_with(b, move |c: &mut Config, _| c.passkey_sign_in = mode).await
}

/// A user whose key keeps a discoverable, device-bound credential with a
/// (self-)attestation.
async fn with_passkey(app: &TestApp, name: &str, key: SoftKey) -> User {
    let mut user = app.signed_up(name).await;
    user.key = key;
    let (status, body) = app.enrol(&mut user, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    user
}

fn attested() -> SoftKey {
    SoftKey::new().with_attestation(Attestation::PackedSelf)
}

/// Options in a fresh browser.
async fn passkey_options(app: &TestApp, browser: &reqwest::Client) -> Value {
    let (status, options) = app
        .post(browser, "/v1/signin/passkey/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn verify(
    app: &TestApp,
    browser: &reqwest::Client,
    options: &Value,
    credential: Value,
    password: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({ "ceremony": options["ceremony"], "credential": credential });
    if let Some(password) = password {
        body["password"] = password.into();
    }
    app.post(browser, "/v1/signin/passkey/verify", body).await
}

async fn last_sign_in(app: &TestApp, user: &User) -> Value {
    keyward_server::store::audit::for_user(&app.state.db, user.user_id, 20)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event == "signin.succeeded")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .expect("a sign-in was audited")
}

async fn a_standalone_passkey_signs_in_without_username_or_password(b: Backend) {
    let app = app(&b, PasskeySignIn::Standalone).await;
    // Enrolment asks the key to keep the credential.
    let mut alice = app.signed_up("alice").await;
    let (_, reg) = app
        .post(&alice.browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_eq!(
        reg["publicKey"]["authenticatorSelection"]["residentKey"], "preferred",
        "{reg}"
    );
    alice.key = attested();
    let credential = alice.key.register(&reg, &app.origin);
    let body =
        json!({ "ceremony": reg["ceremony"], "label": "Desk key", "credential": credential });
    let (status, body) = app
        .post(&alice.browser, "/v1/keys/registration/verify", body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let browser = app.browser();
    let options = passkey_options(&app, &browser).await;
    assert_eq!(options["password_required"], false);
    let public_key = &options["publicKey"];
    assert!(
        public_key["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{options}"
    );
    assert_eq!(public_key["userVerification"], "required");
    let credential = alice.key.assert(&options, &app.origin);
    assert!(credential["response"]["userHandle"].is_string());
    let (status, body) = verify(&app, &browser, &options, credential, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], alice.user_id.to_string());
    let (_, me) = app.get(&browser, "/v1/session").await;
    assert_eq!(me["stage"], "signed_in", "{me}");
    assert_eq!(last_sign_in(&app, &alice).await["method"], "passkey");
}

async fn a_passkey_handle_is_answered_once_and_expires(b: Backend) {
    let app = app(&b, PasskeySignIn::Standalone).await;
    let mut bob = with_passkey(&app, "bob", attested()).await;
    let browser = app.browser();
    let options = passkey_options(&app, &browser).await;
    let credential = bob.key.assert(&options, &app.origin);
    let first = verify(&app, &browser, &options, credential.clone(), None).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    // The same answer (or a fresh one) to a spent handle.
    let replay = verify(&app, &app.browser(), &options, credential, None).await;
    assert_problem(&replay, StatusCode::CONFLICT, "ceremony-unknown");
    let again = bob.key.assert(&options, &app.origin);
    let replay = verify(&app, &app.browser(), &options, again, None).await;
    assert_problem(&replay, StatusCode::CONFLICT, "ceremony-unknown");

    let late = passkey_options(&app, &browser).await;
    let credential = bob.key.assert(&late, &app.origin);
    app.advance(Duration::from_secs(301));
    let expired = verify(&app, &app.browser(), &late, credential, None).await;
    assert_problem(&expired, StatusCode::GONE, "ceremony-expired");
}

async fn with_password_the_password_is_checked_and_counted(b: Backend) {
    let app = app(&b, PasskeySignIn::WithPassword).await;
    let mut carol = with_passkey(&app, "carol", attested()).await;
    let browser = app.browser();
    let options = passkey_options(&app, &browser).await;
    assert_eq!(options["password_required"], true);
    let credential = carol.key.assert(&options, &app.origin);
    let missing = verify(&app, &browser, &options, credential.clone(), None).await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let wrong = verify(
        &app,
        &browser,
        &options,
        credential.clone(),
        Some("not the password at all"),
    )
    .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid-credentials");
    let failed = keyward_server::store::audit::for_user(&app.state.db, carol.user_id, 20)
        .await
        .unwrap()
        .into_iter()
        .any(|e| e.event == "signin.password_failed");
    assert!(
        failed,
        "the wrong password is audited as at the password step"
    );
    // The handle was not spent by the wrong password: the right one works.
    let password = carol.password.clone();
    let (status, body) = verify(&app, &browser, &options, credential, Some(&password)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        last_sign_in(&app, &carol).await["method"],
        "passkey_and_password"
    );
}

async fn only_device_bound_attested_keys_sign_in_alone(b: Backend) {
    let app = app(&b, PasskeySignIn::Standalone).await;
    for (name, key, reason) in [
        ("dave", SoftKey::new(), "key_not_attested"),
        ("erin", attested().synced(), "key_not_device_bound"),
    ] {
        let mut user = with_passkey(&app, name, key).await;
        let browser = app.browser();
        let options = passkey_options(&app, &browser).await;
        let credential = user.key.assert(&options, &app.origin);
        let got = verify(&app, &browser, &options, credential, None).await;
        assert_refused(&got, reason);
        let (_, me) = app.get(&browser, "/v1/session").await;
        assert_ne!(me["stage"], "signed_in", "{me}");
        // Still signs in the usual way (password, then key).
        app.sign_in(&mut user).await;
    }
}

async fn a_forged_handle_or_unknown_account_is_refused(b: Backend) {
    let app = app(&b, PasskeySignIn::Standalone).await;
    let mut frank = with_passkey(&app, "frank", attested()).await;
    let browser = app.browser();
    let mut options = passkey_options(&app, &browser).await;
    let credential = frank.key.assert(&options, &app.origin);
    let genuine = options["ceremony"].as_str().unwrap().to_owned();
    let (body, tag) = genuine.split_once('.').unwrap();
    options["ceremony"] = format!("{body}.{}", &tag[..tag.len() - 2]).into();
    let got = verify(&app, &browser, &options, credential.clone(), None).await;
    assert_problem(&got, StatusCode::CONFLICT, "ceremony-unknown");
    options["ceremony"] = genuine.into();
    // A user handle naming nobody.
    let mut stranger = credential;
    stranger["response"]["userHandle"] = "AAAAAAAAAAAAAAAAAAAAAA".into();
    assert_refused(
        &verify(&app, &browser, &options, stranger, None).await,
        "credential_not_allowed",
    );
    // Garbage is a validation problem, never a 500.
    let got = app
        .post(
            &browser,
            "/v1/signin/passkey/verify",
            json!({ "ceremony": 7, "credential": {} }),
        )
        .await;
    assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);
}

async fn passkey_sign_in_can_be_turned_off(b: Backend) {
    let app = app(&b, PasskeySignIn::Off).await;
    let browser = app.browser();
    let got = app
        .post(&browser, "/v1/signin/passkey/options", json!({}))
        .await;
    assert_problem(&got, StatusCode::FORBIDDEN, "forbidden");
    let user = app.signed_up("gina").await;
    let (_, reg) = app
        .post(&user.browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_ne!(
        reg["publicKey"]["authenticatorSelection"]["residentKey"], "preferred",
        "{reg}"
    );
}

async fn failed_passkey_answers_are_throttled_and_audited(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.passkey_sign_in = PasskeySignIn::Standalone;
        c.throttle.free_failures = 2;
    })
    .await;
    let mut hana = with_passkey(&app, "hana", attested()).await;
    let forged = Forge {
        tamper_signature: true,
        ..Forge::default()
    };
    let mut refused = 0;
    for _ in 0..4 {
        let browser = app.browser();
        let options = passkey_options(&app, &browser).await;
        let credential = hana.key.assert_with(&options, &app.origin, &forged);
        let got = verify(&app, &browser, &options, credential, None).await;
        match got.0 {
            StatusCode::BAD_REQUEST => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            _ => panic!("unexpected {got:?}"),
        }
    }
    assert!(refused >= 2, "bad signatures are evaluated and refused");
    // The account is now in backoff: even the right passkey waits.
    let browser = app.browser();
    let options = passkey_options(&app, &browser).await;
    let credential = hana.key.assert(&options, &app.origin);
    let got = verify(&app, &browser, &options, credential, None).await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
    let audited = keyward_server::store::audit::for_user(&app.state.db, hana.user_id, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "key.assertion_refused")
        .count();
    assert_eq!(audited, refused);
}
