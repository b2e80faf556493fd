//! keyward-client waiting for an approval by security event (issue 19's
//! last client item): against a real server, the wait ends on the
//! approval's event, on a decline, at expiry, or at its timeout, and an
//! event that does not verify ends it with an error — through a real man in
//! the middle that alters the tokens it relays.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use keyward_client::{Error, KeywardClient, StepUpStatus, TokenError};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, withdrawal};

backend_tests!(
    the_client_waits_for_an_approval_by_events,
    a_wait_by_events_ends_at_its_timeout_a_decline_or_expiry,
    a_wait_by_events_refuses_events_it_cannot_verify,
);

/// The scopes a payout service waiting by events needs.
const SCOPES: [&str; 3] = ["stepup:create", "stepup:read", "events:read"];
/// The service key's name: the events' audience.
const NAME: &str = "payouts";

/// A client for `app` with a new `payouts` key.
async fn client_of(app: &TestApp) -> Arc<KeywardClient> {
    let token = app.named_service_key(NAME, &SCOPES).await;
    client_at(app, &app.url(""), &token)
}

/// A client for `base` (`app` or a relay before it) with `token`,
/// expecting `app`'s issuer.
fn client_at(app: &TestApp, base: &str, token: &str) -> Arc<KeywardClient> {
    let client = KeywardClient::new(base, token)
        .unwrap()
        .with_issuer(app.state.config.issuer());
    Arc::new(client)
}

/// Asks for a withdrawal by alice; its id (pending).
async fn ask(client: &KeywardClient, reference: &str) -> Uuid {
    let body = withdrawal("alice", "0.1", reference);
    let step_up = client
        .create_step_up("alice", "withdrawal", body["details"].clone())
        .await
        .unwrap();
    assert_eq!(step_up.status, StepUpStatus::Pending, "{step_up:?}");
    step_up.id
}

