//! The load: soft-key users signing in and approving withdrawals that the
//! exchange's service creates and redeems, recording every acknowledgement.
//! Unanswered requests are retried; nothing else unexpected is tolerated.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_testkit::SoftKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use super::ORIGIN;
use crate::helpers::{DEST, withdrawal};

/// How the user's key answers a step-up: in Keyward's page (session) or in
/// the exchange's page, whose back end forwards the assertion (API mode).
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    Browser,
    Api,
}

/// An assertion Keyward accepted (answered 200), kept to replay later.
pub(super) struct Accepted {
    pub(super) user: usize,
    /// `None` for a sign-in; the step-up id and mode for an approval.
    pub(super) step_up: Option<(String, Mode)>,
    /// The request body exactly as sent: ceremony id and credential.
    pub(super) body: Value,
}

/// Everything the clients saw acknowledged.
#[derive(Default)]
pub(super) struct Ledger {
    /// Every step-up created, acknowledged or not afterwards.
    pub(super) step_ups: Vec<String>,
    /// Approved step-up id → approval token.
    pub(super) approvals: BTreeMap<String, String>,
    /// Step-up id → number of 200 answers to its redeem.
    pub(super) redeem_oks: HashMap<String, usize>,
    pub(super) accepted: Vec<Accepted>,
    /// Per user: the highest counter of an accepted assertion.
    pub(super) max_counter: HashMap<usize, u32>,
    pub(super) sign_ins: usize,
    /// Requests refused while no server listened.
    pub(super) refused: usize,
    /// Requests cut off by a kill (sent, never answered).
    pub(super) cut: usize,
}

/// What the load tasks share with the controller.
pub(super) struct Shared {
    /// The running incarnation's base URL; `None` while it is down.
    pub(super) base: watch::Receiver<Option<String>>,
    pub(super) stop: AtomicBool,
    pub(super) service: reqwest::Client,
    pub(super) ledger: Mutex<Ledger>,
}

pub(super) enum Answer {
    Got(StatusCode, Value),
    Lost,
}

impl Shared {
    /// One request to whichever incarnation runs now. No answer is `Lost`;
    /// a 5xx fails the test (the server was up and answered with an error).
    pub(super) async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
    ) -> Answer {
        self.send_json(client, method, path, None).await
    }

    pub(super) async fn send_json(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let base = self
            .base
            .clone()
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .clone()
            .unwrap();
        let mut request = client.request(method, format!("{base}{path}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = match request.send().await {
            Ok(resp) => {
                let status = resp.status();
                resp.text().await.map(|text| (status, text))
            }
            Err(e) => Err(e),
        };
        let (status, text) = match reply {
            Ok(reply) => reply,
            Err(e) => {
                {
                    let mut ledger = self.ledger.lock().unwrap();
                    if e.is_connect() {
                        ledger.refused += 1;
                    } else {
                        ledger.cut += 1;
                    }
                }
                // Give the controller time to bring the next incarnation up.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Answer::Lost;
            }
        };
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert!(
            !status.is_server_error(),
            "{status} on {path} from a running server: {body}"
        );
        Answer::Got(status, body)
    }

    pub(super) fn accept(&self, user: &User, step_up: Option<(String, Mode)>, body: Value) {
        let counter = user.counter();
        let mut ledger = self.ledger.lock().unwrap();
        let max = ledger.max_counter.entry(user.index).or_default();
        *max = (*max).max(counter);
        ledger.accepted.push(Accepted {
            user: user.index,
            step_up,
            body,
        });
    }
}

/// A user with a soft key and a signed-in browser.
pub(super) struct User {
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) password: String,
    pub(super) user_id: Uuid,
    pub(super) key: SoftKey,
    pub(super) browser: reqwest::Client,
}

impl User {
    /// The counter of the key's last assertion.
    pub(super) fn counter(&self) -> u32 {
        let ids = self.key.credential_ids();
        self.key.counter(&ids[0]).unwrap()
    }
}

pub(super) fn browser() -> reqwest::Client {
    crate::helpers::browser_for(ORIGIN)
}

pub(super) fn problem_type(body: &Value) -> &str {
    let ty = body["type"].as_str().unwrap_or_default();
    ty.rsplit('/').next().unwrap_or_default()
}

/// Signs a user up, enrols a key and allow-lists `DEST` (before any kill).
pub(super) async fn set_up(sh: &Shared, index: usize) -> User {
    let mut user = User {
        index,
        name: format!("user{index}"),
        password: format!("user{index}-correct-horse-battery"),
        user_id: Uuid::nil(),
        key: SoftKey::new(),
        browser: browser(),
    };
    let b = &user.browser.clone();
    let post = |path: &'static str, body: Value| async move {
        match sh.send_json(b, Method::POST, path, Some(&body)).await {
            Answer::Got(status, body) => (status, body),
            Answer::Lost => panic!("no answer to {path} during set-up"),
        }
    };
    let creds = json!({ "username": user.name, "password": user.password });
    let (status, body) = post("/v1/signup", creds).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    user.user_id = body["user_id"].as_str().unwrap().parse().unwrap();
    let (_, options) = post("/v1/keys/registration/options", json!({})).await;
    let credential = user.key.register(&options, ORIGIN);
    let body = json!({ "ceremony": options["ceremony"], "label": "k", "credential": credential });
    let (status, body) = post("/v1/keys/registration/verify", body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold" });
    let (status, body) = post("/v1/addresses", add).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    // The user's own step-up: no service may read it, so it stays out of
    // the ledger the service checks (the withdrawals it allows are in it).
    assert!(approve(sh, &mut user, &id, Mode::Browser).await.is_some());
    user
}

