//! What the README and the OpenAPI document promise an exchange's back end,
//! checked against the server: the digest recipe and the statuses.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, withdrawal};

backend_tests!(the_documented_digest_recipe_gives_the_servers_digest);

/// Review finding: the docs said `details_digest` was SHA-256 of the
/// details; it is of `{action, details}`, so a back end following the docs
/// rejected every approval. This follows the README's recipe by hand.
async fn the_documented_digest_recipe_gives_the_servers_digest(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(
        &app.service_key(&["stepup:create", "stepup:read", "stepup:redeem"])
            .await,
    );
    let (status, step) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal("alice", "0.25", "payout-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    // serde_json's map keeps keys sorted: `to_string` is the canonical form.
    let canonical = serde_json::to_string(&json!({
        "action": "withdrawal",
        "details": step["details"].clone(),
    }))
    .unwrap();
    assert!(canonical.starts_with(r#"{"action":"withdrawal","details":{"amount":"0.25","#));
    let recipe = hex::encode(Sha256::digest(canonical.as_bytes()));
    assert_eq!(step["digest"], recipe.as_str());
    let details_only = hex::encode(Sha256::digest(step["details"].to_string().as_bytes()));
    assert_ne!(
        step["digest"],
        details_only.as_str(),
        "not of the details alone"
    );

    let id = step["id"].as_str().unwrap();
    let (status, approved) = app.approve(&mut alice, id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let token = approved["approval"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["details_digest"], recipe.as_str());
}
