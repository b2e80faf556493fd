//! Races the architecture's invariants must survive (issue: adversarial
//! suite). Each test fires the competing requests at once and checks the one
//! outcome the invariant allows. (The same assertion sent N times at once is
//! webauthn_checks::concurrent_submissions_of_one_assertion_accept_one; N
//! concurrent redeems of one approval is stepup_redemption::concurrent_redeems_succeed_once.)

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::future::join_all;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_keys::{new_key, verify};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem, withdrawal};

backend_tests!(
    consecutive_counters_raced_keep_the_highest,
    one_credential_enrolled_by_two_users_at_once,
    api_key_revoked_during_verifies,
    operator_freeze_during_redeems,
);

/// Several sign-in ceremonies answered by one key in order (consecutive
/// counters), submitted at once. Whatever the order of arrival, the stored
/// counter ends at the highest counter, and the assertion carrying it is
/// accepted — a lower counter can never overwrite a higher one.
async fn consecutive_counters_raced_keep_the_highest(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("racer").await;
    let cred = u.key.credential_ids()[0].clone();
    for round in 0..4 {
        let mut submissions = Vec::new();
        for _ in 0..3 {
            let browser = app.password_step(&u).await;
            let (_, options) = app
                .post(&browser, "/v1/signin/key/options", json!({}))
                .await;
            let credential = u.key.assert(&options, &app.origin);
            let counter = u.key.counter(&cred).unwrap();
            let body = json!({ "ceremony": options["ceremony"], "credential": credential });
            submissions.push((browser, counter, body));
        }
        let highest = submissions.iter().map(|s| s.1).max().unwrap();
        let results =
            join_all(submissions.iter().map(|(browser, _, body)| {
                app.post(browser, "/v1/signin/key/verify", body.clone())
            }))
            .await;
        for ((_, counter, _), (status, body)) in submissions.iter().zip(&results) {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::BAD_REQUEST,
                "round {round}: counter {counter}: {status} {body}"
            );
            if *counter == highest {
                assert_eq!(
                    *status,
                    StatusCode::OK,
                    "the highest counter must win: {body}"
                );
            }
        }
        let stored = app.snapshot(u.user_id).await.keys[0].1;
        assert_eq!(stored, i64::from(highest), "round {round}: {results:?}");
    }
}

/// Two users enrol the same credential id at the same moment: one wins, the
/// other gets 409 credential-exists, and only one key row exists.
async fn one_credential_enrolled_by_two_users_at_once(b: Backend) {
    let app = TestApp::spawn(&b).await;
    for round in 0..4 {
        let mut alice = app.signed_up(&format!("twina{round}")).await;
        let mut bob = app.signed_up(&format!("twinb{round}")).await;
        let mut bodies = Vec::new();
        let mut forge = Forge::default();
        for user in [&mut alice, &mut bob] {
            let (status, options) = app
                .post(&user.browser, "/v1/keys/registration/options", json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{options}");
            let credential = user.key.register_with(&options, &app.origin, &forge);
            // Bob's key claims the id Alice's key just made.
            forge.credential_id = Some(user.key.credential_ids()[0].clone());
            bodies.push(json!({ "ceremony": options["ceremony"], "label": "Twin", "credential": credential }));
        }
        let (a, b) = futures::join!(
            app.post(
                &alice.browser,
                "/v1/keys/registration/verify",
                bodies[0].clone()
            ),
            app.post(
                &bob.browser,
                "/v1/keys/registration/verify",
                bodies[1].clone()
            ),
        );
        let outcomes = [&a, &b];
        let won = outcomes
            .iter()
            .filter(|r| r.0 == StatusCode::CREATED)
            .count();
        assert_eq!(won, 1, "exactly one enrolment wins: {a:?} {b:?}");
        let lost = outcomes
            .iter()
            .find(|r| r.0 != StatusCode::CREATED)
            .unwrap();
        assert_problem(lost, StatusCode::CONFLICT, "credential-exists");
        let keys = app.snapshot(alice.user_id).await.keys.len()
            + app.snapshot(bob.user_id).await.keys.len();
        assert_eq!(keys, 1, "one key row for one credential id");
    }
}

/// Verifications keep arriving while the user revokes the key. Any verify
/// sent after the revocation answered must be refused (`revoked`); those
/// before may pass. Nothing else (no 500, no other reason).
async fn api_key_revoked_during_verifies(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(&["apikeys:verify"]).await);
    let key = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read"] }),
    )
    .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let id = key["id"].as_str().unwrap().to_owned();

    let passed = AtomicUsize::new(0);
    let revoked = OnceLock::<Instant>::new();
    let verifier = |worker: usize| {
        let (app, gw, secret, passed, revoked) =
            (&app, gw.clone(), secret.clone(), &passed, &revoked);
        async move {
            let mut seen = Vec::new();
            let mut after = 0;
            for i in 0.. {
                let ip = format!("192.0.2.{}", 1 + (worker * 50 + i) % 200);
                let sent = Instant::now();
                let got = verify(app, &gw, &secret, "read", &ip).await;
                if got.0 == StatusCode::OK {
                    passed.fetch_add(1, Ordering::SeqCst);
                }
                seen.push((sent, got));
                if revoked.get().is_some_and(|at| sent > *at) {
                    after += 1;
                    if after == 10 {
                        break;
                    }
                }
            }
            seen
        }
    };
    let revoker = async {
        // Revoke once verifications are passing on every worker's heels.
        while passed.load(Ordering::SeqCst) < 40 {
            tokio::task::yield_now().await;
        }
        let got = app
            .delete(&alice.browser, &format!("/v1/api-keys/{id}"))
            .await;
        assert_eq!(got.0, StatusCode::NO_CONTENT, "{got:?}");
        revoked.set(Instant::now()).unwrap();
    };
    let ((), seen) = futures::join!(revoker, join_all((0..4).map(verifier)));
    let revoked_at = *revoked.get().unwrap();
    let seen: Vec<_> = seen.into_iter().flatten().collect();
    let after: Vec<_> = seen.iter().filter(|(sent, _)| *sent > revoked_at).collect();
    assert!(
        after.len() >= 40,
        "every worker verifies after the revocation"
    );
    let passed = seen
        .iter()
        .filter(|(_, got)| got.0 == StatusCode::OK)
        .count();
    eprintln!(
        "{passed} verifications passed, {} sent after the revocation",
        after.len()
    );
    // After the revocation answered: refused as revoked, or throttled (the
    // failures count against the key prefix) — never accepted.
    for (_, (status, body)) in &after {
        assert!(
            (*status == StatusCode::FORBIDDEN && body["reason"] == "revoked")
                || *status == StatusCode::TOO_MANY_REQUESTS,
            "after revocation: {status} {body}"
        );
    }
    for (_, (status, body)) in &seen {
        assert!(
            *status == StatusCode::OK
                || body["reason"] == "revoked"
                || *status == StatusCode::TOO_MANY_REQUESTS,
            "only passes, `revoked` or throttled: {status} {body}"
        );
    }
}

