//! The approval vectors themselves: the honest approvals, then each part of
//! the evidence changed after the key signed (only the signature can tell),
//! each lie a key could sign (the checks after the signature tell), and each
//! way a key chain can be wrong.

use keyward_proof::chain::ChainEntry;
use keyward_proof::evidence::AssertionEvidence;
use keyward_testkit::Forge;
use serde_json::json;

use crate::approvals::{Case, World, approve, pin_of, to_json};
use crate::fixture::{self, T0, b64, fixed};

/// Flips one bit of byte `at` (after signing: the signature no longer holds).
fn flip(bytes: &mut [u8], at: usize, bit: u8) {
    bytes[at] ^= bit;
}

fn replace(bytes: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(bytes.clone()).expect("clientDataJSON is UTF-8");
    assert!(text.contains(from), "{from} in {text}");
    *bytes = text.replacen(from, to, 1).into_bytes();
}

pub fn forge(edit: impl FnOnce(&mut Forge)) -> Forge {
    let mut f = Forge::default();
    edit(&mut f);
    f
}

pub fn cases() -> Vec<Case> {
    let mut w = World::new();
    let mut out = Vec::new();
    let chains = w.chains.clone();
    let details = w.details.clone();

    // Honest approvals.
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.a,
        &chains[0],
        &Forge::default(),
    );
    out.push(w.case("ok/genesis-key", to_json(&ev), None));
    let ev = w.by_b(&Forge::default());
    out.push(w.case("ok/added-key", to_json(&ev), None));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.c,
        &chains[3],
        &Forge::default(),
    );
    out.push(w.case("ok/key-after-another-was-removed", to_json(&ev), None));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.b,
        &chains[3],
        &Forge::default(),
    );
    out.push(w.case(
        "ok/pin-moves-forward",
        to_json(&ev),
        Some(pin_of(&chains[1])),
    ));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.a,
        &chains[1],
        &Forge::default(),
    );
    out.push(w.case("ok/pin-at-head", to_json(&ev), Some(pin_of(&chains[1]))));
    let reordered = format!(
        r#"{{"client_reference":"payout-1042","amount":"0.250000","destination":"{}","network":"bitcoin","asset":"BTC"}}"#,
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
    );
    let mut case = w.case("ok/details-as-the-exchange-wrote-them", to_json(&ev), None);
    case.details = reordered;
    out.push(case);
    let ev = w.by_b(&forge(|f| f.counter = Some(0)));
    out.push(w.case("ok/counter-zero", to_json(&ev), None));
    let ev = w.by_b(&forge(|f| f.user_verified = Some(false)));
    let mut case = w.case("ok/uv-missing-not-required", to_json(&ev), None);
    case.require_uv = false;
    out.push(case);
    out.push(w.case("refused/uv-missing-required", to_json(&ev), None));
    let address = r#"{"network":"ethereum","address":"0x52908400098527886E0F7030069857D2E4169EE7","label":"Kälte-Wallet"}"#;
    let ev = approve(
        "address.add",
        address,
        &mut w.b,
        &chains[1],
        &Forge::default(),
    );
    out.push(Case {
        name: "ok/address-add".into(),
        action: "address.add",
        details: address.into(),
        evidence: to_json(&ev),
        pin: None,
        require_uv: true,
    });
    let api_key = r#"{"label":"bot","scopes":["withdraw","read"],"ip_allowlist":["203.0.113.0/24"],"expires_in_days":90}"#;
    let ev = approve(
        "api_key.create",
        api_key,
        &mut w.b,
        &chains[1],
        &Forge::default(),
    );
    out.push(Case {
        name: "ok/api-key-create".into(),
        action: "api_key.create",
        details: api_key.into(),
        evidence: to_json(&ev),
        pin: None,
        require_uv: true,
    });
    // Two genesis entries: an account that had two keys when its chain began.
    let mut two = vec![fixture::genesis(fixture::alice(), &w.a, T0, None, false)];
    let mut second = fixture::genesis(fixture::alice(), &w.b, T0, None, false).statement;
    second.seq = 1;
    second.prev = Some(two[0].hash.clone());
    two.push(ChainEntry::new(second, None, None));
    let ev = approve("withdrawal", &details, &mut w.b, &two, &Forge::default());
    out.push(w.case("ok/chain-opening-with-two-keys", to_json(&ev), None));
    // Entries up to the pin were checked when the pin was made: their
    // endorsements are not checked again (the hashes chain to the pin).
    let mut stripped = chains[2].clone();
    stripped[1].endorsement = None;
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.c,
        &stripped,
        &Forge::default(),
    );
    out.push(w.case(
        "ok/pinned-entries-not-rechecked",
        to_json(&ev),
        Some(pin_of(&chains[1])),
    ));
    out.push(w.case("chain/unpinned-entry-unendorsed", to_json(&ev), None));
    let ev = w.edited_json(|e| e["relayed_by"] = json!("gateway-2"));
    out.push(w.case("ok/unknown-top-level-member-ignored", ev, None));

    // The exchange's details and the evidence's.
    let ev = w.by_b(&Forge::default());
    let mut case = w.case(
        "details/exchange-asked-for-another-amount",
        to_json(&ev),
        None,
    );
    case.details = case.details.replace("0.25", "2.5");
    out.push(case);
    let ev = w.edited(|e| e.details = e.details.replace("0.25", "2.5"));
    out.push(w.case("tampered/details", ev, None));
    let ev = w.edited(|e| e.nonce = b64(&fixed("another nonce")));
    out.push(w.case("tampered/nonce", ev, None));
    let ev = w.edited(|e| e.nonce = "AAAA".into());
    out.push(w.case("malformed/nonce-short", ev, None));
    let ev = w.edited(|e| e.nonce.push('='));
    out.push(w.case("malformed/nonce-padded", ev, None));

    // authenticatorData: rp id hash (bytes 0-31), flags (32), counter (33-36).
    let parts: [(&str, usize, u8); 5] = [
        ("tampered/auth-data-rp-id-hash", 0, 0x01),
        ("tampered/auth-data-flag-up-cleared", 32, 0x01),
        ("tampered/auth-data-flag-uv-cleared", 32, 0x04),
        ("tampered/auth-data-flag-be-set", 32, 0x08),
        ("tampered/auth-data-counter", 36, 0x01),
    ];
    for (name, at, bit) in parts {
        let ev = w.edited(|e| flip(&mut e.assertion.authenticator_data, at, bit));
        out.push(w.case(name, ev, None));
    }
    let ev = w.edited(|e| e.assertion.authenticator_data.truncate(36));
    out.push(w.case("tampered/auth-data-truncated", ev, None));
    // clientDataJSON, changed after signing.
    let edits: [(&str, &str, &str); 4] = [
        (
            "tampered/client-data-type",
            "webauthn.get",
            "webauthn.create",
        ),
        (
            "tampered/client-data-challenge",
            "\"challenge\":\"",
            "\"challenge\":\"A",
        ),
        (
            "tampered/client-data-origin",
            "https://auth.exchange.example",
            "https://evil.example",
        ),
        (
            "tampered/client-data-cross-origin",
            "\"crossOrigin\":false",
            "\"crossOrigin\":true",
        ),
    ];
    for (name, from, to) in edits {
        let ev = w.edited(|e| replace(&mut e.assertion.client_data_json, from, to));
        out.push(w.case(name, ev, None));
    }
    let ev = w.edited(|e| {
        let last = e.assertion.signature.len() - 1;
        flip(&mut e.assertion.signature, last, 0x01);
    });
    out.push(w.case("tampered/signature", ev, None));
    let ev = w.edited(|e| e.assertion.signature = raw_signature(&e.assertion));
    out.push(w.case("tampered/signature-raw-not-der", ev, None));
    let a_key = w.a.record.public_key.clone();
    let ev = w.edited(|e| e.assertion.public_key = a_key);
    out.push(w.case("tampered/public-key-of-another-chain-key", ev, None));
    let ev = w.edited(|e| {
        let keyward_proof::PublicKeyBytes::Es256(point) = &mut e.assertion.public_key;
        point[64] ^= 0x01;
    });
    out.push(w.case("tampered/public-key-not-on-curve", ev, None));
    let x_id = w.x.record.credential_id.clone();
    let ev = w.edited(|e| e.assertion.credential_id = x_id);
    out.push(w.case("tampered/credential-id-not-in-chain", ev, None));

    // Lies the key signs: the checks after the signature refuse them.
    let lies: [(&str, Forge); 7] = [
        (
            "signed/wrong-rp-id",
            forge(|f| f.rp_id = Some("exchange.example".into())),
        ),
        (
            "signed/wrong-origin",
            forge(|f| f.origin = Some("https://auth.exchange.example.evil".into())),
        ),
        (
            "signed/origin-trailing-slash",
            forge(|f| f.origin = Some("https://auth.exchange.example/".into())),
        ),
        ("signed/cross-origin-true", forge(|f| f.cross_origin = true)),
        (
            "signed/type-webauthn-create",
            forge(|f| f.client_data_type = Some("webauthn.create".into())),
        ),
        (
            "signed/other-challenge",
            forge(|f| f.challenge = Some(fixed("other challenge").to_vec())),
        ),
        (
            "signed/user-not-present",
            forge(|f| f.user_present = Some(false)),
        ),
    ];
    for (name, lie) in lies {
        let ev = w.by_b(&lie);
        out.push(w.case(name, to_json(&ev), None));
    }
    // A key outside the chain, signing honestly with its own public key.
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &chains[1],
        &Forge::default(),
    );
    out.push(w.case("key/outsider-not-in-chain", to_json(&ev), None));
    // Key X claims B's credential id with its own public key.
    let mut ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &chains[1],
        &Forge::default(),
    );
    ev.assertion.credential_id = w.b.record.credential_id.clone();
    out.push(w.case(
        "key/credential-id-of-chain-key-with-other-public-key",
        to_json(&ev),
        None,
    ));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.a,
        &chains[3],
        &Forge::default(),
    );
    out.push(w.case("key/removed-key", to_json(&ev), None));

    crate::chain_cases::chain_cases(&mut w, &mut out);
    crate::chain_cases::malformed_cases(&mut w, &mut out);
    out
}

/// The ES256 signature as raw `r ‖ s` (64 bytes) instead of ASN.1 DER.
fn raw_signature(a: &AssertionEvidence) -> Vec<u8> {
    let der = &a.signature;
    // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths.
    let int = |at: usize| -> (Vec<u8>, usize) {
        let len = der[at + 1] as usize;
        let bytes = &der[at + 2..at + 2 + len];
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut padded = vec![0; 32 - trimmed.len()];
        padded.extend(trimmed);
        (padded, at + 2 + len)
    };
    let (mut r, next) = int(2);
    let (s, _) = int(next);
    r.extend(s);
    r
}
