//! Micro-benchmarks of the pure functions on Keyward's hot paths (criterion):
//! step-up details canonicalisation + digest, withdrawal policy evaluation,
//! API-key parse + hash, approval-token sign and verify, and the exchange's
//! own check of an approval (keyward-proof: its digest, the assertion and
//! the key chain); and what one SQLite statement costs through sqlx against
//! the same statement on the calling thread (`statement`).
//!
//!     cargo bench -p keyward-server --bench hot_paths
//!
//! Figures are recorded in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

#[path = "hot_paths/statement.rs"]
mod statement;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_access::approval::{self, ApprovalClaims, SigningKey};
use keyward_access::token::{self, TokenKind};
use keyward_server::config::default_assets;
use keyward_server::domain::details::{Action, canonicalise};
use keyward_server::domain::policy::{AccountFacts, WithdrawalFacts, decide};
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

fn details(c: &mut Criterion) {
    let assets = default_assets();
    let raw = json!({ "asset": "BTC", "network": "bitcoin", "amount": "1.50000000",
        "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "memo": "invoice 42",
        "client_reference": "wd-2026-11-24-000123" });
    c.bench_function("details: canonicalise + digest (withdrawal)", |b| {
        b.iter(|| canonicalise("withdrawal", black_box(&raw), &assets).unwrap())
    });
    let api_key = json!({ "label": "trading bot", "scopes": ["withdraw", "read"],
        "ip_allowlist": ["203.0.113.0/24", "2001:db8::/48"], "expires_in_days": 90 });
    c.bench_function("details: canonicalise + digest (api_key.create)", |b| {
        b.iter(|| canonicalise("api_key.create", black_box(&api_key), &assets).unwrap())
    });
}

fn policy(c: &mut Criterion) {
    let account = AccountFacts {
        global_freeze: None,
        user_frozen: false,
        hold: Some((1_000, keyward_api::PolicyReason::KeyAdded)),
    };
    let facts = WithdrawalFacts {
        address_usable_from: Some(0),
        redeemed_last_24h: 250_000_000,
        daily_limit: Some(1_000_000_000),
        amount: 150_000_000,
    };
    c.bench_function("policy: decide (withdrawal, allowed)", |b| {
        b.iter(|| {
            decide(
                Action::Withdrawal,
                black_box(&account),
                Some(black_box(&facts)),
                2_000,
            )
        })
    });
}

fn tokens(c: &mut Criterion) {
    let key = token::generate(TokenKind::ApiKey);
    let presented = key.plaintext.expose_secret().to_owned();
    c.bench_function("api key: parse + checksum + hash", |b| {
        b.iter(|| token::parse(TokenKind::ApiKey, black_box(&presented)).unwrap())
    });
    let garbage = format!("{}x", &presented[..presented.len() - 1]);
    c.bench_function("api key: parse (bad checksum, refused)", |b| {
        b.iter(|| token::parse(TokenKind::ApiKey, black_box(&garbage)).is_err())
    });
}

fn approvals(c: &mut Criterion) {
    let key = SigningKey::generate();
    let jwks = approval::jwks([&key]);
    let claims = ApprovalClaims {
        step_up_id: Uuid::new_v4(),
        sub: Uuid::new_v4().to_string(),
        action: "withdrawal".into(),
        details_digest: "ab".repeat(32),
        credential_id: "Y3JlZGVudGlhbC1pZA".into(),
        aaguid: None,
        uv: true,
        iat: 1_800_000_000,
        exp: 1_800_000_300,
        jti: Uuid::new_v4(),
        iss: "https://keyward.example".into(),
        aud: "withdrawals".into(),
        chain_head: None,
    };
    c.bench_function("approval token: sign (EdDSA)", |b| {
        b.iter(|| approval::sign(&key, black_box(&claims)).unwrap())
    });
    let token = approval::sign(&key, &claims).unwrap();
    c.bench_function("approval token: verify (EdDSA, JWKS)", |b| {
        b.iter(|| {
            approval::verify(
                black_box(&token),
                &jwks,
                "https://keyward.example",
                "withdrawals",
                1_800_000_010,
            )
            .unwrap()
        })
    });
}

/// What keyward-client's `Verifier` does per approval, without the pin
/// store: the exchange's own digest of the details, the assertion over the
/// challenge, and the key chain (genesis + one endorsed addition).
fn exchange_check(c: &mut Criterion) {
    use keyward_proof::approval::{ApprovalEvidence, Expected, verify_approval};
    use keyward_proof::testing::{assert_over, change, genesis, key, rp};
    let raw = json!({ "asset": "BTC", "network": "bitcoin", "amount": "0.25",
        "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "client_reference": "wd-1" });
    let canonical = canonicalise("withdrawal", &raw, &default_assets()).unwrap();
    let (first, second) = (key(1), key(2));
    let mut chain = vec![genesis(&first)];
    chain.push(change(
        &chain,
        keyward_proof::ChainAction::Add,
        &second,
        &first,
    ));
    let nonce = [7u8; 32];
    let challenge = keyward_proof::step_up_challenge(&nonce, &canonical.digest);
    let evidence = ApprovalEvidence {
        details: canonical.json.clone(),
        nonce: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, nonce),
        assertion: assert_over(&second, &challenge),
        key_chain: chain,
    };
    let rp = rp();
    // Per approval: the exchange's own digest, then the checks, with or
    // without a pinned chain.
    let check = |pin: Option<&keyward_proof::Pin>| {
        let digest = keyward_proof::details::digest_of("withdrawal", black_box(&raw)).unwrap();
        let expected = Expected {
            rp: &rp,
            digest,
            require_uv: true,
            pin,
        };
        verify_approval(black_box(&evidence), &expected).unwrap()
    };
    c.bench_function(
        "exchange: verify approval (digest, assertion, 2-entry chain)",
        |b| b.iter(|| check(None)),
    );
    // The usual case: the exchange has pinned the chain's head already, so
    // only the approval's own assertion is verified.
    let pin = check(None).chain.pin();
    c.bench_function(
        "exchange: verify approval (chain pinned at its head)",
        |b| b.iter(|| check(Some(&pin))),
    );
}

criterion_group!(
    benches,
    details,
    policy,
    tokens,
    approvals,
    exchange_check,
    statement::statement
);
criterion_main!(benches);
