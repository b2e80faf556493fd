//! The deployment topology with processes: instance A (in this test process)
//! and instance B (a real `keyward serve` process) on one database, different
//! ports, one public origin — as behind a load balancer. Everything that
//! matters is in the database, so either instance can carry on what the
//! other started.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keyward_server::Db;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem, withdrawal};

backend_tests!(two_instances_share_ceremonies_approvals_revocations_freezes_and_throttles);

/// A `keyward serve` child process; killed when dropped.
struct Instance {
    base: String,
    child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts instance B on A's database with A's public origin.
async fn second_instance(a: &TestApp) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut url = a.state.config.database_url();
    if let Db::Postgres(pool) = &a.state.db {
        // Aim B at A's per-test schema.
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await
            .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KEYWARD_")) {
        cmd.env_remove(name);
    }
    let child = cmd
        .arg("serve")
        .env("KEYWARD_DATABASE_URL", &url)
        // Many servers share the suite's PostgreSQL (see helpers.rs).
        .env("KEYWARD_DATABASE_MAX_CONNECTIONS", "6")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_ORIGIN", &a.origin)
        .env("KEYWARD_THROTTLE__FREE_FAILURES", "2")
        // Every instance on one database shares the signing keys' KEK.
        .env(
            "KEYWARD_SIGNING__KEK_FILE",
            a.state.config.data_dir.join("signing.kek"),
        )
        .env("KEYWARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "instance B did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Instance { base, child }
}

async fn post(
    client: &reqwest::Client,
    url: String,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let resp = client.post(url).json(&body).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

async fn two_instances_share_ceremonies_approvals_revocations_freezes_and_throttles(
    backend: Backend,
) {
    let a = TestApp::spawn_with(&backend, |c: &mut keyward_server::Config, _| {
        c.throttle.free_failures = 2
    })
    .await;
    let b = second_instance(&a).await;
    let on_b = |path: &str| format!("{}{path}", b.base);

    // A registration started on A finishes on B (cookies are per host, not per port).
    let mut alice = a.signed_up("alice").await;
    let (_, options) = a
        .post(&alice.browser, "/v1/keys/registration/options", json!({}))
        .await;
    let credential = alice.key.register(&options, &a.origin);
    let body = json!({ "ceremony": options["ceremony"], "label": "k", "credential": credential });
    let (status, key) = post(&alice.browser, on_b("/v1/keys/registration/verify"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");

    // A sign-in: password on B, key options on A, verification on B.
    let browser = a.browser();
    let creds = json!({ "username": "alice", "password": alice.password });
    assert_eq!(
        post(&browser, on_b("/v1/signin/password"), creds).await.0,
        StatusCode::OK
    );
    let (_, options) = a.post(&browser, "/v1/signin/key/options", json!({})).await;
    let credential = alice.key.assert(&options, &a.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    assert_eq!(
        post(&browser, on_b("/v1/signin/key/verify"), body).await.0,
        StatusCode::OK
    );
    alice.browser = browser;

    // A step-up created and approved on A is redeemed on B; 200 concurrent
    // redeems spread over both instances give exactly one success.
    let add = json!({ "network": "bitcoin", "address": crate::helpers::DEST });
    let (_, added) = a.post(&alice.browser, "/v1/addresses", add).await;
    a.approve(
        &mut alice,
        added["step_up"]["id"].as_str().unwrap(),
        &Forge::default(),
    )
    .await;
    let token = a
        .service_key(&["stepup:create", "stepup:read", "stepup:redeem", "admin"])
        .await;
    let svc = a.service(&token);
    // The cooling-off is tested elsewhere; here the address is made usable
    // directly, since B runs on real time and A's clock is the test's.
    let db = &a.state.db;
    crate::on_db!(db, c => sqlx::query("UPDATE withdrawal_addresses SET usable_from = 0").execute(c).await.unwrap().rows_affected());
    let (status, step) = a
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "two-1"))
        .await;
    assert_eq!(
        (status, step["status"].as_str()),
        (StatusCode::CREATED, Some("pending")),
        "{step}"
    );
    let id = step["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.approve(&mut alice, &id, &Forge::default()).await.0,
        StatusCode::OK
    );
    let redeems = (0..200).map(|i| {
        let url = if i % 2 == 0 {
            a.url(&format!("/v1/step-ups/{id}/redeem"))
        } else {
            on_b(&format!("/v1/step-ups/{id}/redeem"))
        };
        let svc = svc.clone();
        async move { post(&svc, url, json!({})).await.0 }
    });
    let results = futures::future::join_all(redeems).await;
    let ok = results.iter().filter(|s| **s == StatusCode::OK).count();
    let conflict = results
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (ok, conflict),
        (1, 199),
        "exactly one redeem across both instances"
    );

    // A freeze set through A is in force on B at once.
    let (status, _) = a
        .post(
            &svc,
            "/v1/admin/withdrawals/freeze",
            json!({ "reason": "drill" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, denied) = post(
        &svc,
        on_b("/v1/step-ups"),
        withdrawal("alice", "1", "two-2"),
    )
    .await;
    assert_eq!(denied["reason"], "withdrawals_frozen");
    a.lift_global_freeze().await;

    // A service key revoked on A is refused on B within a second (B had it cached).
    let status = svc
        .get(on_b(&format!("/v1/step-ups/{id}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let hash =
        keyward_access::token::parse(keyward_access::token::TokenKind::Service, &token).unwrap();
    let row = keyward_server::store::service_keys::by_hash(db, hash.as_bytes())
        .await
        .unwrap()
        .unwrap();
    keyward_server::store::service_keys::revoke(db, row.id, a.state.clock.now())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let status = svc
            .get(on_b(&format!("/v1/step-ups/{id}")))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revoked service key still accepted by B after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Throttling counters are shared: failures on A put B into backoff.
    let wrong = json!({ "username": "alice", "password": "not the password!" });
    let anon = a.browser();
    for _ in 0..3 {
        assert_problem(
            &a.post(&anon, "/v1/signin/password", wrong.clone()).await,
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
        );
    }
    let right = json!({ "username": "alice", "password": alice.password });
    let (status, body) = post(&anon, on_b("/v1/signin/password"), right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}
