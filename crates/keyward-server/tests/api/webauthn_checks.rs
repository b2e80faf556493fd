//! A negative test for each WebAuthn check that applies (WebAuthn §7.1 and
//! §7.2). Each expects a problem response and no state change: keys,
//! counters and logins as they were, and the session still not signed in.

use std::time::Duration;

use keyward_server::config::Config;
use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem, assert_refused};

backend_tests!(
    assertion_wrong_origin,
    assertion_wrong_rp_id_hash,
    assertion_wrong_type,
    assertion_challenge_from_another_ceremony,
    assertion_ceremony_of_another_purpose,
    assertion_replayed,
    assertion_expired_challenge,
    assertion_user_presence_missing,
    assertion_user_verification_missing_where_required,
    assertion_tampered_client_data,
    assertion_tampered_authenticator_data,
    assertion_tampered_signature,
    assertion_credential_not_in_allow_credentials,
    assertion_credential_of_another_user,
    assertion_counter_regression_flags_clone,
    concurrent_submissions_of_one_assertion_accept_one,
    registration_wrong_origin,
    registration_wrong_type,
    registration_tampered_signature,
    registration_duplicate_credential_id_across_users,
    registration_oversized_credential_id,
    registration_replayed,
);

/// Runs the key step with `forge` for an enrolled user and checks that it was
/// refused with `reason` and changed nothing.
async fn refused_sign_in(app: &TestApp, user: &mut User, forge: Forge, reason: &str) {
    let before = app.snapshot(user.user_id).await;
    let browser = app.password_step(user).await;
    let got = app.key_step(&browser, &mut user.key, &forge).await;
    assert_refused(&got, reason);
    assert_eq!(
        app.snapshot(user.user_id).await,
        before,
        "a refused assertion must change nothing"
    );
    let (_, stage) = app.get(&browser, "/v1/session").await;
    assert_eq!(
        stage["stage"], "password",
        "the session must not be signed in"
    );
}

async fn setup(b: &Backend, name: &str) -> (TestApp, User) {
    let app = TestApp::spawn(b).await;
    let user = app.enrolled(name).await;
    (app, user)
}

async fn assertion_wrong_origin(b: Backend) {
    let (app, mut u) = setup(&b, "usero1").await;
    let forge = Forge {
        origin: Some("https://keyward-login.example".into()),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut u, forge, "origin_mismatch").await;
}

async fn assertion_wrong_rp_id_hash(b: Backend) {
    let (app, mut u) = setup(&b, "usero2").await;
    let forge = Forge {
        rp_id: Some("evil.example".into()),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut u, forge, "rp_id_mismatch").await;
}

async fn assertion_wrong_type(b: Backend) {
    let (app, mut u) = setup(&b, "usero3").await;
    let forge = Forge {
        client_data_type: Some("webauthn.create".into()),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut u, forge, "wrong_client_data_type").await;
}

async fn assertion_challenge_from_another_ceremony(b: Backend) {
    let (app, mut u) = setup(&b, "usero4").await;
    let before = app.snapshot(u.user_id).await;
    let browser = app.password_step(&u).await;
    let (_, first) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let (_, second) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    // Sign the second ceremony's challenge, submit it as the first ceremony.
    let credential = u.key.assert(&second, &app.origin);
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": first["ceremony"], "credential": credential }),
        )
        .await;
    assert_refused(&got, "challenge_mismatch");
    assert_eq!(app.snapshot(u.user_id).await, before);
}

async fn assertion_ceremony_of_another_purpose(b: Backend) {
    let (app, mut u) = setup(&b, "usero5").await;
    // A re-authentication ceremony cannot complete a sign-in.
    let (_, reauth) = app.post(&u.browser, "/v1/reauth/options", json!({})).await;
    let browser = app.password_step(&u).await;
    let credential = u.key.assert(&reauth, &app.origin);
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": reauth["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "ceremony-unknown");
}

