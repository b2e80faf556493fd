//! Key management: second key, rename, remove, last-key protection, and
//! the fresh-assertion requirement.

use std::time::Duration;

use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    second_key_needs_a_fresh_assertion,
    rename_validates_and_only_own_keys,
    last_key_cannot_be_removed,
    removal_needs_fresh_assertion_and_ends_other_sessions,
    either_key_signs_in,
);

async fn second_key_needs_a_fresh_assertion(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk1").await;
    // Enrolment itself counted as a fresh key proof; let it go stale.
    app.advance(Duration::from_secs(301));
    let stale = app
        .post(&u.browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_problem(&stale, StatusCode::FORBIDDEN, "reauth-required");
    app.reauth(&mut u).await;
    let mut backup = SoftKey::new();
    std::mem::swap(&mut u.key, &mut backup);
    let (status, body) = app.enrol(&mut u, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 2);
}

async fn rename_validates_and_only_own_keys(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("userk2").await;
    let other = app.enrolled("k2other").await;
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .patch(
            &u.browser,
            &format!("/v1/keys/{id}"),
            json!({ "label": "Desk YubiKey" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    assert_eq!(keys["keys"][0]["label"], "Desk YubiKey");
    let empty = app
        .patch(
            &u.browser,
            &format!("/v1/keys/{id}"),
            json!({ "label": "  " }),
        )
        .await;
    assert_problem(&empty, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let foreign = app
        .patch(
            &other.browser,
            &format!("/v1/keys/{id}"),
            json!({ "label": "mine now" }),
        )
        .await;
    assert_problem(&foreign, StatusCode::NOT_FOUND, "not-found");
    let bogus = app
        .patch(&u.browser, "/v1/keys/not-a-uuid", json!({ "label": "x" }))
        .await;
    assert_problem(&bogus, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(app.snapshot(u.user_id).await.keys[0].2, "Desk YubiKey");
}

async fn last_key_cannot_be_removed(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("userk3").await;
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let got = app.delete(&u.browser, &format!("/v1/keys/{id}")).await;
    assert_problem(&got, StatusCode::CONFLICT, "last-key");
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 1);
}

async fn removal_needs_fresh_assertion_and_ends_other_sessions(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk4").await;
    let first_key = u.key.clone();
    u.key = SoftKey::new();
    let (status, second) = app.enrol(&mut u, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED);
    let laptop = app.sign_in(&mut u).await;
    assert_eq!(app.get(&laptop, "/v1/keys").await.0, StatusCode::OK);

    app.advance(Duration::from_secs(301));
    let path = format!("/v1/keys/{}", second["id"].as_str().unwrap());
    assert_problem(
        &app.delete(&u.browser, &path).await,
        StatusCode::FORBIDDEN,
        "reauth-required",
    );
    app.reauth(&mut u).await;
    let (status, body) = app.delete(&u.browser, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert_problem(
        &app.get(&laptop, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(app.get(&u.browser, "/v1/keys").await.0, StatusCode::OK);
    // The removed key no longer signs in; the remaining one does.
    let browser = app.password_step(&u).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    assert_eq!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    u.key = first_key;
    let (status, _) = app.key_step(&browser, &mut u.key, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK);
}

async fn either_key_signs_in(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk5").await;
    let mut first = u.key.clone();
    u.key = SoftKey::new();
    app.enrol(&mut u, Forge::default()).await;
    app.sign_in(&mut u).await;
    let browser = app.password_step(&u).await;
    let (status, _) = app.key_step(&browser, &mut first, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK);
}
