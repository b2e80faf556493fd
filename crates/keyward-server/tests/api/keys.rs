//! Key management: second key (endorsed by the first), rename, remove
//! (endorsed), last-key protection, and the fresh-assertion requirement.

use std::time::Duration;

use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    a_second_key_needs_its_endorsement_not_a_fresh_sign_in,
    rename_validates_and_only_own_keys,
    last_key_cannot_be_removed,
    removal_is_endorsed_and_ends_other_sessions,
    an_added_key_waits_for_its_endorsement,
    either_key_signs_in,
);

async fn a_second_key_needs_its_endorsement_not_a_fresh_sign_in(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk1").await;
    // Past the fresh-touch window: the endorsement is the touch.
    app.advance(Duration::from_secs(301));
    u.new_key(SoftKey::new());
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
    let mut u = app.enrolled("userk3").await;
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let got = app.remove_key(&mut u, &id).await;
    assert_problem(&got, StatusCode::CONFLICT, "last-key");
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 1);
}

async fn removal_is_endorsed_and_ends_other_sessions(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk4").await;
    u.new_key(SoftKey::new());
    let (status, second) = app.enrol(&mut u, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED);
    let laptop = app.sign_in(&mut u).await;
    assert_eq!(app.get(&laptop, "/v1/keys").await.0, StatusCode::OK);
    let second = second["id"].as_str().unwrap().to_owned();

    // An answer from another ceremony, or for another key, removes nothing.
    let (_, options) = app
        .post(
            &u.browser,
            &format!("/v1/keys/{second}/removal/options"),
            json!({}),
        )
        .await;
    let credential = u.key.assert(&options, &app.origin);
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    let first = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let elsewhere = app
        .post(
            &u.browser,
            &format!("/v1/keys/{first}/removal/verify"),
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&elsewhere, StatusCode::CONFLICT, "ceremony-unknown");
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 2);

    // Much later (no fresh sign-in needed: the endorsement is the key's
    // touch), the first key endorses removing the second.
    app.advance(Duration::from_secs(301));
    u.previous_key();
    let (status, body) = app.remove_key(&mut u, &second).await;
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
    let (status, _) = app.key_step(&browser, &mut u.key, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK);
}

async fn an_added_key_waits_for_its_endorsement(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk6").await;
    u.new_key(SoftKey::new());
    let (status, options) = app.register(&mut u, Forge::default()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{options}");
    // Not stored until endorsed: it neither lists nor signs in.
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 1);
    // The new key cannot endorse itself (it is not one of the account's).
    let forge = Forge {
        credential_id: u.key.credential_ids().pop(),
        ..Forge::default()
    };
    let own = u.key.assert_with(&options, &app.origin, &forge);
    let got = app
        .post(
            &u.browser,
            "/v1/keys/endorsement/verify",
            json!({ "ceremony": options["ceremony"], "credential": own }),
        )
        .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 1);
    // The ceremony was spent by that answer; a fresh registration is
    // endorsed by the key held before.
    let stale = u.other_keys[0].assert(&options, &app.origin);
    let again = app
        .post(
            &u.browser,
            "/v1/keys/endorsement/verify",
            json!({ "ceremony": options["ceremony"], "credential": stale }),
        )
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "ceremony-unknown");
    let (status, body) = app.enrol(&mut u, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.snapshot(u.user_id).await.keys.len(), 2);
    // The chain now has the genesis and the endorsed addition.
    let chain = keyward_server::store::key_chain::all(&app.state.db, u.user_id)
        .await
        .unwrap();
    assert_eq!(chain.len(), 2);
    assert!(chain[1].endorsement.is_some());
}

async fn either_key_signs_in(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userk5").await;
    u.new_key(SoftKey::new());
    app.enrol(&mut u, Forge::default()).await;
    app.sign_in(&mut u).await;
    let browser = app.password_step(&u).await;
    let first = &mut u.other_keys[0];
    let (status, _) = app.key_step(&browser, first, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK);
}