async fn assertion_replayed(b: Backend) {
    let (app, mut u) = setup(&b, "usero6").await;
    let browser = app.password_step(&u).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let credential = u.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let (status, _) = app
        .post(&browser, "/v1/signin/key/verify", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = app.snapshot(u.user_id).await;
    // Same ceremony again: it was consumed.
    let other = app.password_step(&u).await;
    let again = app.post(&other, "/v1/signin/key/verify", body).await;
    assert_problem(&again, StatusCode::CONFLICT, "ceremony-unknown");
    // The same signed assertion against a new ceremony: wrong challenge.
    let (_, fresh) = app.post(&other, "/v1/signin/key/options", json!({})).await;
    let replay = app
        .post(
            &other,
            "/v1/signin/key/verify",
            json!({ "ceremony": fresh["ceremony"], "credential": credential }),
        )
        .await;
    assert_refused(&replay, "challenge_mismatch");
    assert_eq!(app.snapshot(u.user_id).await, after);
}

async fn assertion_expired_challenge(b: Backend) {
    let (app, mut u) = setup(&b, "usero7").await;
    let before = app.snapshot(u.user_id).await;
    let (_, options) = app.post(&u.browser, "/v1/reauth/options", json!({})).await;
    let credential = u.key.assert(&options, &app.origin);
    app.advance(Duration::from_secs(301));
    let got = app
        .post(
            &u.browser,
            "/v1/reauth/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&got, StatusCode::GONE, "ceremony-expired");
    assert_eq!(app.snapshot(u.user_id).await, before);
}

async fn assertion_user_presence_missing(b: Backend) {
    let (app, mut u) = setup(&b, "usero8").await;
    let forge = Forge {
        user_present: Some(false),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut u, forge, "user_not_present").await;
}

async fn assertion_user_verification_missing_where_required(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.user_verification.sign_in = keyward_fido::UserVerification::Required
    })
    .await;
    let mut u = app.enrolled("usero9").await;
    // Enrolled with UV (the soft key sets it by default); now without.
    let forge = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let before = app.snapshot(u.user_id).await;
    let browser = app.password_step(&u).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let credential = u.key.assert_with(&options, &app.origin, &forge);
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_refused(&got, "user_not_verified");
    assert_eq!(app.snapshot(u.user_id).await, before);
}

async fn assertion_tampered_client_data(b: Backend) {
    let (app, mut u) = setup(&b, "usero10").await;
    refused_sign_in(
        &app,
        &mut u,
        Forge {
            tamper_client_data: true,
            ..Forge::default()
        },
        "bad_signature",
    )
    .await;
}

async fn assertion_tampered_authenticator_data(b: Backend) {
    let (app, mut u) = setup(&b, "usero11").await;
    refused_sign_in(
        &app,
        &mut u,
        Forge {
            tamper_authenticator_data: true,
            ..Forge::default()
        },
        "bad_signature",
    )
    .await;
}

async fn assertion_tampered_signature(b: Backend) {
    let (app, mut u) = setup(&b, "usero12").await;
    refused_sign_in(
        &app,
        &mut u,
        Forge {
            tamper_signature: true,
            ..Forge::default()
        },
        "bad_signature",
    )
    .await;
}

async fn assertion_credential_not_in_allow_credentials(b: Backend) {
    let (app, mut u) = setup(&b, "usero13").await;
    let forge = Forge {
        credential_id: Some(vec![7u8; 32]),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut u, forge, "credential_not_allowed").await;
}

async fn assertion_credential_of_another_user(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut victim = app.enrolled("victim").await;
    let attacker = app.enrolled("attacker").await;
    // The attacker's key signs the victim's challenge with its own credential.
    victim.key = attacker.key.clone();
    let forge = Forge {
        credential_id: Some(attacker.key.credential_ids()[0].clone()),
        ..Forge::default()
    };
    refused_sign_in(&app, &mut victim, forge, "credential_not_allowed").await;
}

async fn assertion_counter_regression_flags_clone(b: Backend) {
    let (app, mut u) = setup(&b, "usero15").await;
    app.sign_in(&mut u).await; // counter moves to 1
    let cred = u.key.credential_ids()[0].clone();
    let mut clone: SoftKey = u.key.clone();
    app.sign_in(&mut u).await; // counter 2 on the original
    // The clone still thinks the counter is 1; its next assertion says 2.
    let browser = app.password_step(&u).await;
    let got = app.key_step(&browser, &mut clone, &Forge::default()).await;
    assert_refused(&got, "counter_regression");
    let (_, stage) = app.get(&browser, "/v1/session").await;
    assert_eq!(stage["stage"], "password");
    let snapshot = app.snapshot(u.user_id).await;
    assert_eq!(snapshot.keys[0].1, 2, "the stored counter must not move");
    assert!(
        snapshot.keys[0].3,
        "the key must be flagged possibly cloned"
    );
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    assert_eq!(keys["keys"][0]["possibly_cloned"], true);
    let (_, audit) = app.get(&u.browser, "/v1/audit").await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "key.possibly_cloned")
    );
    assert_eq!(u.key.counter(&cred), Some(2));
}

