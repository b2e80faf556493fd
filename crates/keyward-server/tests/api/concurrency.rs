//! More concurrent requests than database connections: every ceremony still
//! completes. (On SQLite, an approval used to read the signing key from the
//! pool while holding its write transaction; with the pool's other
//! connections held by writers queued for the lock, it waited until their
//! busy timeout failed them with "database is locked" — a 500.)

use futures::future::join_all;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, withdrawal};

backend_tests!(approvals_beyond_the_pool_size_all_complete);

/// Users approving at once: three times the most reading connections
/// SQLite has (8), and four times the test servers' PostgreSQL pool (6).
const USERS: usize = 24;

async fn approvals_beyond_the_pool_size_all_complete(b: Backend) {
    let app = TestApp::spawn_with(&b, |c, _| {
        c.withdrawals.address_cooling = std::time::Duration::ZERO
    })
    .await;
    let svc = app.service(&app.service_key(&["stepup:create", "stepup:redeem"]).await);
    let mut users = Vec::new();
    for i in 0..USERS {
        let mut u = app.enrolled(&format!("crowd{i}")).await;
        let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold" });
        let (status, body) = app.post(&u.browser, "/v1/addresses", add).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let id = body["step_up"]["id"].as_str().unwrap().to_owned();
        let (status, body) = app.approve(&mut u, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        users.push(u);
    }
    for round in 0..2 {
        let runs = users.iter_mut().enumerate().map(|(i, u)| {
            let (app, svc) = (&app, &svc);
            async move {
                let body = withdrawal(&u.username, "0.001", &format!("crowd-{round}-{i}"));
                let (status, created) = app.post(svc, "/v1/step-ups", body).await;
                assert_eq!(status, StatusCode::CREATED, "{created}");
                let id = created["id"].as_str().unwrap().to_owned();
                let (status, approved) = app.approve(u, &id, &Forge::default()).await;
                assert_eq!(status, StatusCode::OK, "{}: {approved}", u.username);
                let path = format!("/v1/step-ups/{id}/redeem");
                let (status, redeemed) = app.post(svc, &path, json!({})).await;
                assert_eq!(status, StatusCode::OK, "{redeemed}");
            }
        });
        join_all(runs).await;
    }
}
