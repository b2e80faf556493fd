//! Risk signals end to end: a GeoIP database the test generates (two
//! networks, Berlin and Sydney), sign-ins from each through a trusted
//! proxy's `X-Forwarded-For`, and the effects the operator configures —
//! a hold that a withdrawal then meets with its reason, a required user
//! verification, a denial — each recorded and told to the exchange.

use std::time::Duration;

use keyward_server::config::Config;
use keyward_server::domain::risk::{Effect, Effects};
use keyward_testkit::Forge;
use maxminddb_writer::Database;
use maxminddb_writer::paths::IpAddrWithMask;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem, withdrawal};

backend_tests!(
    a_sign_in_from_far_away_holds_withdrawals_with_the_reason,
    velocity_and_new_keys_tighten_step_ups_as_configured,
    new_browsers_can_be_made_to_verify_or_be_refused,
);

const SERVICE: &[&str] = &[
    "stepup:create",
    "stepup:read",
    "stepup:redeem",
    "events:read",
];
const BERLIN_IP: &str = "198.51.100.7";
const SYDNEY_IP: &str = "203.0.113.9";

#[derive(Serialize)]
struct Record {
    country: Country,
    location: Location,
    autonomous_system_number: u32,
}

#[derive(Serialize)]
struct Country {
    iso_code: &'static str,
}

#[derive(Serialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

/// A MaxMind-format database holding both the city fields and the ASN
/// (so one file serves as `geoip_city` and `geoip_asn`).
fn geoip(dir: &std::path::Path) -> std::path::PathBuf {
    let mut db = Database::default();
    db.metadata.binary_format_major_version = 2;
    db.metadata.database_type = "Keyward-Test-City-ASN".into();
    for (net, iso, (latitude, longitude), asn) in [
        ("198.51.100.0/24", "DE", (52.52, 13.40), 64_500),
        ("203.0.113.0/24", "AU", (-33.87, 151.21), 64_501),
    ] {
        let record = Record {
            country: Country { iso_code: iso },
            location: Location {
                latitude,
                longitude,
            },
            autonomous_system_number: asn,
        };
        let data = db.insert_value(record).unwrap();
        db.insert_node(net.parse::<IpAddrWithMask>().unwrap(), data);
    }
    let path = dir.join("geo.mmdb");
    db.write_to(std::fs::File::create(&path).unwrap()).unwrap();
    path
}

