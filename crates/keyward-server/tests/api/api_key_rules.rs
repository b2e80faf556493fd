//! Rules that keep API keys from becoming the 2019 weak link again (review
//! findings): no allow-list wider than the configured prefix, every key
//! expires (and the user approves that expiry), a `withdraw` key obeys the
//! withdrawal freezes, and a password change or an operator lock stops the
//! user's keys.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_keys::{GATEWAY, new_key, read_key, refused, verify};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    allow_lists_narrower_than_the_minimum_prefix_only,
    every_key_expires_and_the_user_approves_when,
    withdraw_keys_obey_the_freezes,
    a_password_change_revokes_the_keys,
    an_operator_lock_stops_the_keys,
);

async fn allow_lists_narrower_than_the_minimum_prefix_only(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.enrolled("alice").await;
    for wide in ["0.0.0.0/0", "::/0", "10.0.0.0/16", "2001:db8::/32"] {
        let details =
            json!({ "label": "bot", "scopes": ["read"], "ip_allowlist": ["192.0.2.1", wide] });
        let got = app
            .post(&alice.browser, "/v1/api-keys/step-up", details)
            .await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
        assert_eq!(got.1["field"], "ip_allowlist", "{wide}: {}", got.1);
    }
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    assert!(
        !audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "stepup.pending"),
        "nothing was asked for: {audit}"
    );
    let narrow = json!({ "label": "bot", "scopes": ["read"], "ip_allowlist": ["10.0.0.0/24", "2001:db8:1::/48"] });
    let got = app
        .post(&alice.browser, "/v1/api-keys/step-up", narrow)
        .await;
    assert_eq!(got.0, StatusCode::ACCEPTED, "{}", got.1);
}

async fn every_key_expires_and_the_user_approves_when(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let day = 86_400_000_i64;
    let cases = [
        // (allow-list, requested days, days the key gets)
        (json!(["192.0.2.1"]), None, 365),
        (json!(["192.0.2.1"]), Some(5000), 365),
        (json!(["192.0.2.1"]), Some(7), 7),
        (json!([]), None, 30),
        (json!([]), Some(90), 30),
    ];
    for (i, (ips, asked, days)) in cases.into_iter().enumerate() {
        let mut details =
            json!({ "label": format!("k{i}"), "scopes": ["read"], "ip_allowlist": ips });
        if let Some(asked) = asked {
            details["expires_in_days"] = json!(asked);
        }
        // What the user is asked to approve already says it.
        let (status, body) = app
            .post(&alice.browser, "/v1/api-keys/step-up", details.clone())
            .await;
        if asked == Some(5000) {
            // Past what any key may be asked for at all.
            assert_problem(
                &(status, body),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
            );
            continue;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(
            body["step_up"]["details"]["expires_in_days"], days,
            "{body}"
        );
        let id = body["step_up"]["id"].as_str().unwrap().to_owned();
        let (status, approved) = app.approve(&mut alice, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        // The page sends the details it had; the server clamps them the same way.
        details["step_up_id"] = json!(id);
        let (status, created) = app.post(&alice.browser, "/v1/api-keys", details).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let expires = time::OffsetDateTime::parse(
            created["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let left = i64::try_from(expires.unix_timestamp_nanos() / 1_000_000).unwrap()
            - app.state.clock.now();
        assert!((left - days * day).abs() < 60_000, "{i}: {left} ms left");
    }
    let (_, list) = app.get(&alice.browser, "/v1/api-keys").await;
    let keys = list["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| k["expires_at"].is_string()), "{list}");
}

async fn withdraw_keys_obey_the_freezes(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let admin = app.service(&app.service_key(&["admin"]).await);
    let details = json!({ "label": "payout", "scopes": ["read", "withdraw"], "ip_allowlist": ["192.0.2.10"] });
    let created = new_key(&app, &mut alice, details).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    app.advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let check = |scope: &'static str| verify(&app, &gw, &secret, scope, "192.0.2.10");
    assert_eq!(check("withdraw").await.0, StatusCode::OK, "hold over");

    // The operator's freeze stops withdraw keys at once (read still works).
    let (status, body) = app
        .post(
            &admin,
            "/v1/admin/withdrawals/freeze",
            json!({ "reason": "incident" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    refused(&check("withdraw").await, "withdrawals_frozen");
    assert_eq!(check("read").await.0, StatusCode::OK);
    app.lift_global_freeze().await;
    assert_eq!(check("withdraw").await.0, StatusCode::OK);

    // So does the owner's own freeze, and the hold that unfreezing starts.
    alice.browser = app.sign_in(&mut alice).await;
    let (status, body) = app.post(&alice.browser, "/v1/freeze", json!({})).await;
    assert!(status.is_success(), "{body}");
    refused(&check("withdraw").await, "user_frozen");
}

async fn a_password_change_revokes_the_keys(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    assert_eq!(
        verify(&app, &gw, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
    app.reauth(&mut alice).await;
    let change =
        json!({ "current_password": alice.password, "new_password": "a whole new passphrase" });
    let (status, body) = app.post(&alice.browser, "/v1/password", change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["api_keys_revoked"], 1, "{body}");
    refused(
        &verify(&app, &gw, &secret, "read", "192.0.2.1").await,
        "revoked",
    );
}

/// Review finding: `keyward user lock` left the user's API keys working.
async fn an_operator_lock_stops_the_keys(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    assert_eq!(
        verify(&app, &gw, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
    let admin = app.service(&app.service_key(&["admin"]).await);
    let (status, locked) = app
        .post(&admin, "/v1/admin/users/alice/lock", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    // The lock bumps the shared API-key epoch; every instance drops its
    // cached keys at its next poll (every 250 ms).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    refused(
        &verify(&app, &gw, &secret, "read", "192.0.2.1").await,
        "user_frozen",
    );
    app.by_two_operators("/v1/admin/users/alice/unlock").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        verify(&app, &gw, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
}
