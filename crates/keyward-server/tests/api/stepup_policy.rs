//! Withdrawal policy at creation and at redeem, service-key checks, and
//! malformed details: each refusal is a problem response and changes nothing.

use std::time::Duration;

use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, assert_problem, withdrawal};

backend_tests!(
    operator_freeze_after_approval_wins_at_redeem,
    key_added_holds_withdrawals,
    password_change_needs_old_password_and_key_and_holds,
    address_in_cooling_off_is_denied,
    daily_limit_counts_redeemed_withdrawals,
    self_freeze_denies_and_unfreeze_needs_a_key_and_holds,
    address_removal_is_immediate,
    wrong_missing_or_unscoped_service_keys,
    malformed_details_are_422_and_nothing_is_stored,
);

const SERVICE: &[&str] = &["stepup:create", "stepup:read", "stepup:redeem"];

async fn step_up_count(app: &TestApp) -> i64 {
    let db = &app.state.db;
    crate::on_db!(db, c => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM step_ups").fetch_one(c).await.unwrap())
}

async fn operator_freeze_after_approval_wins_at_redeem(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let admin = app.service(&app.service_key(&["admin"]).await);
    let (_, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w1"))
        .await;
    let id = step["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.approve(&mut alice, &id, &Forge::default()).await.0,
        StatusCode::OK
    );
    let (status, frozen) = app
        .post(
            &admin,
            "/v1/admin/withdrawals/freeze",
            json!({ "reason": "hot wallet incident" }),
        )
        .await;
    assert_eq!(
        (status, frozen["frozen"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let got = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(got.1["reason"], "withdrawals_frozen");
    // New withdrawals are denied; sign-in and other actions keep working.
    let (status, denied) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w2"))
        .await;
    assert_eq!(
        (status, denied["status"].as_str(), denied["reason"].as_str()),
        (
            StatusCode::CREATED,
            Some("denied"),
            Some("withdrawals_frozen")
        )
    );
    app.sign_in(&mut alice).await;
    // Lifting the freeze does not revive the refused approval.
    app.lift_global_freeze().await;
    let again = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "policy-refused");
    // The admin endpoints need the admin scope.
    assert_problem(
        &app.post(
            &svc,
            "/v1/admin/withdrawals/freeze",
            json!({ "reason": "x" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "insufficient-scope",
    );
}

async fn key_added_holds_withdrawals(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let (_, approved_before) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "before"))
        .await;
    let before = approved_before["id"].as_str().unwrap().to_owned();
    app.approve(&mut alice, &before, &Forge::default()).await;
    // A second key is added (with a fresh assertion): withdrawals are held.
    alice.new_key(SoftKey::new());
    assert_eq!(
        app.enrol(&mut alice, Forge::default()).await.0,
        StatusCode::CREATED
    );
    alice.previous_key();
    let (_, held) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "after"))
        .await;
    assert_eq!(held["status"], "held");
    assert_eq!(held["reason"], "key_added");
    assert!(held["held_until"].is_string());
    // The approval made before the change is refused at redeem too.
    let got = app
        .post(&svc, &format!("/v1/step-ups/{before}/redeem"), json!({}))
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    // The hold's own reason: a hold reason says by itself that it is a hold.
    assert_eq!(got.1["reason"], "key_added");
    let (_, refused) = app.get(&svc, &format!("/v1/step-ups/{before}")).await;
    assert_eq!(
        (refused["status"].as_str(), refused["reason"].as_str()),
        (Some("refused"), Some("key_added"))
    );
    let (_, status) = app.get(&alice.browser, "/v1/withdrawal-status").await;
    assert_eq!(status["hold_reason"], "key_added");
    // After the hold, withdrawals go through again.
    app.advance(Duration::from_secs(24 * 3600 + 1));
    let (_, later) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "later"))
        .await;
    assert_eq!(later["status"], "pending");
}

async fn address_in_cooling_off_is_denied(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let (_, unknown) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w0"))
        .await;
    assert_eq!(
        (unknown["status"].as_str(), unknown["reason"].as_str()),
        (Some("denied"), Some("address_not_allowed"))
    );
    let (_, body) = app
        .post(
            &alice.browser,
            "/v1/addresses",
            json!({ "network": "bitcoin", "address": DEST }),
        )
        .await;
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["step_up"]["action"], "address.add");
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    assert!(
        list["addresses"].as_array().unwrap().is_empty(),
        "not listed before the key approves it"
    );
    assert_eq!(
        app.approve(&mut alice, &id, &Forge::default()).await.0,
        StatusCode::OK
    );
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    assert_eq!(list["addresses"][0]["usable"], false);
    let (_, cooling) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w1"))
        .await;
    assert_eq!(
        (cooling["status"].as_str(), cooling["reason"].as_str()),
        (Some("denied"), Some("address_cooling_off"))
    );
    app.advance(Duration::from_secs(24 * 3600 + 1));
    let (_, ok) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w2"))
        .await;
    assert_eq!(ok["status"], "pending");
}