/// GeoIP from the generated database, and the loopback proxy trusted so
/// each browser can say which address it comes from.
fn with_geoip(c: &mut Config, dir: &std::path::Path) {
    c.risk.effects = Effects::default();
    let path = geoip(dir);
    c.risk.geoip_city = Some(path.clone());
    c.risk.geoip_asn = Some(path);
    c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

/// A new browser whose requests reach Keyward from `ip`.
fn browser_from(app: &TestApp, ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, app.origin.parse().unwrap());
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Password and key from `browser`; the key step's answer.
async fn sign_in_from(
    app: &TestApp,
    user: &mut User,
    browser: &reqwest::Client,
    forge: &Forge,
) -> (StatusCode, Value) {
    let creds = json!({ "username": user.username, "password": user.password });
    let (status, body) = app.post(browser, "/v1/signin/password", creds).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.key_step(browser, &mut user.key, forge).await
}

/// The user's `risk.decided` entries, newest first.
async fn risk_entries(app: &TestApp, user: &User) -> Vec<Value> {
    let (status, page) = app.get(&user.browser, "/v1/audit?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "risk.decided")
        .cloned()
        .collect()
}

fn signals(reasons: &Value) -> Vec<&str> {
    reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap())
        .collect()
}

async fn a_sign_in_from_far_away_holds_withdrawals_with_the_reason(b: Backend) {
    let app = TestApp::spawn_with(&b, with_geoip).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc_key = app.named_service_key("exchange", SERVICE).await;
    let svc = app.service(&svc_key);

    // Berlin: the first place GeoIP knows, so nothing to compare a country
    // with; a browser new to the account is told (new_device: notify).
    let berlin = browser_from(&app, BERLIN_IP);
    let (status, body) = sign_in_from(&app, &mut alice, &berlin, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    alice.browser = berlin.clone();
    let told = risk_entries(&app, &alice).await;
    let first = &told[0];
    assert_eq!(first["detail"]["stage"], "sign_in");
    assert_eq!(first["detail"]["outcome"], "allowed");
    assert_eq!(
        signals(&first["detail"]["reasons"]),
        ["new_device", "new_network"]
    );

    // The same browser again: known device, known network: nothing fires.
    app.advance(Duration::from_secs(600));
    let (status, _) = sign_in_from(&app, &mut alice, &berlin, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK);
    let entries = risk_entries(&app, &alice).await;
    assert_eq!(
        entries.len(),
        told.len(),
        "nothing new to tell: {entries:?}"
    );

    // Sydney 30 minutes later: 16,000 km at 32,000 km/h, a new country and
    // a new ASN. Withdrawals are held for 24 hours.
    app.advance(Duration::from_secs(1_800));
    let sydney = browser_from(&app, SYDNEY_IP);
    let (status, body) = sign_in_from(&app, &mut alice, &sydney, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "the owner is let in: {body}");
    alice.browser = sydney;
    let far = &risk_entries(&app, &alice).await[0];
    assert_eq!(far["detail"]["outcome"], "held");
    let reasons = &far["detail"]["reasons"];
    assert_eq!(
        signals(reasons),
        [
            "new_device",
            "new_network",
            "new_country",
            "new_asn",
            "impossible_travel"
        ]
    );
    assert_eq!(reasons[2]["detail"], "AU");
    assert_eq!(reasons[2]["effect"], "hold");
    assert_eq!(reasons[2]["hold_hours"], 24);
    assert_eq!(reasons[3]["detail"], "AS64501");
    assert!(
        reasons[4]["detail"]
            .as_str()
            .unwrap()
            .ends_with("km in 30 min"),
        "{reasons}"
    );

    // The exchange's withdrawal meets the hold, and says why.
    let (status, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.5", "far-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    assert_eq!(step["status"], "held", "{step}");
    assert_eq!(step["reason"], "new_country");
    assert!(step["held_until"].is_string());
    let id = step["id"].as_str().unwrap();
    let (_, summary) = app
        .get(&alice.browser, &format!("/v1/step-ups/{id}/summary"))
        .await;
    assert_eq!(summary["step_up"]["reason"], "new_country", "{summary}");

    // The exchange was told, as a CAEP risk-level change too.
    let client = keyward_client::KeywardClient::new(&app.url(""), &svc_key)
        .unwrap()
        .with_issuer(app.state.config.issuer());
    let page = client.events(0, 500).await.unwrap();
    let mut told = Vec::new();
    for e in &page.events {
        let claims = client.verify_event(&e.set, "exchange").await.unwrap();
        if let Some(caep) = claims
            .events
            .get(keyward_api::events::CAEP_RISK_LEVEL_CHANGE)
        {
            told.push(caep.clone());
        }
    }
    assert!(
        told.iter().any(|c| c["current_level"] == "high"
            && c["risk_reason"]
                .as_str()
                .unwrap()
                .contains("impossible_travel")),
        "{told:?}"
    );

    // A day later the hold has passed.
    app.advance(Duration::from_secs(24 * 3600 + 1));
    let (_, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.5", "far-2"))
        .await;
    assert_eq!(step["status"], "pending", "{step}");
}

async fn velocity_and_new_keys_tighten_step_ups_as_configured(b: Backend) {
    let app = TestApp::spawn_with(&b, |c, _| {
        c.risk.effects = Effects::default();
        c.risk.withdrawals_per_hour = 2;
        c.risk.effects.withdrawal_velocity = Effect::hold(2);
        c.risk.new_key_days = 2;
        c.risk.effects.new_key = Effect::of(keyward_api::risk::RiskEffect::Deny);
    })
    .await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);

    // A day after enrolling, the key is new: approving is denied.
    let (_, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.1", "v-1"))
        .await;
    assert_eq!(step["status"], "pending", "{step}");
    assert_eq!(step["reasons"], json!([]), "a first key is no change");
    let id = step["id"].as_str().unwrap().to_owned();
    let (status, options) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let refused = app.approve(&mut alice, &id, &Forge::default()).await;
    assert_problem(&refused, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(refused.1["reason"], "new_key");
    let (_, denied) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
    assert_eq!(denied["status"], "denied", "{denied}");
    assert_eq!(signals(&denied["reasons"]), ["new_key"]);
    assert_eq!(denied["reasons"][0]["detail"], "enrolled 24 hours ago");
    let again = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "step-up-not-pending");

    // Two days on the key is no longer new; two withdrawals in the hour
    // pass, the third is held for two hours.
    app.advance(Duration::from_secs(2 * 24 * 3600));
    alice.browser = app.sign_in(&mut alice).await;
    for n in 2..=3 {
        let (_, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                withdrawal("alice", "0.1", &format!("v-{n}")),
            )
            .await;
        assert_eq!(step["status"], "pending", "{step}");
        let id = step["id"].as_str().unwrap().to_owned();
        let (status, body) = app.approve(&mut alice, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, third) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.1", "v-4"))
        .await;
    assert_eq!(third["status"], "held", "{third}");
    assert_eq!(third["reason"], "withdrawal_velocity");
    assert_eq!(third["reasons"][0]["detail"], "3 withdrawals in an hour");
    assert_eq!(third["reasons"][0]["hold_hours"], 2);
    let entry = &risk_entries(&app, &alice).await[0];
    assert_eq!(entry["detail"]["stage"], "step_up.created");
    assert_eq!(entry["detail"]["outcome"], "held");

    // An hour later the window has moved on.
    app.advance(Duration::from_secs(3_601));
    let (_, later) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.1", "v-5"))
        .await;
    assert_eq!(later["status"], "pending", "{later}");

    // A second key is a security change: besides its hold, the next
    // withdrawal says so (told to the exchange, by default).
    alice.browser = app.sign_in(&mut alice).await;
    alice.new_key(keyward_testkit::SoftKey::new());
    let (status, body) = app.enrol(&mut alice, Forge::default()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.advance(Duration::from_secs(25 * 3600));
    let (_, step) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.1", "v-6"))
        .await;
    assert_eq!(step["status"], "pending", "{step}");
    assert_eq!(signals(&step["reasons"]), ["recent_security_change"]);
    assert_eq!(step["reasons"][0]["effect"], "notify");
    assert_eq!(step["reasons"][0]["detail"], "25 hours ago");
}

async fn new_browsers_can_be_made_to_verify_or_be_refused(b: Backend) {
    let app = TestApp::spawn_with(&b, |c, _| {
        c.risk.effects = Effects::default();
        c.risk.effects.new_device = Effect::of(keyward_api::risk::RiskEffect::RequireUv);
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let home = app.browser();
    let (status, body) = sign_in_from(&app, &mut alice, &home, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A browser new to the account is asked for the PIN, and a key that
    // skips it is refused.
    let stranger = app.browser();
    let creds = json!({ "username": alice.username, "password": alice.password });
    let (status, _) = app.post(&stranger, "/v1/signin/password", creds).await;
    assert_eq!(status, StatusCode::OK);
    let (_, options) = app
        .post(&stranger, "/v1/signin/key/options", json!({}))
        .await;
    assert_eq!(
        options["publicKey"]["userVerification"], "required",
        "{options}"
    );
    let no_pin = Forge {
        user_verified: Some(false),
        ..Forge::default()
    };
    let refused = app.key_step(&stranger, &mut alice.key, &no_pin).await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "ceremony-refused");
    let with_pin = app
        .key_step(&stranger, &mut alice.key, &Forge::default())
        .await;
    assert_eq!(with_pin.0, StatusCode::OK, "{}", with_pin.1);

    // The known browser is not asked.
    let (status, _) = app
        .post(
            &home,
            "/v1/signin/password",
            json!({ "username": alice.username, "password": alice.password }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, options) = app.post(&home, "/v1/signin/key/options", json!({})).await;
    assert_eq!(options["publicKey"]["userVerification"], "preferred");

    // Where new browsers are refused, the owner's known one still signs in.
    let app = TestApp::spawn_with(&b, |c, _| {
        c.risk.effects = Effects::default();
        c.risk.effects.new_device = Effect::of(keyward_api::risk::RiskEffect::Deny);
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let first = app.browser();
    let (status, body) = sign_in_from(&app, &mut alice, &first, &Forge::default()).await;
    assert_problem(
        &(status, body.clone()),
        StatusCode::CONFLICT,
        "policy-refused",
    );
    assert_eq!(body["reason"], "new_device");
    // The enrolment's browser is known to the account.
    let known = alice.browser.clone();
    let (status, body) = sign_in_from(&app, &mut alice, &known, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refusal = &risk_entries(&app, &alice).await[0];
    assert_eq!(refusal["detail"]["outcome"], "denied", "{refusal}");
    let (_, me) = app.get(&first, "/v1/session").await;
    assert_eq!(
        me["stage"], "password",
        "the refused browser is not signed in"
    );
}
