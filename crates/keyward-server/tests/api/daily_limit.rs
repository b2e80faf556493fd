//! What is left of the daily limit, on the confirmation page's summary of a
//! withdrawal refused for it (at creation or at redeem): the amounts in the
//! asset's units and when the refused amount would fit.

use std::time::Duration;

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, withdrawal};

backend_tests!(refusals_for_the_limit_say_what_is_left_and_when_it_fits);

const SERVICE: &[&str] = &["stepup:create", "stepup:read", "stepup:redeem"];

fn instant(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

async fn summary(app: &TestApp, alice: &User, id: &str) -> Value {
    let (status, body) = app
        .get(&alice.browser, &format!("/v1/step-ups/{id}/summary"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refusals_for_the_limit_say_what_is_left_and_when_it_fits(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    // The default BTC limit is 10 per 24 hours: 6 is sent, 5 approved but
    // refused at redeem.
    let mut ids = Vec::new();
    for (i, amount) in ["6", "5"].iter().enumerate() {
        let (_, step) = app
            .post(
                &svc,
                "/v1/step-ups",
                withdrawal("alice", amount, &format!("w{i}")),
            )
            .await;
        let id = step["id"].as_str().unwrap().to_owned();
        app.approve(&mut alice, &id, &Forge::default()).await;
        ids.push(id);
    }
    let (status, sent) = app
        .post(&svc, &format!("/v1/step-ups/{}/redeem", ids[0]), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let (_, sent) = app.get(&svc, &format!("/v1/step-ups/{}", ids[0])).await;
    let counts_until = instant(&sent["redeemed_at"]) + time::Duration::hours(24);
    let refused = app
        .post(&svc, &format!("/v1/step-ups/{}/redeem", ids[1]), json!({}))
        .await;
    assert_eq!(refused.1["reason"], "daily_limit_exceeded", "{}", refused.1);
    // Two hours on: the 6 still counts for 22 more.
    app.advance(Duration::from_secs(2 * 3600));
    alice.browser = app.sign_in(&mut alice).await;

    let got = summary(&app, &alice, &ids[1]).await;
    assert_eq!(got["step_up"]["status"], "refused");
    let limit = &got["daily_limit"];
    assert_eq!(
        (
            &limit["asset"],
            &limit["limit"],
            &limit["used"],
            &limit["left"]
        ),
        (&json!("BTC"), &json!("10"), &json!("6"), &json!("4")),
        "{got}"
    );
    assert_eq!(instant(&limit["fits_from"]), counts_until, "{got}");

    // Denied at creation: the same; an amount over the whole limit never fits.
    let (_, denied) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "7.5", "w2"))
        .await;
    assert_eq!(denied["reason"], "daily_limit_exceeded");
    let got = summary(&app, &alice, denied["id"].as_str().unwrap()).await;
    assert_eq!(got["daily_limit"]["left"], "4");
    assert_eq!(instant(&got["daily_limit"]["fits_from"]), counts_until);
    let (_, huge) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal("alice", "10.00000001", "w3"),
        )
        .await;
    let got = summary(&app, &alice, huge["id"].as_str().unwrap()).await;
    assert_eq!(got["daily_limit"]["left"], "4");
    assert!(got["daily_limit"].get("fits_from").is_none(), "{got}");

    // Other step-ups carry no limit; once the 6 is a day old, all is back.
    let (_, small) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1", "w4"))
        .await;
    let got = summary(&app, &alice, small["id"].as_str().unwrap()).await;
    assert!(got.get("daily_limit").is_none(), "{got}");
    app.advance(Duration::from_secs(22 * 3600));
    alice.browser = app.sign_in(&mut alice).await;
    let got = summary(&app, &alice, &ids[1]).await;
    let limit = &got["daily_limit"];
    assert_eq!(
        (&limit["used"], &limit["left"]),
        (&json!("0"), &json!("10"))
    );
    // It fits now (the clock may have moved on by the test's own run time).
    let fits = instant(&limit["fits_from"]);
    assert!(fits >= counts_until && fits < counts_until + time::Duration::minutes(1));

    // The OpenAPI document describes the new object.
    let doc = crate::openapi::document(&app).await;
    let props = &doc["components"]["schemas"]["DailyLimitLeft"]["properties"];
    for field in ["asset", "limit", "used", "left", "fits_from"] {
        assert!(props.get(field).is_some(), "{field}: {props}");
    }
}
