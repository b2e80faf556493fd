//! Issue 16's property, from the exchange's side: with keyward-client's
//! `Verifier` and a pinned chain, an attacker who writes Keyward's database
//! cannot get a withdrawal verified without a touch of the user's own key.
//! Each test is an attack that must fail (and the happy path that must not).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_client::{Error, KeywardClient, MemoryPins, Verifier};
use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, User};

backend_tests!(
    a_second_key_approves_and_the_exchange_verifies_from_the_redeem_alone,
    a_credential_planted_in_the_database_is_refused,
    an_approved_row_written_with_another_key_is_refused,
    details_changed_in_the_database_are_refused,
    a_chain_started_again_is_reported_not_followed,
    a_recovered_account_restarts_its_chain_visibly,
    the_chain_is_served_to_services,
);

fn details(amount: &str, reference: &str) -> Value {
    json!({ "asset": "BTC", "network": "bitcoin", "amount": amount,
            "destination": DEST, "client_reference": reference })
}

/// The exchange: its Keyward client and its verifier, pins in memory.
struct Exchange {
    client: KeywardClient,
    verifier: Verifier,
}

async fn exchange(app: &TestApp) -> Exchange {
    let key = app
        .service_key(&["stepup:create", "stepup:read", "stepup:redeem"])
        .await;
    Exchange {
        client: KeywardClient::new(&app.url(""), &key).unwrap(),
        verifier: Verifier::new(
            &app.state.config.rp_id,
            &app.origin,
            Arc::new(MemoryPins::default()),
        ),
    }
}

/// The exchange asks for a withdrawal of `amount`; returns the step-up id.
async fn ask(ex: &Exchange, user: &User, amount: &str, reference: &str) -> Uuid {
    let step_up = ex
        .client
        .create_step_up(&user.username, "withdrawal", details(amount, reference))
        .await
        .unwrap();
    assert_eq!(step_up.status.as_str(), "pending", "{step_up:?}");
    step_up.id
}

/// Redeems and verifies as the exchange does before paying.
async fn redeem(
    ex: &Exchange,
    user: &User,
    id: Uuid,
    amount: &str,
    reference: &str,
) -> Result<(), Error> {
    let asked = details(amount, reference);
    ex.client
        .redeem_verified(id, &user.username, "withdrawal", &asked, &ex.verifier)
        .await
        .map(|_| ())
}

