//! Security events survive a SIGKILL between commit and delivery: events
//! committed while the webhook receiver is down are pushed by the next
//! incarnation, in order, none lost.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Deployment, ORIGIN};
use crate::events::Receiver;
use crate::helpers::Backend;

pub(super) async fn events_committed_before_a_sigkill_are_pushed_after_restart(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    // The receiver's port, chosen now; nothing listens there until the kill.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[events]\ndeliver_interval_ms = 20\nretry_max_seconds = 1\n\n[[events.webhooks]]\nurl = \"http://127.0.0.1:{port}/events\"\naudience = \"mailer\"\n"
    );
    std::fs::write(deployment.dir.path().join("keyward.toml"), config).unwrap();
    let service = deployment
        .service("mailer", "stepup:read,events:read")
        .await;

    let server = deployment.start(0, &service).await;
    let start = tracked_from(&deployment).await;
    for n in 0..3 {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let body =
            json!({ "username": format!("crash{n}"), "password": "user0-correct-horse-battery" });
        let status = browser
            .post(format!("{}/v1/signup", server.base))
            .header("Origin", ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::CREATED);
    }
    let page: Value = service
        .get(format!("{}/v1/events?after={start}&limit=500", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected: Vec<Value> = page["events"].as_array().unwrap().clone();
    assert!(expected.len() >= 3, "{page}");
    let last = expected.last().unwrap()["seq"].as_i64().unwrap();
    // Failing deliveries (nothing listens) for a while, then the kill.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let receiver = Receiver::on(listener, 0);
    let server = deployment.start(1, &service).await;
    let jwks: Value = service
        .get(format!("{}/.well-known/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pushed = receiver.until(&jwks, last).await;
    let ids: Vec<&Value> = pushed.iter().map(|c| &c["jti"]).collect();
    let wanted: Vec<&Value> = expected.iter().map(|e| &e["jti"]).collect();
    assert_eq!(ids, wanted, "every committed event, in order, once");
}

/// The position the endpoint's delivery starts from, once it is tracked.
async fn tracked_from(deployment: &Deployment) -> i64 {
    for _ in 0..300 {
        let out = deployment.cli(&["events", "status"]).await;
        let text = String::from_utf8(out.stdout).unwrap();
        if let Some(line) = text
            .lines()
            .find(|l| l.trim_start().starts_with("delivered up to:"))
        {
            let n = line.split_whitespace().nth(3).unwrap();
            return n.parse().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook was never tracked");
}