async fn the_client_waits_for_an_approval_by_events(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let client = client_of(&app).await;
    // The cursor is the log's head: nothing after it yet, and taken before
    // the step-up exists, so its events all come after it.
    let cursor = client.event_cursor().await.unwrap();
    assert!(cursor > 0, "alice's enrolment is in the log");
    let page = client.events(cursor, 500).await.unwrap();
    assert_eq!(
        (page.events.len(), page.next, page.head),
        (0, cursor, cursor)
    );
    let id = ask(&client, "by-event-1").await;

    let waiter = client.clone();
    let wait = tokio::spawn(async move {
        let started = Instant::now();
        let got = waiter
            .wait_for_approval_by_events(id, NAME, cursor, Duration::from_secs(30))
            .await;
        (got, started.elapsed())
    });
    // Still waiting while nobody approved (its own `stepup.pending` event
    // was read and did not end it).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!wait.is_finished(), "returned before the approval");

    let (status, body) = app
        .approve(
            &mut alice,
            &id.to_string(),
            &keyward_testkit::Forge::default(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (got, took) = wait.await.unwrap();
    let step_up = got.unwrap();
    assert_eq!((step_up.id, step_up.status), (id, StepUpStatus::Approved));
    assert!(step_up.approved_at.is_some(), "fetched after the event");
    // Ended by the event, not by the timeout.
    assert!(took < Duration::from_secs(10), "{took:?}");
    // A wait that starts after the approval returns it at once.
    let again = client
        .wait_for_approval_by_events(id, NAME, cursor, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.status, StepUpStatus::Approved);
}

async fn a_wait_by_events_ends_at_its_timeout_a_decline_or_expiry(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.withdrawal_ready("alice").await;
    let client = client_of(&app).await;

    // Nobody answers: the timeout error, within the bound (one page read
    // and one look at the step-up past it, not a poll interval more).
    let cursor = client.event_cursor().await.unwrap();
    let id = ask(&client, "unanswered").await;
    let timeout = Duration::from_millis(1_500);
    let started = Instant::now();
    let got = client
        .wait_for_approval_by_events(id, NAME, cursor, timeout)
        .await;
    let took = started.elapsed();
    assert!(matches!(got, Err(Error::Timeout)), "{got:?}");
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout + Duration::from_secs(3), "{took:?}");

    // Declined on the confirmation page: the decline's event ends the wait
    // at once, as `wait_for_approval` would report it.
    let cursor = client.event_cursor().await.unwrap();
    let id = ask(&client, "declined").await;
    let waiter = client.clone();
    let wait = tokio::spawn(async move {
        waiter
            .wait_for_approval_by_events(id, NAME, cursor, Duration::from_secs(30))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/decline"),
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let started = Instant::now();
    let got = wait.await.unwrap();
    assert!(
        matches!(
            got,
            Err(Error::Ended {
                status: StepUpStatus::Declined,
                ..
            })
        ),
        "{got:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Expiry writes no event: the look at the step-up at the deadline
    // reports it as expired rather than as a timeout.
    let cursor = client.event_cursor().await.unwrap();
    let id = ask(&client, "expires").await;
    let waiter = client.clone();
    let wait = tokio::spawn(async move {
        waiter
            .wait_for_approval_by_events(id, NAME, cursor, Duration::from_secs(1))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.advance(Duration::from_secs(24 * 3600));
    let got = wait.await.unwrap();
    assert!(
        matches!(
            got,
            Err(Error::Ended {
                status: StepUpStatus::Expired,
                ..
            })
        ),
        "{got:?}"
    );

    // Without `events:read`, the wait fails at its first read.
    let token = app
        .named_service_key("no-events", &["stepup:create", "stepup:read"])
        .await;
    let blind = KeywardClient::new(&app.url(""), &token).unwrap();
    let id = ask(&blind, "no-events").await;
    let got = blind
        .wait_for_approval_by_events(id, "no-events", 0, Duration::from_secs(5))
        .await;
    assert!(matches!(got, Err(Error::Forbidden)), "{got:?}");
}

async fn a_wait_by_events_refuses_events_it_cannot_verify(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.withdrawal_ready("alice").await;
    let token = app.named_service_key(NAME, &SCOPES).await;
    let client = client_at(&app, &app.url(""), &token);

    // Events addressed to someone else (another audience than expected).
    let cursor = client.event_cursor().await.unwrap();
    let id = ask(&client, "wrong-audience").await;
    let got = client
        .wait_for_approval_by_events(id, "someone-else", cursor, Duration::from_secs(5))
        .await;
    assert!(
        matches!(got, Err(Error::Token(TokenError::WrongAudience))),
        "{got:?}"
    );

    // The real server behind a man in the middle that alters every event
    // token it relays: an error at the first event, not a skipped one.
    let proxy = tampering_proxy(app.url("")).await;
    let relayed = client_at(&app, &proxy, &token);
    let cursor = client.event_cursor().await.unwrap();
    let id = ask(&client, "tampered").await;
    let started = Instant::now();
    let got = relayed
        .wait_for_approval_by_events(id, NAME, cursor, Duration::from_secs(10))
        .await;
    assert!(
        matches!(got, Err(Error::Token(TokenError::BadSignature))),
        "{got:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not the timeout"
    );
}

/// A relay on port 0 passing GETs (with their `Authorization`) on to
/// `upstream`, changing one signature character of every event token in
/// `/v1/events` pages. Its base URL.
async fn tampering_proxy(upstream: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let mut req = http.get(format!("{upstream}{uri}"));
            if let Some(auth) = headers.get("authorization") {
                req = req.header("authorization", auth.to_str().unwrap());
            }
            let resp = req.send().await.unwrap();
            let status = AxumStatus::from_u16(resp.status().as_u16()).unwrap();
            let mut body: Value = resp.json().await.unwrap();
            if uri.path() == "/v1/events" {
                for event in body["events"].as_array_mut().unwrap() {
                    let set = event["set"].as_str().unwrap();
                    event["set"] = json!(tamper(set));
                }
            }
            (status, axum::Json(body))
        }
    });
    // Ends with the test's runtime.
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// `set` with a signature character changed, well inside the signature
/// (the last one carries padding bits).
fn tamper(set: &str) -> String {
    let mut chars: Vec<char> = set.chars().collect();
    let at = chars.len() - 10;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
