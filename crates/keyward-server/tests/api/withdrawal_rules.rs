//! Withdrawal policy gaps from the review: allow-list addresses checked per
//! network before the key touch, the memo part of an entry, the hold
//! delaying a new address's cooling-off, and no address approved while
//! withdrawals are frozen.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, User, assert_problem};

backend_tests!(
    addresses_are_checked_per_network_before_the_key_touch,
    a_hold_delays_the_cooling_off_of_a_new_address,
    no_address_is_approved_while_withdrawals_are_frozen,
    the_memo_is_part_of_the_entry,
    no_redeem_to_an_address_removed_before_it,
);

async fn add(app: &TestApp, user: &User, network: &str, address: &str) -> (StatusCode, Value) {
    let body = json!({ "network": network, "address": address, "label": "x" });
    app.post(&user.browser, "/v1/addresses", body).await
}

async fn addresses_are_checked_per_network_before_the_key_touch(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.enrolled("alice").await;
    let eth = "0x52908400098527886E0F7030069857D2E4169EE7";
    let refused = [
        // Before: accepted, and its cooling-off started.
        ("bitcoin", eth, "address"),
        (
            "bitcoin",
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlj",
            "address",
        ), // checksum
        (
            "bitcoin",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "address",
        ), // testnet
        ("ethereum", DEST, "address"),
        (
            "ethereum",
            "0x52908400098527886E0F7030069857D2E4169Ee7",
            "address",
        ), // EIP-55
        ("dogecoin", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", "network"),
    ];
    for (network, address, field) in refused {
        let got = add(&app, &alice, network, address).await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
        assert_eq!(got.1["field"], field, "{network} {address}: {}", got.1);
    }
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    let pending = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "stepup.pending")
        .count();
    assert_eq!(pending, 0, "no step-up was asked for: {audit}");
    for (network, address) in [("bitcoin", DEST), ("ethereum", eth)] {
        let got = add(&app, &alice, network, address).await;
        assert_eq!(got.0, StatusCode::ACCEPTED, "{network}: {}", got.1);
    }
}

async fn a_hold_delays_the_cooling_off_of_a_new_address(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    // Unfreezing starts a 24-hour hold.
    assert!(
        app.post(&alice.browser, "/v1/freeze", json!({}))
            .await
            .0
            .is_success()
    );
    app.reauth(&mut alice).await;
    let (status, body) = app.post(&alice.browser, "/v1/unfreeze", json!({})).await;
    assert!(status.is_success(), "{body}");
    let (_, state) = app.get(&alice.browser, "/v1/withdrawal-status").await;
    let hold_until = state["held_until"].as_str().unwrap().to_owned();
    let (status, body) = add(&app, &alice, "bitcoin", DEST).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app.approve(&mut alice, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    let usable_from = list["addresses"][0]["usable_from"]
        .as_str()
        .unwrap_or_else(|| panic!("{list} {state}"));
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
    };
    // The 24-hour cooling-off counts from the end of the hold (before, from now).
    assert_eq!(
        at(usable_from) - at(&hold_until),
        time::Duration::hours(24),
        "{usable_from} vs hold until {hold_until}"
    );
}

