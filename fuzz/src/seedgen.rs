//! Writes `fuzz/fixtures/` (fixed ceremony states, the test CA) and the seed
//! corpora `fuzz/seeds/<target>/` from real traffic: ceremonies answered by
//! the test kit's SoftKey against keyward-fido, request bodies as the test
//! suite and the README walkthrough send them, tokens from the real
//! generators. Run once (`fuzz/run.sh --seedgen`); the outputs are committed,
//! since the seeds are only valid against these exact states.

// Links libFuzzer's coverage callbacks, which the instrumented code calls.
extern crate libfuzzer_sys;

use std::fs;
use std::path::{Path, PathBuf};

use keyward_fido::{UserVerification, step_up_challenge};
use keyward_fuzz::{ORIGIN, TEST_AAGUID, fido_any, fido_trusted, fixture_path};
use keyward_testkit::{Attestation, Forge, SoftKey, TestCa};
use serde_json::{Value, json};
use uuid::Uuid;

fn seeds_dir(target: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).expect("seed dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn with_selector(selector: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(body);
    v
}

fn main() {
    fs::create_dir_all(fixture_path("")).expect("fixtures dir");
    let user = keyward_fuzz::FUZZ_USER;

    // Registration against the development policy.
    let any = fido_any();
    let (ccr, reg_any) = any
        .start_registration(user, "alice", vec![], false)
        .expect("start");
    let ccr = serde_json::to_value(&ccr).expect("ccr");
    fs::write(
        fixture_path("registration_any.json"),
        serde_json::to_string_pretty(&reg_any).expect("state"),
    )
    .expect("fixture");

    // The trusted policy with a test CA and its AAGUID.
    let ca = TestCa::generate("Keyward Fuzz CA");
    fs::write(fixture_path("test_ca.pem"), ca.cert_pem()).expect("ca");
    let cert = ca.issue_attestation_cert(TEST_AAGUID);
    let trusted = fido_trusted(&ca.cert_pem());
    let (ccr_t, reg_trusted) = trusted
        .start_registration(user, "alice", vec![], false)
        .expect("start trusted");
    let ccr_t = serde_json::to_value(&ccr_t).expect("ccr");
    fs::write(
        fixture_path("registration_trusted.json"),
        serde_json::to_string_pretty(&reg_trusted).expect("state"),
    )
    .expect("fixture");

    let dir = seeds_dir("webauthn_registration");
    let mut main_key = SoftKey::new();
    let plain = main_key.register(&ccr, ORIGIN);
    let attestations = [
        ("none", Attestation::None),
        ("packed_self", Attestation::PackedSelf),
        ("packed_x5c", Attestation::PackedX5c(cert.clone())),
    ];
    for (name, att) in attestations {
        let mut key = SoftKey::new().with_attestation(att.clone());
        let resp = key.register(&ccr, ORIGIN);
        let parsed =
            keyward_server::flows::keys::registration_response(resp.clone()).expect("parses");
        any.finish_registration(&parsed, &reg_any)
            .expect("any accepts");
        write(
            &dir,
            &format!("any_{name}"),
            &with_selector(0, resp.to_string().as_bytes()),
        );
        let mut key = SoftKey::new().with_attestation(att);
        let resp = key.register(&ccr_t, ORIGIN);
        let parsed =
            keyward_server::flows::keys::registration_response(resp.clone()).expect("parses");
        let accepted = trusted.finish_registration(&parsed, &reg_trusted).is_ok();
        assert_eq!(accepted, name == "packed_x5c", "trusted policy on {name}");
        write(
            &dir,
            &format!("trusted_{name}"),
            &with_selector(1, resp.to_string().as_bytes()),
        );
    }
    let forged = [
        (
            "wrong_origin",
            Forge {
                origin: Some("https://evil.example".into()),
                ..Forge::default()
            },
        ),
        (
            "no_uv",
            Forge {
                user_verified: Some(false),
                ..Forge::default()
            },
        ),
        (
            "tampered",
            Forge {
                tamper_client_data: true,
                ..Forge::default()
            },
        ),
    ];
    for (name, forge) in &forged {
        let resp = SoftKey::new().register_with(&ccr, ORIGIN, forge);
        write(
            &dir,
            &format!("forged_{name}"),
            &with_selector(0, resp.to_string().as_bytes()),
        );
    }

    // Assertion: enrol `main_key`, then a fixed authentication ceremony.
    let parsed = keyward_server::flows::keys::registration_response(plain.clone()).expect("parse");
    let enrolled = any.finish_registration(&parsed, &reg_any).expect("enrol");
    fs::write(
        fixture_path("credential_id.json"),
        serde_json::to_string(&enrolled.credential_id).expect("id"),
    )
    .expect("fixture");
    let challenge = step_up_challenge(&[7; 32], &[9; 32]);
    let (rcr, auth) = any
        .start_bound_authentication(
            &[enrolled.key.clone()],
            UserVerification::Required,
            challenge,
        )
        .expect("start auth");
    let rcr = serde_json::to_value(&rcr).expect("rcr");
    fs::write(
        fixture_path("authentication.json"),
        serde_json::to_string_pretty(&auth).expect("state"),
    )
    .expect("fixture");
    let dir = seeds_dir("webauthn_assertion");
    for n in 0..3u8 {
        let resp = main_key.assert(&rcr, ORIGIN);
        let parsed =
            keyward_server::flows::assertion::assertion_response(resp.clone()).expect("parses");
        any.finish_authentication(&parsed, &auth, UserVerification::Required, user)
            .expect("accepted");
        write(
            &dir,
            &format!("valid_{n}"),
            &with_selector(n, resp.to_string().as_bytes()),
        );
    }
    let forged = [
        (
            "no_uv",
            Forge {
                user_verified: Some(false),
                ..Forge::default()
            },
        ),
        (
            "wrong_origin",
            Forge {
                origin: Some("https://evil.example".into()),
                ..Forge::default()
            },
        ),
        (
            "counter_zero",
            Forge {
                counter: Some(0),
                ..Forge::default()
            },
        ),
        (
            "tampered",
            Forge {
                tamper_client_data: true,
                ..Forge::default()
            },
        ),
    ];
    for (name, forge) in &forged {
        let resp = main_key.assert_with(&rcr, ORIGIN, forge);
        write(
            &dir,
            &format!("forged_{name}"),
            &with_selector(0, resp.to_string().as_bytes()),
        );
    }
    let assertion = main_key.assert(&rcr, ORIGIN);

    // Request bodies as the walkthrough and the HTTP suite send them.
    let btc = json!({ "asset": "BTC", "network": "bitcoin", "amount": "0.25",
        "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "client_reference": "payout-1" });
    let eth = json!({ "asset": "ETH", "network": "ethereum", "amount": "1.000000000000000001",
        "destination": "0x52908400098527886E0F7030069857D2E4169EE7", "memo": "tag 42", "client_reference": "w:2" });
    let api_key = json!({ "label": "trading bot", "scopes": ["withdraw", "read"],
        "ip_allowlist": ["10.0.0.7/8", "2001:db8::1"], "expires_in_days": 90 });
    let address = json!({ "network": "bitcoin", "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "label": "cold wallet" });
    let ceremony = Uuid::from_bytes(*b"fuzz-ceremony-01");
    let bodies: Vec<(&str, Value)> = vec![
        (
            "credentials",
            json!({ "username": "alice", "password": "correct horse battery staple" }),
        ),
        (
            "ceremony_answer",
            json!({ "ceremony": ceremony, "credential": assertion }),
        ),
        (
            "registration",
            json!({ "ceremony": ceremony, "label": "Desk key", "credential": plain }),
        ),
        ("rename", json!({ "label": "Backup key" })),
        (
            "password_change",
            json!({ "current_password": "correct horse battery staple", "new_password": "another long passphrase" }),
        ),
        (
            "settings",
            json!({ "anti_phishing_phrase": "purple elephant" }),
        ),
        (
            "create_step_up",
            json!({ "user": "alice", "action": "withdrawal", "details": btc }),
        ),
        ("new_address", address.clone()),
        (
            "freeze",
            json!({ "reason": "incident 42: hot wallet drained" }),
        ),
        (
            "verify_request",
            json!({ "key": "kw_api_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG012345", "scope": "withdraw", "client_ip": "203.0.113.7" }),
        ),
        ("api_key_request", api_key.clone()),
        ("api_key_create", {
            let mut b = api_key.clone();
            b["step_up_id"] = json!(Uuid::from_bytes(*b"fuzz-step-up-001"));
            b
        }),
    ];
    let dir = seeds_dir("api_bodies");
    for (i, (name, body)) in bodies.iter().enumerate() {
        let selector = u8::try_from(i).expect("selector");
        write(
            &dir,
            name,
            &with_selector(selector, body.to_string().as_bytes()),
        );
    }
    write(
        &dir,
        "create_step_up_eth",
        &with_selector(
            6,
            json!({ "user": "alice", "action": "withdrawal", "details": eth })
                .to_string()
                .as_bytes(),
        ),
    );

    let dir = seeds_dir("stepup_details");
    write(
        &dir,
        "withdrawal_btc",
        &with_selector(0, btc.to_string().as_bytes()),
    );
    write(
        &dir,
        "withdrawal_eth",
        &with_selector(0, eth.to_string().as_bytes()),
    );
    write(
        &dir,
        "address_add",
        &with_selector(1, address.to_string().as_bytes()),
    );
    write(
        &dir,
        "api_key_create",
        &with_selector(2, api_key.to_string().as_bytes()),
    );

    let dir = seeds_dir("api_key_token");
    for (i, kind) in [
        keyward_access::TokenKind::Service,
        keyward_access::TokenKind::ApiKey,
    ]
    .into_iter()
    .enumerate()
    {
        use secrecy::ExposeSecret as _;
        let t = keyward_access::token::generate(kind);
        write(
            &dir,
            &format!("token_{i}"),
            t.plaintext.expose_secret().as_bytes(),
        );
    }

    let dir = seeds_dir("approval_token");
    for (i, token) in keyward_fuzz::approval_tokens().iter().enumerate() {
        write(&dir, &format!("token_{i}"), token.as_bytes());
    }

    let dir = seeds_dir("config");
    write(&dir, "empty", b"");
    write(
        &dir,
        "production",
        br#"listen = "0.0.0.0:8080"
origin = "https://auth.exchange.example"
rp_id = "exchange.example"
rp_name = "Exchange"
database_url = "postgres://keyward@db/keyward"
trusted_proxies = ["10.0.0.0/8", "::1"]
token_issuer = "https://auth.exchange.example"
log_format = "json"
max_body_bytes = 65536
ceremony_ttl_seconds = 300

[attestation]
policy = "trusted"
yubico = true

[session]
idle_minutes = 15
absolute_hours = 12

[user_verification]
withdrawal = "required"
sign_in = "preferred"

[throttle]
lock_after = 100

[withdrawals]
step_up_ttl_seconds = 600
approval_ttl_seconds = 300
hold_hours = 24
address_cooling_hours = 24

[api_keys]
max_per_user = 30
max_days_without_ip = 30

[assets.BTC]
decimals = 8
daily_limit = "2.5"

[assets.USDT]
decimals = 6
"#,
    );
    write(
        &dir,
        "dev",
        b"origin = \"http://localhost:8080\"\nrp_id = \"localhost\"\ndatabase_url = \"sqlite://data/kw.db?mode=rwc\"\n[password]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n",
    );
    // The config finding: accepted, then overflowed (now refused).
    write(
        &dir,
        "overflow_cooling",
        b"[withdrawals]\naddress_cooling_hours = 9223372036854775807\n",
    );
    println!(
        "fixtures and seeds written under {}",
        env!("CARGO_MANIFEST_DIR")
    );
}
