//! Security events out (issue 19, and issue 18's "told to the exchange"):
//! polled as signed Security Event Tokens, and pushed to a real HTTP
//! receiver — in order, through failures, with one id per event however
//! often it comes, from two instances at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use keyward_access::approval::{verify, verify_event};
use keyward_api::events::{CAEP_CREDENTIAL_CHANGE, KEYWARD_EVENT};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    events_are_polled_as_signed_tokens_in_order,
    webhooks_get_every_event_in_order_through_failures,
    two_instances_deliver_each_event_under_one_id,
    the_client_verifies_events_and_keeps_their_order,
);

/// A webhook receiver on port 0: records what it accepts; refuses (500)
/// the first `fail_first` requests.
pub(crate) struct Receiver {
    pub url: String,
    /// Accepted tokens, in arrival order, with their Content-Type.
    pub got: Arc<Mutex<Vec<(String, String)>>>,
    pub refused: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, fail_first)
    }

    pub(crate) fn on(listener: tokio::net::TcpListener, fail_first: usize) -> Self {
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let (g, r) = (got.clone(), refused.clone());
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (g, r) = (g.clone(), r.clone());
                async move {
                    if r.load(Ordering::SeqCst) < fail_first {
                        r.fetch_add(1, Ordering::SeqCst);
                        return AxumStatus::INTERNAL_SERVER_ERROR;
                    }
                    let kind = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    g.lock().await.push((kind, body));
                    AxumStatus::ACCEPTED
                }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            got,
            refused,
            _task: task,
        }
    }

    /// Waits until events up to `seq` arrived; the verified claims.
    pub(crate) async fn until(&self, jwks: &Value, seq: i64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let claims: Vec<Value> = self
                .got
                .lock()
                .await
                .iter()
                .map(|(kind, set)| {
                    assert_eq!(kind, "application/secevent+jwt");
                    verify_event(set, jwks).unwrap()
                })
                .collect();
            if claims
                .iter()
                .any(|c| c["keyward_seq"].as_i64() >= Some(seq))
            {
                return claims;
            }
            assert!(
                Instant::now() < deadline,
                "events up to {seq} never arrived: {claims:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Every event after 0, polled by a service key with `events:read`.
async fn poll_all(app: &TestApp) -> Vec<Value> {
    let svc = app.service(&app.named_service_key("mailer", &["events:read"]).await);
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    let (mut after, mut out) = (0, Vec::new());
    loop {
        let (status, page) = app
            .get(&svc, &format!("/v1/events?after={after}&limit=500"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for e in page["events"].as_array().unwrap() {
            out.push(verify_event(e["set"].as_str().unwrap(), &jwks).unwrap());
        }
        if page["next"] == json!(after) {
            return out;
        }
        after = page["next"].as_i64().unwrap();
    }
}

async fn events_are_polled_as_signed_tokens_in_order(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    alice.new_key(keyward_testkit::SoftKey::new());
    let (status, _) = app
        .enrol(&mut alice, keyward_testkit::Forge::default())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.post(&alice.browser, "/v1/freeze", json!({})).await;
    let events = poll_all(&app).await;
    let seqs: Vec<i64> = events
        .iter()
        .map(|c| c["keyward_seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let mut ids: Vec<&str> = events.iter().map(|c| c["jti"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "one id per event");
    for c in &events {
        assert_eq!(c["aud"], "mailer");
        assert_eq!(c["iss"], json!(app.state.config.issuer()));
    }
    let of = |name: &str| {
        events
            .iter()
            .filter(|c| c["events"].get(format!("{KEYWARD_EVENT}{name}")).is_some())
            .cloned()
            .collect::<Vec<_>>()
    };
    let added = of("key.enrolled");
    assert_eq!(added.len(), 2, "{events:?}");
    assert_eq!(
        added[1]["sub_id"],
        json!({ "format": "opaque", "id": alice.user_id.to_string() })
    );
    assert_eq!(
        added[1]["events"][CAEP_CREDENTIAL_CHANGE]["change_type"],
        "create"
    );
    assert_eq!(of("account.frozen").len(), 1);
    assert!(
        of("reauth.succeeded").is_empty(),
        "routine entries are not sent"
    );
    // Polling again from the last position: nothing new, same position.
    let svc = app.service(&app.named_service_key("poller", &["events:read"]).await);
    let last = *seqs.last().unwrap();
    let (_, page) = app
        .get(&svc, &format!("/v1/events?after={}", last + 10))
        .await;
    assert_eq!(page["events"], json!([]));
    // An event token is no approval token, and the other way round.
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    let (_, raw) = app.get(&svc, "/v1/events?after=0&limit=1").await;
    let set = raw["events"][0]["set"].as_str().unwrap();
    assert!(verify(set, &jwks, "x", "poller", 0).is_err());
    // Failure cases.
    let other = app.service(&app.service_key(&["stepup:read"]).await);
    assert_problem(
        &app.get(&other, "/v1/events").await,
        StatusCode::FORBIDDEN,
        "insufficient-scope",
    );
    for bad in ["after=-1", "limit=0", "limit=501", "after=x"] {
        let got = app.get(&svc, &format!("/v1/events?{bad}")).await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    }
    let anon = app.get(&app.browser(), "/v1/events").await;
    assert_problem(&anon, StatusCode::UNAUTHORIZED, "invalid-service-key");
}

/// An app pushing to `receiver`, quickly and with short back-offs.
async fn pushing_to(b: &Backend, receiver: &Receiver) -> TestApp {
    let url = receiver.url.clone();
    TestApp::spawn_with(b, move |c, _| {
        c.events.webhooks = vec![keyward_server::config::Webhook {
            url: url.parse().unwrap(),
            audience: "exchange-mailer".into(),
        }];
        c.events.deliver_interval = Duration::from_millis(20);
        c.events.retry_max = Duration::from_secs(1);
    })
    .await
}

/// Waits until the endpoint is tracked (from then on every event goes out).
async fn wait_tracked(app: &TestApp) {
    for _ in 0..200 {
        if !keyward_server::store::event_deliveries::all(&app.state.db)
            .await
            .unwrap()
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the endpoint was never tracked");
}

async fn webhooks_get_every_event_in_order_through_failures(b: Backend) {
    let receiver = Receiver::start(3).await;
    let app = pushing_to(&b, &receiver).await;
    wait_tracked(&app).await;
    let start = keyward_server::store::audit::last_seq(&app.state.db)
        .await
        .unwrap();
    let mut bob = app.enrolled("bob").await;
    app.post(&bob.browser, "/v1/freeze", json!({})).await;
    app.reauth(&mut bob).await;
    app.post(&bob.browser, "/v1/unfreeze", json!({})).await;
    let polled: Vec<Value> = poll_all(&app)
        .await
        .into_iter()
        .filter(|c| c["keyward_seq"].as_i64().unwrap() > start)
        .collect();
    let last = polled.last().unwrap()["keyward_seq"].as_i64().unwrap();
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    let pushed = receiver.until(&jwks, last).await;
    assert_eq!(
        receiver.refused.load(Ordering::SeqCst),
        3,
        "three refusals, then retried"
    );
    let ids = |v: &[Value]| v.iter().map(|c| c["jti"].clone()).collect::<Vec<_>>();
    // Everything, in order, nothing twice (one instance, no crash), for
    // this endpoint's audience.
    assert_eq!(ids(&pushed), ids(&polled));
    assert!(pushed.iter().all(|c| c["aud"] == "exchange-mailer"));
    let names: Vec<String> = pushed
        .iter()
        .flat_map(|c| {
            c["events"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    for name in [
        "account.created",
        "key.enrolled",
        "account.frozen",
        "account.unfrozen",
    ] {
        assert!(
            names.contains(&format!("{KEYWARD_EVENT}{name}")),
            "{name} in {names:?}"
        );
    }
}

async fn two_instances_deliver_each_event_under_one_id(b: Backend) {
    let receiver = Receiver::start(0).await;
    let a = pushing_to(&b, &receiver).await;
    let beside = a.spawn_beside().await;
    wait_tracked(&a).await;
    let start = keyward_server::store::audit::last_seq(&a.state.db)
        .await
        .unwrap();
    for (n, app) in [&a, &beside, &a, &beside].into_iter().enumerate() {
        app.enrolled(&format!("user{n}x")).await;
    }
    let polled: Vec<Value> = poll_all(&a)
        .await
        .into_iter()
        .filter(|c| c["keyward_seq"].as_i64().unwrap() > start)
        .collect();
    let last = polled.last().unwrap()["keyward_seq"].as_i64().unwrap();
    let (_, jwks) = a.get(&a.browser(), "/.well-known/jwks.json").await;
    let pushed = receiver.until(&jwks, last).await;
    // At least once; a duplicate carries the same id and content.
    let mut seen = std::collections::BTreeMap::new();
    for c in &pushed {
        let previous = seen.insert(c["jti"].as_str().unwrap().to_owned(), c["events"].clone());
        assert!(
            previous.is_none_or(|p| p == c["events"]),
            "one id, one event"
        );
    }
    for c in &polled {
        assert!(
            seen.contains_key(c["jti"].as_str().unwrap()),
            "{c} never pushed"
        );
    }
    let seqs: Vec<i64> = pushed
        .iter()
        .map(|c| c["keyward_seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in order: {seqs:?}");
}

async fn the_client_verifies_events_and_keeps_their_order(b: Backend) {
    use keyward_client::{Error, EventOrder, KeywardClient, TokenError};
    let app = TestApp::spawn(&b).await;
    app.enrolled("carol").await;
    let token = app.named_service_key("mailer", &["events:read"]).await;
    let client = KeywardClient::new(&app.url(""), &token)
        .unwrap()
        .with_issuer(app.state.config.issuer());
    let page = client.events(0, 500).await.unwrap();
    assert!(page.events.len() >= 2, "{page:?}");
    let mut order = EventOrder::after(0);
    for e in &page.events {
        let claims = client.verify_event(&e.set, "mailer").await.unwrap();
        assert_eq!((claims.keyward_seq, &claims.jti), (e.seq, &e.jti));
        assert!(order.accept(&claims), "new");
        assert!(!order.accept(&claims), "a repeat is dropped");
    }
    assert_eq!(order.last(), page.events.last().unwrap().seq);
    let set = &page.events[0].set;
    let refused = |r: Result<(), Error>, want: TokenError| match r {
        Err(Error::Token(got)) => assert_eq!(got, want),
        other => panic!("expected {want:?}, got {other:?}"),
    };
    refused(
        client.verify_event(set, "someone-else").await.map(|_| ()),
        TokenError::WrongAudience,
    );
    // A signature character well inside (the last one carries padding bits).
    let mut forged: Vec<char> = set.chars().collect();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    refused(
        client.verify_event(&forged, "mailer").await.map(|_| ()),
        TokenError::BadSignature,
    );
    // An event is no approval, and an approval no event.
    refused(
        client.verify_approval(set).await.map(|_| ()),
        TokenError::Malformed,
    );
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(&["stepup:create", "stepup:read"]).await);
    let (_, created) = app
        .post(
            &svc,
            "/v1/step-ups",
            crate::helpers::withdrawal("alice", "0.1", "ev-1"),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let (_, approved) = app
        .approve(&mut alice, id, &keyward_testkit::Forge::default())
        .await;
    let approval = approved["approval"].as_str().unwrap();
    refused(
        client.verify_event(approval, "mailer").await.map(|_| ()),
        TokenError::Malformed,
    );
    let denied = client.events(0, 0).await;
    assert!(
        matches!(denied, Err(Error::Validation { .. })),
        "{denied:?}"
    );
}
