//! The client against a real Keyward server (in-process, port 0, SQLite):
//! the withdrawal flow, approval tokens, key rotation, and error mapping.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::field_reassign_with_default
)]

mod support;
mod vectors;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_client::{
    ApiKeyRefusal, Error, KeywardClient, PolicyReason, StepUpStatus, TokenError, approval_matches,
};
use serde_json::Value;
use support::{DEST, Server, withdrawal};
use uuid::Uuid;

const POLL: Duration = Duration::from_millis(50);
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_flow_create_wait_verify_redeem() {
    let server = Server::spawn().await;
    let mut alice = server.withdrawal_ready("alice").await;
    let client = server.client().await;
    assert_eq!(client.issuer(), server.origin);

    let step_up = client
        .create_step_up(&alice.name, "withdrawal", withdrawal("0.25", "payout-1"))
        .await
        .unwrap();
    assert_eq!(step_up.status, StepUpStatus::Pending, "{step_up:?}");
    assert!(step_up.confirm_url.ends_with(&step_up.id.to_string()));
    assert_eq!(step_up.digest.len(), 64);

    // The user approves while the exchange waits.
    let id = step_up.id.to_string();
    // The server (and its database directory) must outlive the approver.
    let server = std::sync::Arc::new(server);
    let approving = server.clone();
    let approver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        approving.approve(&mut alice, &id).await
    });
    let approved = client
        .wait_for_approval(step_up.id, POLL, WAIT)
        .await
        .unwrap();
    assert_eq!(approved.status, StepUpStatus::Approved);
    assert!(approved.approved_at.is_some());

    // GET /v1/step-ups/{id} carries no token: take it from the approve answer.
    let answer = approver.await.unwrap();
    let token = answer["approval"].as_str().unwrap();
    let claims = client.verify_approval(token).await.unwrap();
    assert_eq!(claims.step_up_id, step_up.id);
    assert_eq!(claims.aud, "keyward-step-up");
    assert!(approval_matches(&claims, &step_up.digest, step_up.id));
    assert!(!approval_matches(&claims, &step_up.digest, Uuid::new_v4()));
    assert!(!approval_matches(&claims, &"0".repeat(64), step_up.id));

    let redeemed = client.redeem(step_up.id).await.unwrap();
    assert_eq!(redeemed.step_up.status, StepUpStatus::Redeemed);
    assert_eq!(redeemed.step_up.digest, step_up.digest);
    assert_eq!(redeemed.step_up.details["destination"], DEST);
    assert_eq!(redeemed.step_up.details["amount"], "0.25");
    assert!(approval_matches(
        &claims,
        &redeemed.step_up.digest,
        redeemed.step_up.id
    ));

    let again = client.redeem(step_up.id).await;
    assert!(matches!(again, Err(Error::AlreadyRedeemed)), "{again:?}");

    // The same client_reference returns the same step-up.
    let repeat = client
        .create_step_up("alice", "withdrawal", withdrawal("0.25", "payout-1"))
        .await
        .unwrap();
    assert_eq!(repeat.id, step_up.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_ends_on_denial_and_times_out_when_pending() {
    let server = Server::spawn().await;
    let _bob = server.withdrawal_ready("bob").await;
    let client = server.client().await;

    let mut details = withdrawal("0.1", "payout-denied");
    details["destination"] = Value::from("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
    let denied = client
        .create_step_up("bob", "withdrawal", details)
        .await
        .unwrap();
    assert_eq!(denied.status, StepUpStatus::Denied);
    assert_eq!(denied.reason, Some(PolicyReason::AddressNotAllowed));
    let ended = client.wait_for_approval(denied.id, POLL, WAIT).await;
    assert!(
        matches!(
            &ended,
            Err(Error::Ended {
                status: StepUpStatus::Denied,
                reason: Some(PolicyReason::AddressNotAllowed)
            })
        ),
        "{ended:?}"
    );

    let pending = client
        .create_step_up("bob", "withdrawal", withdrawal("0.1", "payout-pending"))
        .await
        .unwrap();
    let waited = client
        .wait_for_approval(pending.id, POLL, Duration::from_millis(200))
        .await;
    assert!(matches!(waited, Err(Error::Timeout)), "{waited:?}");
    let early = client.redeem(pending.id).await;
    assert!(matches!(early, Err(Error::NotApproved)), "{early:?}");
}

/// Replaces the payload of `token` (keeping header and signature).
fn with_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    edit(&mut payload);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_tokens_and_wrong_issuer_are_refused() {
    let server = Server::spawn().await;
    let mut carol = server.withdrawal_ready("carol").await;
    let client = server.client().await;
    let step_up = client
        .create_step_up("carol", "withdrawal", withdrawal("1", "payout-t"))
        .await
        .unwrap();
    let answer = server.approve(&mut carol, &step_up.id.to_string()).await;
    let token = answer["approval"].as_str().unwrap();
    client.verify_approval(token).await.unwrap();

    let tampered = with_payload(token, |p| p["details_digest"] = Value::from("0".repeat(64)));
    let refused = client.verify_approval(&tampered).await;
    assert!(
        matches!(refused, Err(Error::Token(TokenError::BadSignature))),
        "{refused:?}"
    );
    let truncated = &token[..token.len() - 4];
    assert!(matches!(
        client.verify_approval(truncated).await,
        Err(Error::Token(_))
    ));
    assert!(matches!(
        client.verify_approval("not.a-token").await,
        Err(Error::Token(TokenError::Malformed))
    ));

    // Another deployment's issuer is refused even with a good signature.
    let key = server.service_key(&["stepup:read"]).await;
    let other = KeywardClient::new(&server.origin, &key)
        .unwrap()
        .with_issuer("https://auth.other.example");
    let wrong = other.verify_approval(token).await;
    assert!(
        matches!(wrong, Err(Error::Token(TokenError::WrongIssuer))),
        "{wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_is_refetched_after_rotation() {
    let server = Server::spawn().await;
    let mut dave = server.withdrawal_ready("dave").await;
    let client = server.client().await;

    let first = client
        .create_step_up("dave", "withdrawal", withdrawal("0.5", "payout-r1"))
        .await
        .unwrap();
    let answer = server.approve(&mut dave, &first.id.to_string()).await;
    // Fills the client's JWKS cache with the first key only.
    client
        .verify_approval(answer["approval"].as_str().unwrap())
        .await
        .unwrap();

    let now = server.state.clock.now();
    let new_kid = keyward_server::signing::rotate(&server.state.db, &server.state.custody, now)
        .await
        .unwrap();
    let second = client
        .create_step_up("dave", "withdrawal", withdrawal("0.5", "payout-r2"))
        .await
        .unwrap();
    let answer = server.approve(&mut dave, &second.id.to_string()).await;
    let token = answer["approval"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
    let claims = client.verify_approval(token).await.unwrap();
    assert!(approval_matches(&claims, &second.digest, second.id));

    // A kid nobody published: the refetch budget is spent, so no new fetch.
    let bogus_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT","kid":"nope"}"#);
    let parts: Vec<&str> = token.split('.').collect();
    let bogus = format!("{bogus_header}.{}.{}", parts[1], parts[2]);
    let refused = client.verify_approval(&bogus).await;
    assert!(
        matches!(refused, Err(Error::Token(TokenError::UnknownKey))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_key_errors_are_typed() {
    let server = Server::spawn().await;
    let details = withdrawal("0.1", "payout-e");

    let garbage = KeywardClient::new(&server.origin, "kw_svc_garbage").unwrap();
    let got = garbage
        .create_step_up("nobody", "withdrawal", details.clone())
        .await;
    assert!(matches!(got, Err(Error::Unauthorized)), "{got:?}");

    let read_only = server.service_key(&["stepup:read"]).await;
    let read_only = KeywardClient::new(&server.origin, &read_only).unwrap();
    let got = read_only
        .create_step_up("nobody", "withdrawal", details.clone())
        .await;
    assert!(matches!(got, Err(Error::Forbidden)), "{got:?}");
    let got = read_only.redeem(Uuid::new_v4()).await;
    assert!(matches!(got, Err(Error::Forbidden)), "{got:?}");
    let got = read_only.step_up(Uuid::new_v4()).await;
    assert!(matches!(got, Err(Error::NotFound)), "{got:?}");

    let client = server.client().await;
    let mut bad = details;
    bad["amount"] = Value::from("lots");
    let got = client.create_step_up("nobody", "withdrawal", bad).await;
    assert!(
        matches!(&got, Err(Error::Validation { field, .. }) if field.contains("amount")),
        "{got:?}"
    );

    let unreachable = KeywardClient::new("http://127.0.0.1:9", "kw_svc_x").unwrap();
    let got = unreachable.step_up(Uuid::new_v4()).await;
    assert!(matches!(got, Err(Error::Transport(_))), "{got:?}");
    assert!(KeywardClient::new("not a url", "k").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_refusals_carry_the_reason() {
    let server = Server::spawn().await;
    let client = server.client().await;

    let got = client
        .verify_api_key("not-a-key", "trade", "203.0.113.7")
        .await;
    assert!(
        matches!(
            &got,
            Err(Error::ApiKeyRefused {
                reason: ApiKeyRefusal::Malformed
            })
        ),
        "{got:?}"
    );
    let got = client
        .verify_api_key("not-a-key", "fly", "203.0.113.7")
        .await;
    assert!(
        matches!(&got, Err(Error::Validation { field, .. }) if field == "scope"),
        "{got:?}"
    );

    let no_scope = server.service_key(&["stepup:read"]).await;
    let no_scope = KeywardClient::new(&server.origin, &no_scope).unwrap();
    let got = no_scope
        .verify_api_key("not-a-key", "trade", "203.0.113.7")
        .await;
    assert!(matches!(got, Err(Error::Forbidden)), "{got:?}");
}

/// A key Keyward stops publishing stops verifying once the cached JWKS is
/// older than its maximum age (here zero: every check refetches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_no_longer_published_stops_verifying() {
    let server = Server::spawn().await;
    let mut erin = server.withdrawal_ready("erin").await;
    let client = server
        .client()
        .await
        .with_jwks_max_age(std::time::Duration::ZERO);
    let step = client
        .create_step_up("erin", "withdrawal", withdrawal("0.5", "payout-x1"))
        .await
        .unwrap();
    let answer = server.approve(&mut erin, &step.id.to_string()).await;
    let token = answer["approval"].as_str().unwrap();
    client.verify_approval(token).await.unwrap();

    // Rotated, and a day later the old key is no longer published.
    let now = server.state.clock.now();
    keyward_server::signing::rotate(&server.state.db, &server.state.custody, now)
        .await
        .unwrap();
    server
        .state
        .clock
        .advance(std::time::Duration::from_secs(25 * 3600));
    let refused = client.verify_approval(token).await;
    assert!(
        matches!(refused, Err(Error::Token(TokenError::UnknownKey))),
        "{refused:?}"
    );
}
