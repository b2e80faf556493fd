//! Brute-force throttling: attempts counted before they are evaluated,
//! backoff with Retry-After, locks that expire, browsers the account has
//! signed in from kept out of strangers' reach (device cookies), sign-ups
//! and malformed names counted per address, API-mode failures counted
//! against the user and not the service. Counters live in the database.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keyward_server::config::Config;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem, assert_refused, withdrawal};

backend_tests!(
    password_failures_back_off_then_lock_for_the_window_only,
    key_failures_count_too,
    one_ip_guessing_many_accounts_is_throttled,
    concurrent_guesses_never_run_past_the_limit_and_the_owner_still_signs_in,
    a_known_browser_has_its_own_count,
    sign_ups_and_malformed_usernames_are_counted_per_address,
    api_mode_failures_count_against_the_user_not_the_service,
    the_sql_counter_waits_as_the_schedule_says,
);

/// The wait the counting statement writes (in SQL, on each backend) is the
/// one `Schedule::wait_after` describes; a blocked scope counts nothing
/// unless forced; attempts older than the window are forgotten.
async fn the_sql_counter_waits_as_the_schedule_says(b: Backend) {
    use keyward_server::store::throttle::{Schedule, count, get};
    let app = TestApp::spawn(&b).await;
    let db = &app.state.db;
    let s = Schedule {
        free: 2,
        lock_after: 9,
        window_ms: 600_000,
        max_backoff_ms: 5_000,
    };
    // Real times: housekeeping forgets counters older than the window.
    let mut now = app.state.clock.now();
    for n in 1..=11 {
        assert_eq!(count(db, "t:sql", now, s, true).await.unwrap(), Some(n));
        let c = get(db, "t:sql").await.unwrap().unwrap();
        match s.wait_after(n) {
            // No wait: no block at all (not even one ending now).
            0 => assert!(c.blocked_until < now, "after {n}: {c:?}"),
            wait => assert_eq!(c.blocked_until - now, wait, "after {n}"),
        }
        if c.blocked_until > now {
            assert_eq!(
                count(db, "t:sql", now, s, false).await.unwrap(),
                None,
                "blocked at {n}"
            );
            assert_eq!(
                get(db, "t:sql").await.unwrap().unwrap(),
                c,
                "nothing counted"
            );
        }
        now += 1;
    }
    // Past the lock (and the window since the last attempt): from one again.
    now += s.window_ms;
    assert_eq!(count(db, "t:sql", now, s, false).await.unwrap(), Some(1));
}

fn strict(c: &mut Config, _: &std::path::Path) {
    c.throttle.free_failures = 2;
    c.throttle.lock_after = 4;
    c.throttle.ip_free_failures = 1000;
}

