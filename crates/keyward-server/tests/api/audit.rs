//! The audit log: events are recorded with their change, users see their
//! own, and the hash chain exposes tampering at the exact row.

use keyward_server::on_db;
use keyward_server::store::audit::verify_chain;
use keyward_testkit::Forge;
use reqwest::StatusCode;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    events_are_recorded_and_private,
    chain_verifies_and_names_the_tampered_row,
    concurrent_appends_keep_the_chain
);

async fn events_are_recorded_and_private(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("usera1").await;
    let browser = app.password_step(&u).await;
    app.key_step(
        &browser,
        &mut u.key,
        &Forge {
            tamper_signature: true,
            ..Forge::default()
        },
    )
    .await;
    app.sign_in(&mut u).await;
    let other = app.enrolled("usera2").await;
    let (status, body) = app.get(&u.browser, "/v1/audit").await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "signin.succeeded",
            "key.assertion_refused",
            "key.enrolled",
            "account.created"
        ],
        "newest first"
    );
    let (_, theirs) = app.get(&other.browser, "/v1/audit").await;
    assert!(
        theirs["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] != "key.assertion_refused")
    );
    let dump = body.to_string();
    assert!(!dump.contains(&u.password), "no secret in the audit log");
}

async fn chain_verifies_and_names_the_tampered_row(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("usera3").await;
    app.sign_in(&mut u).await;
    let db = &app.state.db;
    let total = verify_chain(db).await.unwrap().unwrap();
    assert_eq!(total, 3, "account.created, key.enrolled, signin.succeeded");
    on_db!(db, c => sqlx::query("UPDATE audit_log SET detail = '{\"username\":\"mallory\"}' WHERE seq = 1").execute(c).await.unwrap().rows_affected());
    let broken = verify_chain(db).await.unwrap().unwrap_err();
    assert_eq!(broken.seq, 1);
    on_db!(db, c => sqlx::query("DELETE FROM audit_log WHERE seq = 1").execute(c).await.unwrap().rows_affected());
    assert_eq!(verify_chain(db).await.unwrap().unwrap_err().seq, 1);
}

async fn concurrent_appends_keep_the_chain(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let users = futures::future::join_all((0..8).map(|i| {
        let app = &app;
        async move { app.enrolled(&format!("conc{i}")).await }
    }))
    .await;
    assert_eq!(users.len(), 8);
    let total = verify_chain(&app.state.db).await.unwrap().unwrap();
    assert_eq!(total, 16, "account.created + key.enrolled per user");
}