async fn no_address_is_approved_while_withdrawals_are_frozen(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let (status, body) = add(&app, &alice, "bitcoin", DEST).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let first = body["step_up"]["id"].as_str().unwrap().to_owned();
    // The user freezes after asking: the pending addition cannot be approved.
    assert!(
        app.post(&alice.browser, "/v1/freeze", json!({}))
            .await
            .0
            .is_success()
    );
    let got = app.approve(&mut alice, &first, &Forge::default()).await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(got.1["reason"], "account_frozen", "{}", got.1);
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    assert_eq!(list["addresses"].as_array().unwrap().len(), 0, "{list}");

    // The operator's freeze stops it too.
    app.reauth(&mut alice).await;
    assert!(
        app.post(&alice.browser, "/v1/unfreeze", json!({}))
            .await
            .0
            .is_success()
    );
    let admin = app.service(&app.service_key(&["admin"]).await);
    let freeze = json!({ "reason": "incident" });
    assert!(
        app.post(&admin, "/v1/admin/withdrawals/freeze", freeze)
            .await
            .0
            .is_success()
    );
    let got = app.approve(&mut alice, &first, &Forge::default()).await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(got.1["reason"], "withdrawals_frozen", "{}", got.1);
    // Lifted: the same pending addition can now be approved.
    app.lift_global_freeze().await;
    let got = app.approve(&mut alice, &first, &Forge::default()).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

/// Review finding: a memo / destination tag was not part of an allow-list
/// entry, so an entry for an exchange's shared deposit address allowed
/// withdrawals to anyone's account there.
async fn the_memo_is_part_of_the_entry(b: Backend) {
    use keyward_server::config::AssetConfig;
    use keyward_server::domain::address::{AddressFormat, Alphabet, NetworkConfig};
    let app = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        c.withdrawals.address_cooling = std::time::Duration::ZERO;
        let ripple = NetworkConfig {
            alphabet: Some(Alphabet::Base58),
            prefix: "r".into(),
            min_length: 25,
            max_length: 35,
            memo: true,
            ..NetworkConfig::of(AddressFormat::Declared)
        };
        c.networks.insert("ripple".into(), ripple);
        let xrp = AssetConfig {
            decimals: 6,
            daily_limit: None,
        };
        c.assets.insert("XRP".into(), xrp);
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let shared = "rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv";
    let with_memo =
        json!({ "network": "ripple", "address": shared, "memo": "4711", "label": "exchange" });
    let (status, body) = app.post(&alice.browser, "/v1/addresses", with_memo).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body["step_up"]["details"]["memo"], "4711",
        "the user approves the memo"
    );
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app.approve(&mut alice, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    assert_eq!(list["addresses"][0]["memo"], "4711", "{list}");
    // A network without memos refuses one.
    let btc = json!({ "network": "bitcoin", "address": DEST, "memo": "4711" });
    let got = app.post(&alice.browser, "/v1/addresses", btc).await;
    assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(got.1["field"], "memo");
    // Withdrawals: only with the entry's memo.
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let ask = |memo: Option<&str>, reference: &str| {
        let mut details = json!({ "asset": "XRP", "network": "ripple", "amount": "10",
            "destination": shared, "client_reference": reference });
        if let Some(memo) = memo {
            details["memo"] = json!(memo);
        }
        json!({ "user": "alice", "action": "withdrawal", "details": details })
    };
    for (memo, reference, status, reason) in [
        (Some("4711"), "m-1", "pending", Value::Null),
        (Some("4712"), "m-2", "denied", json!("address_not_allowed")),
        (None, "m-3", "denied", json!("address_not_allowed")),
    ] {
        let (code, step) = app.post(&svc, "/v1/step-ups", ask(memo, reference)).await;
        assert_eq!(code, StatusCode::CREATED, "{step}");
        assert_eq!(step["status"], status, "{memo:?}: {step}");
        assert_eq!(step["reason"], reason, "{memo:?}: {step}");
    }
}

/// Review finding: address removal did not take the user lock, so on
/// PostgreSQL a redeem could pass on an allow-list read before a removal
/// that committed first. Every redeem that succeeds is ordered before the
/// removal in the audit chain.
async fn no_redeem_to_an_address_removed_before_it(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(&["stepup:create", "stepup:redeem"]).await);
    let mut paths = Vec::new();
    for i in 0..16 {
        let (status, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                crate::helpers::withdrawal("alice", "0.01", &format!("rm-{i}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{step}");
        let id = step["id"].as_str().unwrap().to_owned();
        let (status, body) = app.approve(&mut alice, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        paths.push((id.clone(), format!("/v1/step-ups/{id}/redeem")));
    }
    let (_, list) = app.get(&alice.browser, "/v1/addresses").await;
    let address = list["addresses"][0]["id"].as_str().unwrap().to_owned();
    let redeems = futures::future::join_all(
        paths
            .iter()
            .map(|(_, path)| app.post(&svc, path, json!({}))),
    );
    let remove = async {
        tokio::task::yield_now().await;
        app.delete(&alice.browser, &format!("/v1/addresses/{address}"))
            .await
    };
    let (results, removed) = futures::join!(redeems, remove);
    assert_eq!(removed.0, StatusCode::NO_CONTENT, "{removed:?}");
    let chain = keyward_server::store::audit::page(&app.state.db, 1, 10_000)
        .await
        .unwrap();
    let removed_at = chain
        .iter()
        .find(|e| e.event == "address.removed")
        .map(|e| e.seq)
        .unwrap();
    for ((id, _), (status, body)) in paths.iter().zip(&results) {
        if *status == StatusCode::OK {
            let seq = chain
                .iter()
                .find(|e| e.event == "stepup.redeemed" && e.detail.contains(id.as_str()))
                .map(|e| e.seq)
                .unwrap();
            assert!(
                seq < removed_at,
                "{id} redeemed at {seq}, after the removal at {removed_at}"
            );
        } else {
            assert_problem(
                &(*status, body.clone()),
                StatusCode::CONFLICT,
                "policy-refused",
            );
        }
    }
}