/// A browser sending from `ip` (any address in 127.0.0.0/8 is this host).
fn browser_from(app: &TestApp, ip: Ipv4Addr) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, app.origin.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .local_address(IpAddr::V4(ip))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Signs `user` in completely in `browser` (which then holds a device cookie).
async fn sign_in_here(app: &TestApp, browser: &reqwest::Client, user: &mut User) {
    let password = json!({ "username": user.username, "password": user.password });
    let (status, body) = app.post(browser, "/v1/signin/password", password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = app
        .key_step(browser, &mut user.key, &Forge::default())
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn password_failures_back_off_then_lock_for_the_window_only(b: Backend) {
    let app = TestApp::spawn_with(&b, strict).await;
    let u = app.enrolled("th1").await;
    let browser = app.browser();
    let wrong = json!({ "username": "th1", "password": "definitely wrong!" });
    for _ in 0..3 {
        // The third failure starts the backoff.
        assert_problem(
            &app.post(&browser, "/v1/signin/password", wrong.clone())
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
        );
    }
    let right = json!({ "username": "th1", "password": u.password });
    let resp = browser
        .post(app.url("/v1/signin/password"))
        .json(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = retry_after(&resp);
    assert!(retry >= 1);
    // Wait out the backoff; the fourth failure reaches the lock.
    app.advance(Duration::from_secs(retry));
    assert_problem(
        &app.post(&browser, "/v1/signin/password", wrong.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid-credentials",
    );
    // Refused for the window (60 minutes by default), then forgotten.
    app.advance(Duration::from_secs(30 * 60));
    let resp = browser
        .post(app.url("/v1/signin/password"))
        .json(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = retry_after(&resp);
    assert!((29 * 60..=30 * 60).contains(&retry), "{retry}");
    app.advance(Duration::from_secs(retry));
    let got = app.post(&browser, "/v1/signin/password", right).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let events = keyward_server::store::audit::for_user(&app.state.db, u.user_id, 50)
        .await
        .unwrap();
    let locked: Vec<_> = events
        .iter()
        .filter(|e| e.event == "account.locked")
        .collect();
    assert_eq!(locked.len(), 1, "{events:?}");
    assert!(locked[0].detail.contains(r#""scope":"acct""#), "{locked:?}");
}

async fn key_failures_count_too(b: Backend) {
    let app = TestApp::spawn_with(&b, strict).await;
    let mut u = app.enrolled("th2").await;
    let browser = app.password_step(&u).await;
    let bad = Forge {
        tamper_signature: true,
        ..Forge::default()
    };
    for _ in 0..3 {
        assert_refused(
            &app.key_step(&browser, &mut u.key, &bad).await,
            "bad_signature",
        );
    }
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let credential = u.key.assert(&options, &app.origin);
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
}

async fn one_ip_guessing_many_accounts_is_throttled(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.throttle.ip_free_failures = 3;
    })
    .await;
    let u = app.enrolled("victim9").await;
    let browser = app.browser();
    // Spraying one password over many (unknown) accounts from one address.
    for i in 0..4 {
        let got = app
            .post(
                &browser,
                "/v1/signin/password",
                json!({ "username": format!("spray{i}"), "password": "Summer2026!!!!" }),
            )
            .await;
        assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
    }
    let got = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": "victim9", "password": u.password }),
        )
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
}

/// The reproduction from the review: 150 wrong passwords at once from 150
/// addresses. Before, all 150 were evaluated and the owner was locked out
/// for good. Now at most `free_failures + 1` are evaluated (the rest are
/// refused before the hash), and the owner's browser still signs in.
async fn concurrent_guesses_never_run_past_the_limit_and_the_owner_still_signs_in(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("crowd1").await;
    let owner = browser_from(&app, Ipv4Addr::new(127, 0, 9, 1));
    sign_in_here(&app, &owner, &mut u).await;
    let free = app.state.config.throttle.free_failures;

    let guesses = (0..150u8).map(|i| {
        let client = browser_from(&app, Ipv4Addr::new(127, 0, 10, i + 1));
        let url = app.url("/v1/signin/password");
        async move {
            client
                .post(url)
                .json(&json!({ "username": "crowd1", "password": format!("guess number {i}") }))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let evaluated = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(evaluated + refused, 150, "{statuses:?}");
    assert!(
        (1..=usize::try_from(free).unwrap() + 1).contains(&evaluated),
        "{evaluated} guesses evaluated"
    );
    let events = keyward_server::store::audit::for_user(&app.state.db, u.user_id, 500)
        .await
        .unwrap();
    let failed = events
        .iter()
        .filter(|e| e.event == "signin.password_failed")
        .count();
    assert_eq!(
        failed, evaluated,
        "every evaluated guess is audited, no more"
    );

    // What unknown browsers spent is counted on their shared scope (it
    // backs off; its 1 s may have passed by now), and the owner's browser,
    // with its own scope, signs in.
    let counter = keyward_server::store::throttle::get(&app.state.db, "acct:crowd1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.failures, i64::try_from(evaluated).unwrap());
    assert!(counter.blocked_until > 0, "{counter:?}");
    sign_in_here(&app, &owner, &mut u).await;
}

/// A browser with a device cookie counts its own failures: it backs off
/// after its own free failures, and strangers' failures never reach it.
async fn a_known_browser_has_its_own_count(b: Backend) {
    let app = TestApp::spawn_with(&b, strict).await;
    let mut u = app.enrolled("known1").await;
    let owner = app.browser();
    sign_in_here(&app, &owner, &mut u).await;
    // Strangers lock the account for unknown browsers.
    let stranger = app.browser();
    let wrong = json!({ "username": "known1", "password": "not the password" });
    for _ in 0..4 {
        let got = app
            .post(&stranger, "/v1/signin/password", wrong.clone())
            .await;
        assert_ne!(got.0, StatusCode::OK);
        app.advance(Duration::from_secs(20));
    }
    let got = app
        .post(&stranger, "/v1/signin/password", wrong.clone())
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
    // The owner's browser still signs in, and a full sign-in keeps it known.
    sign_in_here(&app, &owner, &mut u).await;
    // Its own mistakes back off as usual: three wrong, then refused.
    for _ in 0..3 {
        assert_problem(
            &app.post(&owner, "/v1/signin/password", wrong.clone()).await,
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
        );
    }
    assert_problem(
        &app.post(&owner, "/v1/signin/password", wrong.clone()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
    );
    // A device cookie for another account, or altered, is a stranger's.
    let mut other = app.enrolled("known2").await;
    let theirs = app.browser();
    sign_in_here(&app, &theirs, &mut other).await;
    let right = json!({ "username": "known1", "password": u.password });
    assert_problem(
        &app.post(&theirs, "/v1/signin/password", right).await,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
    );
}

async fn sign_ups_and_malformed_usernames_are_counted_per_address(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.throttle.signups_per_ip = 2;
        c.throttle.ip_free_failures = 2;
    })
    .await;
    let here = browser_from(&app, Ipv4Addr::new(127, 0, 20, 1));
    let signup =
        |name: &str| json!({ "username": name, "password": "correct horse battery staple" });
    for name in ["many1", "many2", "many3"] {
        let got = app.post(&here, "/v1/signup", signup(name)).await;
        assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    }
    let got = app.post(&here, "/v1/signup", signup("many4")).await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
    let none = keyward_server::store::users::by_name(&app.state.db, "many4")
        .await
        .unwrap();
    assert!(none.is_none(), "a refused sign-up creates nothing");
    // Another address is not affected.
    let there = browser_from(&app, Ipv4Addr::new(127, 0, 20, 2));
    let got = app.post(&there, "/v1/signup", signup("many5")).await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);

    // Names that cannot exist are wrong guesses too.
    let guesser = browser_from(&app, Ipv4Addr::new(127, 0, 20, 3));
    let bad = json!({ "username": "no such name!", "password": "whatever whatever" });
    for _ in 0..3 {
        let got = app.post(&guesser, "/v1/signin/password", bad.clone()).await;
        assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
    }
    let got = app.post(&guesser, "/v1/signin/password", bad).await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
}

/// In API mode the exchange's back end forwards assertions from its own
/// address. Tampered assertions for one user back off that user's API-mode
/// approvals only: not the service's other users, not the user's browser.
async fn api_mode_failures_count_against_the_user_not_the_service(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.throttle.free_failures = 2;
        c.throttle.ip_free_failures = 3;
    })
    .await;
    let mut alice = app.withdrawal_ready("apimode1").await;
    let mut bob = app.withdrawal_ready("apimode2").await;
    let svc = app.service(
        &app.service_key(&["stepup:create", "stepup:approve", "stepup:redeem"])
            .await,
    );
    let tamper = Forge {
        tamper_signature: true,
        ..Forge::default()
    };
    let forward = |user: &'static str, reference: String| {
        let (app, svc) = (&app, &svc);
        async move {
            let (status, body) = app
                .post(svc, "/v1/step-ups", withdrawal(user, "0.1", &reference))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let id = body["id"].as_str().unwrap().to_owned();
            let (status, options) = app
                .post(svc, &format!("/v1/step-ups/{id}/options"), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{options}");
            (id, options)
        }
    };
    // More failures than the service's address would be allowed.
    for i in 0..3 {
        let (id, options) = forward("apimode1", format!("bad-{i}")).await;
        let credential = alice.key.assert_with(&options, &app.origin, &tamper);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        let got = app
            .post(&svc, &format!("/v1/step-ups/{id}/verify"), body)
            .await;
        assert_refused(&got, "bad_signature");
    }
    // Alice's API-mode approvals now back off…
    let (id, options) = forward("apimode1", "good-a".into()).await;
    let credential = alice.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let got = app
        .post(&svc, &format!("/v1/step-ups/{id}/verify"), body)
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
    // …Bob's, through the same service, do not…
    let (id, options) = forward("apimode2", "good-b".into()).await;
    let credential = bob.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let got = app
        .post(&svc, &format!("/v1/step-ups/{id}/verify"), body)
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    // …nor does Alice's own browser (signed in again: Bob's set-up moved
    // the clock a day).
    alice.browser = app.sign_in(&mut alice).await;
    let (status, body) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal("apimode1", "0.1", "browser"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let got = app
        .approve(&mut alice, body["id"].as_str().unwrap(), &Forge::default())
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);

    // A stated end-user address is counted (and must be an address).
    let (id, options) = forward("apimode2", "stated".into()).await;
    let credential = bob.key.assert_with(&options, &app.origin, &tamper);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let bad_header = svc
        .post(app.url(&format!("/v1/step-ups/{id}/verify")))
        .header("Keyward-End-User-IP", "not-an-address")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_header.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stated = svc
        .post(app.url(&format!("/v1/step-ups/{id}/verify")))
        .header("Keyward-End-User-IP", "2001:db8::7")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stated.status(), StatusCode::BAD_REQUEST);
    let counter = keyward_server::store::throttle::get(&app.state.db, "ip:2001:db8::/64")
        .await
        .unwrap();
    assert_eq!(
        counter.map(|c| c.failures),
        Some(1),
        "the stated address was counted"
    );
}