async fn daily_limit_counts_redeemed_withdrawals(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    // The default BTC limit is 10 per 24 hours.
    let (_, over) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal("alice", "10.00000001", "big"),
        )
        .await;
    assert_eq!(
        (over["status"].as_str(), over["reason"].as_str()),
        (Some("denied"), Some("daily_limit_exceeded"))
    );
    let mut ids = Vec::new();
    for (i, amount) in ["6", "5"].iter().enumerate() {
        let (_, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                withdrawal("alice", amount, &format!("w{i}")),
            )
            .await;
        assert_eq!(step["status"], "pending", "each fits alone");
        let id = step["id"].as_str().unwrap().to_owned();
        app.approve(&mut alice, &id, &Forge::default()).await;
        ids.push(id);
    }
    assert_eq!(
        app.post(&svc, &format!("/v1/step-ups/{}/redeem", ids[0]), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let got = app
        .post(&svc, &format!("/v1/step-ups/{}/redeem", ids[1]), json!({}))
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(got.1["reason"], "daily_limit_exceeded");
    let (_, small) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "4", "w9"))
        .await;
    assert_eq!(small["status"], "pending", "6 + 4 is within the limit");
}

async fn self_freeze_denies_and_unfreeze_needs_a_key_and_holds(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let (status, frozen) = app.post(&alice.browser, "/v1/freeze", json!({})).await;
    assert_eq!(
        (status, frozen["frozen"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (_, denied) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w1"))
        .await;
    assert_eq!(denied["reason"], "account_frozen");
    let (status, _) = app.post(&alice.browser, "/v1/addresses", json!({ "network": "ethereum", "address": "0x52908400098527886E0F7030069857D2E4169EE7" })).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a frozen account adds no addresses"
    );
    app.advance(Duration::from_secs(301));
    alice.browser = app.sign_in(&mut alice).await;
    app.advance(Duration::from_secs(301));
    let stale = app.post(&alice.browser, "/v1/unfreeze", json!({})).await;
    assert_problem(&stale, StatusCode::FORBIDDEN, "reauth-required");
    app.reauth(&mut alice).await;
    let (status, unfrozen) = app.post(&alice.browser, "/v1/unfreeze", json!({})).await;
    assert_eq!(
        (
            status,
            unfrozen["frozen"].as_bool(),
            unfrozen["hold_reason"].as_str()
        ),
        (StatusCode::OK, Some(false), Some("unfrozen"))
    );
    let (_, held) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w2"))
        .await;
    assert_eq!(held["status"], "held");
}

async fn address_removal_is_immediate(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    let id = list["addresses"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&alice.browser, &format!("/v1/addresses/{id}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, denied) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w1"))
        .await;
    assert_eq!(denied["reason"], "address_not_allowed");
    assert_problem(
        &app.delete(&alice.browser, &format!("/v1/addresses/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
}

async fn wrong_missing_or_unscoped_service_keys(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.withdrawal_ready("alice").await;
    let body = withdrawal("alice", "1", "w1");
    let anonymous = reqwest::Client::new();
    let got = app.post(&anonymous, "/v1/step-ups", body.clone()).await;
    assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-service-key");
    let garbage = app.service("kw_svc_not-a-real-key");
    assert_problem(
        &app.post(&garbage, "/v1/step-ups", body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "invalid-service-key",
    );
    // A well-formed key that was never issued: checksum passes, lookup fails.
    let unknown = keyward_access::token::generate(keyward_access::token::TokenKind::Service);
    let unknown = app.service(secrecy::ExposeSecret::expose_secret(&unknown.plaintext));
    assert_problem(
        &app.post(&unknown, "/v1/step-ups", body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "invalid-service-key",
    );
    let read_only = app.service(&app.service_key(&["stepup:read"]).await);
    assert_problem(
        &app.post(&read_only, "/v1/step-ups", body.clone()).await,
        StatusCode::FORBIDDEN,
        "insufficient-scope",
    );
    // A revoked key stops working.
    let token = app.service_key(SERVICE).await;
    let hash =
        keyward_access::token::parse(keyward_access::token::TokenKind::Service, &token).unwrap();
    let row = keyward_server::store::service_keys::by_hash(&app.state.db, hash.as_bytes())
        .await
        .unwrap()
        .unwrap();
    keyward_server::store::service_keys::revoke(&app.state.db, row.id, app.state.clock.now())
        .await
        .unwrap();
    assert_problem(
        &app.post(&app.service(&token), "/v1/step-ups", body).await,
        StatusCode::UNAUTHORIZED,
        "invalid-service-key",
    );
    assert_eq!(
        step_up_count(&app).await,
        1,
        "only the address.add step-up exists"
    );
}

async fn malformed_details_are_422_and_nothing_is_stored(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let before = step_up_count(&app).await;
    let patch = |field: &str, value: serde_json::Value| {
        let mut body = withdrawal("alice", "1", "w1");
        body["details"][field] = value;
        body
    };
    let cases = [
        (patch("amount", json!("1e3")), "details.amount"),
        (patch("amount", json!("-1")), "details.amount"),
        (patch("amount", json!("0.000000001")), "details.amount"),
        (patch("amount", json!(1)), "details.amount"),
        (patch("asset", json!("NOPE")), "details.asset"),
        (patch("colour", json!("red")), "details"),
        (
            patch("destination", json!("bc1q short")),
            "details.destination",
        ),
        (
            json!({ "user": "alice", "action": "teleport", "details": {} }),
            "action",
        ),
        (
            json!({ "user": "alice", "action": "withdrawal" }),
            "details",
        ),
    ];
    for (body, field) in cases {
        let got = app.post(&svc, "/v1/step-ups", body.clone()).await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
        assert!(
            got.1["field"].as_str().unwrap().starts_with(field),
            "{body}: {}",
            got.1
        );
    }
    let nobody = app
        .post(&svc, "/v1/step-ups", withdrawal("nobody", "1", "w1"))
        .await;
    assert_problem(&nobody, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(step_up_count(&app).await, before);
}

async fn password_change_needs_old_password_and_key_and_holds(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let laptop = app.sign_in(&mut alice).await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let wrong = app
        .post(
            &alice.browser,
            "/v1/password",
            change("not my password!", "a brand new passphrase"),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid-credentials");
    let short = app
        .post(
            &alice.browser,
            "/v1/password",
            change(&alice.password.clone(), "short"),
        )
        .await;
    assert_problem(&short, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(short.1["field"], "new_password");
    // The username with digits is as easy to guess here as at sign-up.
    let guessable = app
        .post(
            &alice.browser,
            "/v1/password",
            change(&alice.password.clone(), "alice12345678"),
        )
        .await;
    assert_problem(&guessable, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(guessable.1["field"], "new_password");
    assert!(
        guessable.1["detail"]
            .as_str()
            .unwrap()
            .contains("too common or easy to guess"),
        "{}",
        guessable.1
    );
    app.advance(Duration::from_secs(301));
    alice.browser = app.sign_in(&mut alice).await;
    app.advance(Duration::from_secs(301));
    let stale = app
        .post(
            &alice.browser,
            "/v1/password",
            change(&alice.password.clone(), "a brand new passphrase"),
        )
        .await;
    assert_problem(&stale, StatusCode::FORBIDDEN, "reauth-required");
    app.reauth(&mut alice).await;
    let (status, done) = app
        .post(
            &alice.browser,
            "/v1/password",
            change(&alice.password.clone(), "a brand new passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_problem(
        &app.get(&laptop, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let (_, held) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal("alice", "1", "after-password"),
        )
        .await;
    assert_eq!(
        (held["status"].as_str(), held["reason"].as_str()),
        (Some("held"), Some("password_changed"))
    );
    alice.password = "a brand new passphrase".into();
    app.sign_in(&mut alice).await;
}