async fn concurrent_submissions_of_one_assertion_accept_one(b: Backend) {
    let (app, mut u) = setup(&b, "usero16").await;
    let browser = app.password_step(&u).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let credential = u.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let attempts = (0..20).map(|_| app.post(&browser, "/v1/signin/key/verify", body.clone()));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "exactly one submission may win: {results:?}");
    assert_eq!(app.snapshot(u.user_id).await.logins, 2);
}

/// Runs a registration with `forge` for a new account and checks the refusal
/// left the account without keys.
async fn refused_registration(
    app: &TestApp,
    name: &str,
    key: SoftKey,
    forge: Forge,
    expect: (StatusCode, &str, Option<&str>),
) {
    let mut user = app.signed_up(name).await;
    user.key = key;
    let got = app.enrol(&mut user, forge).await;
    match expect.2 {
        Some(reason) => assert_refused(&got, reason),
        None => assert_problem(&got, expect.0, expect.1),
    }
    assert!(
        app.snapshot(user.user_id).await.keys.is_empty(),
        "nothing may be stored"
    );
    let (_, stage) = app.get(&user.browser, "/v1/session").await;
    assert_eq!(stage["stage"], "enrolling");
}

fn packed() -> SoftKey {
    SoftKey::new().with_attestation(keyward_testkit::Attestation::PackedSelf)
}

async fn registration_wrong_origin(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let forge = Forge {
        origin: Some("https://evil.example".into()),
        ..Forge::default()
    };
    refused_registration(
        &app,
        "userr1",
        SoftKey::new(),
        forge,
        (StatusCode::BAD_REQUEST, "", Some("origin_mismatch")),
    )
    .await;
}

async fn registration_wrong_type(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let forge = Forge {
        client_data_type: Some("webauthn.get".into()),
        ..Forge::default()
    };
    refused_registration(
        &app,
        "userr2",
        SoftKey::new(),
        forge,
        (StatusCode::BAD_REQUEST, "", Some("wrong_client_data_type")),
    )
    .await;
}

async fn registration_tampered_signature(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let forge = Forge {
        tamper_signature: true,
        ..Forge::default()
    };
    refused_registration(
        &app,
        "userr3",
        packed(),
        forge,
        (StatusCode::BAD_REQUEST, "", Some("bad_signature")),
    )
    .await;
}

async fn registration_duplicate_credential_id_across_users(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.enrolled("r4a").await;
    let taken = alice.key.credential_ids()[0].clone();
    let forge = Forge {
        credential_id: Some(taken),
        ..Forge::default()
    };
    refused_registration(
        &app,
        "r4b",
        SoftKey::new(),
        forge,
        (StatusCode::CONFLICT, "credential-exists", None),
    )
    .await;
    assert_eq!(app.snapshot(alice.user_id).await.keys.len(), 1);
}

async fn registration_oversized_credential_id(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let forge = Forge {
        credential_id: Some(vec![1u8; 1024]),
        ..Forge::default()
    };
    refused_registration(
        &app,
        "userr5",
        SoftKey::new(),
        forge,
        (StatusCode::BAD_REQUEST, "", Some("credential_id_too_long")),
    )
    .await;
}

async fn registration_replayed(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.signed_up("userr6").await;
    let (_, options) = app
        .post(&user.browser, "/v1/keys/registration/options", json!({}))
        .await;
    let credential = user.key.register(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "label": "k", "credential": credential });
    let (status, _) = app
        .post(&user.browser, "/v1/keys/registration/verify", body.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let again = app
        .post(&user.browser, "/v1/keys/registration/verify", body)
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "ceremony-unknown");
    assert_eq!(app.snapshot(user.user_id).await.keys.len(), 1);
}
