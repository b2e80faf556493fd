//! What must hold after the kills: checked through the last incarnation's
//! API, then on the database and with the `keyward` CLI once it is dead too.

use std::collections::HashMap;

use keyward_server::Db;

use crate::on_db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::load::{Answer, Ledger, Mode, Shared, User, browser};
use super::{Deployment, KILLS, ORIGIN};
use crate::helpers::assert_problem;

/// Checks against the last incarnation, after all the kills.
/// Returns the status of every step-up created.
pub(super) async fn check_online(
    sh: &Shared,
    ledger: &Ledger,
    users: &[User],
    base: &str,
) -> HashMap<String, String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let got = |answer: Answer, what: &str| match answer {
        Answer::Got(status, body) => (status, body),
        Answer::Lost => panic!("no answer to {what} after the kills"),
    };
    assert!(
        ledger.redeem_oks.values().all(|n| *n == 1),
        "an approval was redeemed twice: {:?}",
        ledger.redeem_oks
    );
    // Every acknowledged approval is still there, and its token still verifies.
    let jwks: JwkSet = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["keyward-step-up"]);
    validation.set_issuer(&[ORIGIN]);
    let mut statuses = HashMap::new();
    for id in &ledger.step_ups {
        let path = format!("/v1/step-ups/{id}");
        let (code, step) = got(sh.send(&sh.service, Method::GET, &path).await, &path);
        assert_eq!(code, StatusCode::OK, "{step}");
        let status = step["status"].as_str().unwrap().to_owned();
        if let Some(token) = ledger.approvals.get(id) {
            assert!(
                ["approved", "redeemed"].contains(&status.as_str()),
                "acknowledged approval {id} is now {status}"
            );
            let kid = decode_header(token).unwrap().kid.unwrap();
            let jwk = jwks.find(&kid).expect("the token's signing key survived");
            let key = DecodingKey::from_jwk(jwk).unwrap();
            let claims = decode::<Value>(token, &key, &validation).unwrap().claims;
            assert_eq!(claims["sid"], id.as_str());
        }
        if ledger.redeem_oks.contains_key(id) {
            assert_eq!(status, "redeemed", "acknowledged redeem of {id} lost");
        }
        statuses.insert(id.clone(), status);
    }
    // Each acknowledged redeem answers already-redeemed now.
    for id in ledger.redeem_oks.keys() {
        let path = format!("/v1/step-ups/{id}/redeem");
        let again = got(sh.send(&sh.service, Method::POST, &path).await, &path);
        assert_problem(&again, StatusCode::CONFLICT, "already-redeemed");
    }
    // No accepted assertion is accepted again: sign-in ceremonies are gone,
    // approved step-ups take no further answer.
    for a in &ledger.accepted {
        match &a.step_up {
            None => {
                let browser = browser();
                let user = &users[a.user];
                let creds = json!({ "username": user.name, "password": user.password });
                let path = "/v1/signin/password";
                let answer = sh
                    .send_json(&browser, Method::POST, path, Some(&creds))
                    .await;
                assert_eq!(got(answer, path).0, StatusCode::OK);
                let path = "/v1/signin/key/verify";
                let answer = sh
                    .send_json(&browser, Method::POST, path, Some(&a.body))
                    .await;
                assert_problem(&got(answer, path), StatusCode::CONFLICT, "ceremony-unknown");
            }
            Some((id, mode)) => {
                let client = match mode {
                    Mode::Browser => &users[a.user].browser,
                    Mode::Api => &sh.service,
                };
                let path = format!("/v1/step-ups/{id}/verify");
                let answer = sh
                    .send_json(client, Method::POST, &path, Some(&a.body))
                    .await;
                assert_problem(
                    &got(answer, &path),
                    StatusCode::CONFLICT,
                    "step-up-not-pending",
                );
            }
        }
    }
    statuses
}

/// Checks on the database once the last incarnation is dead.
pub(super) async fn check_offline(
    deployment: &Deployment,
    ledger: &Ledger,
    statuses: &HashMap<String, String>,
    users: &[(Uuid, Vec<u8>)],
) {
    let out = deployment.cli(&["audit", "verify"]).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "audit verify: {said} {out:?}");
    assert!(said.contains("audit chain intact"), "{said}");
    let out = deployment.cli(&["audit", "export"]).await;
    assert!(out.status.success(), "{out:?}");
    let mut events: HashMap<(String, String), usize> = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if let Some(id) = entry["detail"]["step_up_id"].as_str() {
            let event = entry["event"].as_str().unwrap().to_owned();
            *events.entry((id.to_owned(), event)).or_default() += 1;
        }
    }
    let count = |id: &str, event: &str| {
        events
            .get(&(id.to_owned(), event.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    // No half state, acknowledged or not: each approved step-up has its one
    // approval entry, each redeemed one its one redeem entry, and no other
    // step-up has either.
    for (id, status) in statuses {
        let approved = usize::from(["approved", "redeemed"].contains(&status.as_str()));
        let redeemed = usize::from(status == "redeemed");
        assert_eq!(count(id, "stepup.approved"), approved, "{id} is {status}");
        assert_eq!(count(id, "stepup.redeemed"), redeemed, "{id} is {status}");
    }

    check_counters(deployment, users, &ledger.max_counter).await;
    let db = deployment.open().await;
    // Every accepted ceremony is gone from the store.
    for a in &ledger.accepted {
        let id: Uuid = a.body["ceremony"].as_str().unwrap().parse().unwrap();
        let left: i64 =
            on_db!(&db, c => sqlx::query_scalar("SELECT COUNT(*) FROM ceremonies WHERE id = $1")
            .bind(id).fetch_one(c).await)
            .unwrap();
        assert_eq!(left, 0, "used ceremony {id} still stored");
    }
    close(db).await;
    // No incarnation panicked.
    for n in 0..=KILLS {
        let log = std::fs::read_to_string(deployment.log(n)).unwrap_or_default();
        assert!(
            !log.contains("panicked"),
            "incarnation {n} panicked:\n{log}"
        );
    }
}

/// Counters never went backwards: each stored counter is at least the
/// highest one acknowledged; no key was flagged as cloned.
pub(super) async fn check_counters(
    deployment: &Deployment,
    users: &[(Uuid, Vec<u8>)],
    seen: &HashMap<usize, u32>,
) {
    let db = deployment.open().await;
    for (index, (user_id, credential_id)) in users.iter().enumerate() {
        let keys = keyward_server::store::credentials::for_user(&db, *user_id)
            .await
            .unwrap();
        let key = keys
            .iter()
            .find(|k| &k.credential_id == credential_id)
            .unwrap();
        let seen = seen.get(&index).copied().unwrap_or(0);
        assert!(
            key.sign_count >= i64::from(seen),
            "user{index}: stored counter {} < acknowledged {seen}",
            key.sign_count
        );
        assert!(!key.possibly_cloned, "user{index}'s key flagged as cloned");
    }
    close(db).await;
}

/// Closes the test's own pool, so no connection of it outlives the check.
pub(super) async fn close(db: Db) {
    match db {
        Db::Sqlite(sqlite) => sqlite.close().await,
        Db::Postgres(pool) => pool.close().await,
    }
}