/// One user's load: sign-ins and withdrawals (browser and API mode) in turn.
pub(super) async fn run_user(sh: Arc<Shared>, mut user: User) -> User {
    let mut n = 0;
    while !sh.stop.load(Ordering::SeqCst) {
        n += 1;
        match n % 3 {
            0 => while !sign_in(&sh, &mut user).await {},
            1 => withdraw(&sh, &mut user, n, Mode::Browser).await,
            _ => withdraw(&sh, &mut user, n, Mode::Api).await,
        }
    }
    user
}

/// Password then key, in a new browser. False if a request went unanswered.
pub(super) async fn sign_in(sh: &Shared, user: &mut User) -> bool {
    let browser = browser();
    let creds = json!({ "username": user.name, "password": user.password });
    let Answer::Got(status, body) = sh
        .send_json(&browser, Method::POST, "/v1/signin/password", Some(&creds))
        .await
    else {
        return false;
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    let Answer::Got(status, options) = sh
        .send_json(
            &browser,
            Method::POST,
            "/v1/signin/key/options",
            Some(&json!({})),
        )
        .await
    else {
        return false;
    };
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = user.key.assert(&options, ORIGIN);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let Answer::Got(status, reply) = sh
        .send_json(&browser, Method::POST, "/v1/signin/key/verify", Some(&body))
        .await
    else {
        return false;
    };
    assert_eq!(status, StatusCode::OK, "{reply}");
    user.browser = browser;
    sh.accept(user, None, body);
    sh.ledger.lock().unwrap().sign_ins += 1;
    true
}

/// The service asks for a withdrawal step-up, the user approves it, the
/// service redeems it. Unanswered requests are retried (creation is
/// idempotent by client reference; approval restarts from new options).
pub(super) async fn withdraw(sh: &Shared, user: &mut User, n: usize, mode: Mode) {
    let request = withdrawal(&user.name, "0.0001", &format!("{}-{n}", user.name));
    let mut lost = false;
    let step = loop {
        match sh
            .send_json(&sh.service, Method::POST, "/v1/step-ups", Some(&request))
            .await
        {
            Answer::Lost => lost = true,
            Answer::Got(status, body) => {
                // 200: the step-up an unanswered attempt created.
                let created = status == StatusCode::CREATED || (lost && status == StatusCode::OK);
                assert!(created, "{status} {body}");
                break body;
            }
        }
    };
    assert_eq!(step["status"], "pending", "{step}");
    let id = step["id"].as_str().unwrap().to_owned();
    sh.ledger.lock().unwrap().step_ups.push(id.clone());
    approve(sh, user, &id, mode).await;
    let path = format!("/v1/step-ups/{id}/redeem");
    let mut lost = false;
    loop {
        match sh.send(&sh.service, Method::POST, &path).await {
            Answer::Lost => lost = true,
            Answer::Got(StatusCode::OK, body) => {
                assert_eq!(body["id"], id.as_str(), "{body}");
                *sh.ledger.lock().unwrap().redeem_oks.entry(id).or_default() += 1;
                return;
            }
            // An unanswered redeem that had committed.
            Answer::Got(status, body)
                if lost
                    && status == StatusCode::CONFLICT
                    && problem_type(&body) == "already-redeemed" =>
            {
                return;
            }
            Answer::Got(status, body) => panic!("redeem {id}: {status} {body}"),
        }
    }
}

/// Approves step-up `id` with the user's key; the token if acknowledged,
/// `None` if an unanswered verification had approved it already.
pub(super) async fn approve(sh: &Shared, user: &mut User, id: &str, mode: Mode) -> Option<String> {
    let approver = match mode {
        Mode::Browser => user.browser.clone(),
        Mode::Api => sh.service.clone(),
    };
    let (options_path, verify_path) = (
        format!("/v1/step-ups/{id}/options"),
        format!("/v1/step-ups/{id}/verify"),
    );
    let mut lost = false;
    loop {
        let options = match sh
            .send_json(&approver, Method::POST, &options_path, Some(&json!({})))
            .await
        {
            Answer::Lost => {
                lost = true;
                continue;
            }
            Answer::Got(StatusCode::OK, options) => options,
            Answer::Got(status, body)
                if lost
                    && status == StatusCode::CONFLICT
                    && problem_type(&body) == "step-up-not-pending" =>
            {
                return None;
            }
            Answer::Got(status, body) => panic!("options for {id}: {status} {body}"),
        };
        let credential = user.key.assert(&options, ORIGIN);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        match sh
            .send_json(&approver, Method::POST, &verify_path, Some(&body))
            .await
        {
            Answer::Lost => lost = true,
            Answer::Got(StatusCode::OK, reply) => {
                assert_eq!(reply["status"], "approved", "{reply}");
                let token = reply["approval"].as_str().unwrap().to_owned();
                sh.accept(user, Some((id.to_owned(), mode)), body);
                let mut ledger = sh.ledger.lock().unwrap();
                ledger.approvals.insert(id.to_owned(), token.clone());
                return Some(token);
            }
            // An earlier verify that was cut off may still commit (on
            // PostgreSQL a COMMIT sent before the kill completes without
            // its client): its outcome was never acknowledged, like above.
            Answer::Got(status, reply)
                if lost
                    && status == StatusCode::CONFLICT
                    && problem_type(&reply) == "step-up-not-pending" =>
            {
                return None;
            }
            Answer::Got(status, reply) => panic!("verify {id}: {status} {reply}"),
        }
    }
}