/// An operator freeze lands while approved withdrawals are being redeemed.
/// Every redeem that succeeded committed before the freeze (its audit entry
/// precedes the freeze in the hash chain, which is commit order); every one
/// after it is refused with `withdrawals_frozen`; none is lost or doubled.
async fn operator_freeze_during_redeems(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(
        &app.service_key(&["stepup:create", "stepup:read", "stepup:redeem"])
            .await,
    );
    let admin = app.service(&app.service_key(&["admin"]).await);
    let mut ids = Vec::new();
    for i in 0..16 {
        let (status, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                withdrawal("alice", "0.01", &format!("race-{i}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{step}");
        let id = step["id"].as_str().unwrap().to_owned();
        let (status, body) = app.approve(&mut alice, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(id);
    }
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/v1/step-ups/{id}/redeem"))
        .collect();
    let redeems = join_all(paths.iter().map(|path| app.post(&svc, path, json!({}))));
    let freeze = async {
        tokio::task::yield_now().await;
        app.post(
            &admin,
            "/v1/admin/withdrawals/freeze",
            json!({ "reason": "race test" }),
        )
        .await
    };
    let (results, frozen) = futures::join!(redeems, freeze);
    assert_eq!(frozen.0, StatusCode::OK, "{frozen:?}");

    let db = &app.state.db;
    let chain = keyward_server::store::audit::page(db, 1, 10_000)
        .await
        .unwrap();
    let freeze_seq = chain
        .iter()
        .find(|e| e.event == "withdrawals.frozen")
        .map(|e| e.seq)
        .unwrap();
    for (id, (status, body)) in ids.iter().zip(&results) {
        let redeemed_seq = chain
            .iter()
            .find(|e| e.event == "stepup.redeemed" && e.detail.contains(id.as_str()))
            .map(|e| e.seq);
        match *status {
            StatusCode::OK => {
                let seq = redeemed_seq.expect("a redeem is audited");
                assert!(
                    seq < freeze_seq,
                    "{id} redeemed at {seq} after the freeze at {freeze_seq}"
                );
            }
            _ => {
                assert_problem(
                    &(*status, body.clone()),
                    StatusCode::CONFLICT,
                    "policy-refused",
                );
                assert_eq!(body["reason"], "withdrawals_frozen", "{body}");
                assert_eq!(redeemed_seq, None, "{id} refused yet audited as redeemed");
                let (_, view) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
                assert_ne!(view["status"], "redeemed", "{view}");
            }
        }
    }
    let redeemed_events = chain
        .iter()
        .filter(|e| e.event == "stepup.redeemed")
        .count();
    let ok = results.iter().filter(|r| r.0 == StatusCode::OK).count();
    assert_eq!(redeemed_events, ok, "one audit entry per successful redeem");
    eprintln!("{ok} of {} redeems committed before the freeze", ids.len());
}