/// The user approves `id` with the key in hand.
async fn approve(app: &TestApp, user: &mut User, id: Uuid) {
    let (status, body) = app.approve(user, &id.to_string(), &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A user whose first withdrawal the exchange verified (and so pinned).
async fn pinned(app: &TestApp, ex: &Exchange, name: &str) -> User {
    let mut user = app.withdrawal_ready(name).await;
    let id = ask(ex, &user, "0.1", "first").await;
    approve(app, &mut user, id).await;
    redeem(ex, &user, id, "0.1", "first").await.unwrap();
    user
}

/// An attacker's key, enrolled on an account of their own but made for
/// `victim` (it answers with the victim's user handle): its stored row.
async fn attackers_key(
    app: &TestApp,
    victim: &User,
) -> (SoftKey, keyward_server::store::credentials::CredentialRow) {
    let mut mallory = app.signed_up("mallory").await;
    let (status, mut options) = app
        .post(&mallory.browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options["publicKey"]["user"]["id"] = URL_SAFE_NO_PAD.encode(victim.user_id.as_bytes()).into();
    let credential = mallory.key.register(&options, &app.origin);
    let body =
        json!({ "ceremony": options["ceremony"], "label": "Mallory", "credential": credential });
    let (status, body) = app
        .post(&mallory.browser, "/v1/keys/registration/verify", body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let row = keyward_server::store::credentials::for_user(&app.state.db, mallory.user_id)
        .await
        .unwrap()
        .remove(0);
    (mallory.key, row)
}

/// [`attackers_key`], moved onto the victim's account in the database.
async fn planted_key(
    app: &TestApp,
    victim: &User,
) -> (SoftKey, keyward_server::store::credentials::CredentialRow) {
    let (key, row) = attackers_key(app, victim).await;
    let to_victim =
        "UPDATE credentials SET user_id = (SELECT id FROM users WHERE username = $1) WHERE id = $2";
    sql(app, to_victim, row.id, &victim.username).await;
    (key, row)
}

async fn sql(app: &TestApp, statement: &str, id: Uuid, text: &str) {
    use keyward_server::db::Db;
    match &app.state.db {
        Db::Sqlite(s) => {
            sqlx::query(statement)
                .bind(text)
                .bind(id)
                .execute(&s.pool)
                .await
                .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(statement)
                .bind(text)
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        }
    }
}

async fn a_second_key_approves_and_the_exchange_verifies_from_the_redeem_alone(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let mut alice = app.withdrawal_ready("alice").await;
    // A second key, endorsed by the first; the hold it starts passes.
    alice.new_key(SoftKey::new());
    let (status, body) = app.enrol(&mut alice, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.advance(Duration::from_secs(25 * 3600));
    alice.browser = app.sign_in(&mut alice).await;
    let id = ask(&ex, &alice, "0.25", "payout-1").await;
    approve(&app, &mut alice, id).await;
    // From scratch (no pin): the redeem's evidence alone verifies.
    let (redeemed, verified) = ex
        .client
        .redeem_verified(
            id,
            "alice",
            "withdrawal",
            &details("0.25", "payout-1"),
            &ex.verifier,
        )
        .await
        .unwrap();
    assert_eq!(verified.chain.seq, 1, "genesis and the endorsed addition");
    assert_eq!(verified.key.credential_id, alice.key.credential_ids()[0]);
    let evidence = redeemed.evidence.unwrap();
    let claims_head = evidence.key_chain.last().map(|e| e.hash.clone());
    assert_eq!(claims_head.as_deref(), Some(verified.chain.head.as_str()));
    // The first key approves too, against the pin now kept.
    alice.previous_key();
    let id = ask(&ex, &alice, "0.3", "payout-2").await;
    approve(&app, &mut alice, id).await;
    redeem(&ex, &alice, id, "0.3", "payout-2").await.unwrap();
}

async fn a_credential_planted_in_the_database_is_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let mut alice = pinned(&app, &ex, "alice").await;
    // The attacker moves their key onto alice's account in the database.
    let (key, row) = planted_key(&app, &alice).await;
    let planted = keyward_server::store::credentials::for_user(&app.state.db, alice.user_id)
        .await
        .unwrap();
    assert!(planted.iter().any(|k| k.id == row.id), "planted");
    // Keyward (its database written) accepts the attacker's approval...
    let id = ask(&ex, &alice, "5", "drain").await;
    let own = std::mem::replace(&mut alice.key, key);
    approve(&app, &mut alice, id).await;
    alice.key = own;
    // ...the exchange does not: that key is not in alice's chain.
    refused(
        redeem(&ex, &alice, id, "5", "drain").await,
        "key_not_in_chain",
    );
}

async fn an_approved_row_written_with_another_key_is_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let alice = pinned(&app, &ex, "alice").await;
    let (mut key, row) = attackers_key(&app, &alice).await;
    let id = ask(&ex, &alice, "5", "drain").await;
    // The attacker signs the step-up's real challenge with their own key
    // and writes the row approved, evidence and chain head included.
    let stored = keyward_server::store::step_ups::get(&app.state.db, id)
        .await
        .unwrap()
        .unwrap();
    let challenge = keyward_server::flows::step_ups::approval::challenge_of(&stored).unwrap();
    let options = json!({ "publicKey": {
        "challenge": URL_SAFE_NO_PAD.encode(challenge),
        "rpId": app.state.config.rp_id,
        "allowCredentials": [],
        "userVerification": "required",
    }});
    let answer = key.assert(&options, &app.origin);
    let field = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(answer["response"][name].as_str().unwrap())
            .unwrap()
    };
    let stored_key = keyward_fido::credential::key_from_json(&row.key_json).unwrap();
    let evidence = keyward_fido::AssertionEvidence {
        credential_id: row.credential_id.clone(),
        authenticator_data: field("authenticatorData"),
        client_data_json: field("clientDataJSON"),
        signature: field("signature"),
        public_key: keyward_fido::public_key_of(&stored_key).unwrap(),
    };
    let head = keyward_server::store::key_chain::all(&app.state.db, alice.user_id)
        .await
        .unwrap()
        .last()
        .map(|e| e.hash.clone())
        .unwrap();
    sql(
        &app,
        "UPDATE step_ups SET evidence = $1 WHERE id = $2",
        id,
        &serde_json::to_string(&evidence).unwrap(),
    )
    .await;
    sql(
        &app,
        "UPDATE step_ups SET chain_head = $1 WHERE id = $2",
        id,
        &head,
    )
    .await;
    let now = app.state.clock.now();
    sql(
        &app,
        &format!("UPDATE step_ups SET status = $1, approved_at = {now}, approval_expires_at = {}, user_verified = TRUE WHERE id = $2", now + 600_000),
        id,
        "approved",
    )
    .await;
    refused(
        redeem(&ex, &alice, id, "5", "drain").await,
        "key_not_in_chain",
    );
}

async fn details_changed_in_the_database_are_refused(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let mut alice = pinned(&app, &ex, "alice").await;
    // Alice approves 0.5 BTC; the attacker then makes the row say 9.
    let id = ask(&ex, &alice, "0.5", "payout").await;
    approve(&app, &mut alice, id).await;
    make_it_9(&app, id).await;
    // The exchange pays what it asked for, 0.5, and its digest differs
    // from what the row now says...
    refused(
        redeem(&ex, &alice, id, "0.5", "payout").await,
        "details_differ",
    );
    // ...and had it trusted the row's 9, alice's signature would not cover it.
    let id = ask(&ex, &alice, "0.5", "payout-again").await;
    approve(&app, &mut alice, id).await;
    make_it_9(&app, id).await;
    refused(
        redeem(&ex, &alice, id, "9", "payout-again").await,
        "assertion_invalid",
    );
}

/// The attacker edits an approved 0.5 BTC step-up to say 9, its digest
/// recomputed to match.
async fn make_it_9(app: &TestApp, id: Uuid) {
    let stored = keyward_server::store::step_ups::get(&app.state.db, id)
        .await
        .unwrap()
        .unwrap();
    let changed = stored
        .details
        .replace("\"amount\":\"0.5\"", "\"amount\":\"9\"");
    assert_ne!(changed, stored.details);
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(changed.as_bytes()));
    let set_details = "UPDATE step_ups SET details = $1 WHERE id = $2";
    sql(app, set_details, id, &changed).await;
    sql(
        app,
        "UPDATE step_ups SET digest = $1 WHERE id = $2",
        id,
        &digest,
    )
    .await;
}

/// The exchange's check refused the approval for `reason`.
fn refused(result: Result<(), Error>, reason: &str) {
    match result {
        Err(Error::Unverified { reason: why, .. }) => assert_eq!(why, reason),
        other => panic!("{other:?}"),
    }
}

async fn a_chain_started_again_is_reported_not_followed(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let mut alice = pinned(&app, &ex, "alice").await;
    // The attacker plants their key and starts alice's chain again with it
    // (a well-formed chain of its own).
    let (key, row) = planted_key(&app, &alice).await;
    let stored_key = keyward_fido::credential::key_from_json(&row.key_json).unwrap();
    let record =
        keyward_server::flows::key_chain::record(&row.credential_id, &stored_key, None, None)
            .unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    keyward_server::flows::key_chain::start(
        &mut tx,
        alice.user_id,
        vec![(record, None)],
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = ask(&ex, &alice, "5", "drain").await;
    alice.key = key;
    approve(&app, &mut alice, id).await;
    match redeem(&ex, &alice, id, "5", "drain").await {
        Err(Error::ChainRestarted { restarted_from, .. }) => assert!(restarted_from.is_some()),
        other => panic!("{other:?}"),
    }
}

async fn the_chain_is_served_to_services(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    alice.new_key(SoftKey::new());
    assert_eq!(
        app.enrol(&mut alice, Forge::default()).await.0,
        StatusCode::CREATED
    );
    let reader = app.service(&app.service_key(&["stepup:read"]).await);
    let (status, body) = app.get(&reader, "/v1/users/alice/key-chain").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["statement"]["action"], "add");
    assert_eq!(body["head"], entries[1]["hash"]);
    // Other scopes, no key, and unknown users are refused.
    let creator = app.service(&app.service_key(&["stepup:create"]).await);
    assert_eq!(
        app.get(&creator, "/v1/users/alice/key-chain").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&app.browser(), "/v1/users/alice/key-chain").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&reader, "/v1/users/nobody/key-chain").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn a_recovered_account_restarts_its_chain_visibly(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let ex = exchange(&app).await;
    let mut alice = pinned(&app, &ex, "alice").await;
    // Alice loses her key: a code and her password start a recovery, which
    // completes after the delay; she enrols a new key.
    let codes = crate::recovery::codes(&app, &mut alice).await;
    let (status, started) = crate::recovery::start(&app, &alice, &codes[0]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    app.advance(Duration::from_secs(72 * 3600));
    let browser = app.browser();
    let (status, done) = crate::recovery::complete(&app, &browser, &alice, &started["token"]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    alice.browser = browser;
    alice.key = SoftKey::new();
    assert_eq!(
        app.enrol(&mut alice, Forge::default()).await.0,
        StatusCode::CREATED
    );
    // Past the recovery's hold, she approves a withdrawal with the new key.
    app.advance(Duration::from_secs(8 * 24 * 3600));
    alice.browser = app.sign_in(&mut alice).await;
    let id = ask(&ex, &alice, "0.2", "after-recovery").await;
    approve(&app, &mut alice, id).await;
    let redeemed = ex.client.redeem(id).await.unwrap();
    let evidence = redeemed.evidence.unwrap();
    let asked = details("0.2", "after-recovery");
    // The exchange is told, not silently moved to the new chain...
    match ex.verifier.verify("alice", "withdrawal", &asked, &evidence) {
        Err(Error::ChainRestarted {
            recovered,
            restarted_from,
            ..
        }) => {
            assert!(recovered, "the new genesis says it follows a recovery");
            assert!(restarted_from.is_some());
        }
        other => panic!("{other:?}"),
    }
    // ...and pins it only when it chooses to (after asking alice).
    let verified = ex
        .verifier
        .accept_restart("alice", "withdrawal", &asked, &evidence)
        .unwrap();
    assert_eq!(verified.chain.seq, 0);
    ex.verifier
        .verify("alice", "withdrawal", &asked, &evidence)
        .unwrap();
}
