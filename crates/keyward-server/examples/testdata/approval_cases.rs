//! The approval vectors themselves: the honest approvals, then each part of
//! the evidence changed after the key signed (only the signature can tell),
//! each lie a key could sign (the checks after the signature tell), and each
//! way a key chain can be wrong.

use keyward_proof::chain::{ChainAction, ChainEntry, Statement};
use keyward_proof::evidence::AssertionEvidence;
use keyward_testkit::Forge;
use serde_json::{Value, json};

use crate::approvals::{Case, World, approve, pin_of, to_json};
use crate::fixture::{self, T0, b64, bob, fixed};

const DAY: i64 = 86_400;

/// Flips one bit of byte `at` (after signing: the signature no longer holds).
fn flip(bytes: &mut [u8], at: usize, bit: u8) {
    bytes[at] ^= bit;
}

fn replace(bytes: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(bytes.clone()).expect("clientDataJSON is UTF-8");
    assert!(text.contains(from), "{from} in {text}");
    *bytes = text.replacen(from, to, 1).into_bytes();
}

fn forge(edit: impl FnOnce(&mut Forge)) -> Forge {
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

    chain_cases(&mut w, &mut out);
    malformed_cases(&mut w, &mut out);
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

fn chain_cases(w: &mut World, out: &mut Vec<Case>) {
    let chains = w.chains.clone();
    let details = w.details.clone();
    let c0 = &chains[0];
    // Key X added with no endorsement, then approving.
    let mut unendorsed = c0.clone();
    unendorsed.push(ChainEntry::new(
        fixture::next(c0, ChainAction::Add, &w.x, T0 + DAY),
        None,
        None,
    ));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &unendorsed,
        &Forge::default(),
    );
    out.push(w.case("chain/add-without-endorsement", to_json(&ev), None));
    // X added, endorsed by X itself (a key not in the chain).
    let statement = fixture::next(c0, ChainAction::Add, &w.x, T0 + DAY);
    let mut self_endorsed = c0.clone();
    self_endorsed.push(fixture::endorse(statement, &mut w.x));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &self_endorsed,
        &Forge::default(),
    );
    out.push(w.case("chain/add-endorsed-by-the-added-key", to_json(&ev), None));
    // B added, endorsed by C, which only joins after it.
    let statement = fixture::next(c0, ChainAction::Add, &w.b, T0 + 3 * DAY);
    let mut early = c0.clone();
    early.push(fixture::endorse(statement, &mut w.c));
    let early = fixture::extend(&early, ChainAction::Add, &w.c, &mut w.b, T0 + 40 * DAY);
    let ev = approve("withdrawal", &details, &mut w.b, &early, &Forge::default());
    out.push(w.case(
        "chain/endorsed-by-a-key-not-yet-in-chain",
        to_json(&ev),
        None,
    ));
    // An endorsement made for another rp id.
    let statement = fixture::next(c0, ChainAction::Add, &w.x, T0 + DAY);
    let challenge = keyward_proof::chain_challenge(&statement.hash());
    let lie = forge(|f| f.rp_id = Some("exchange.example".into()));
    let endorsement = w.a.assert(&challenge, &lie);
    let mut other_rp = c0.clone();
    other_rp.push(ChainEntry::new(statement, Some(endorsement), None));
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &other_rp,
        &Forge::default(),
    );
    out.push(w.case("chain/endorsement-for-another-rp", to_json(&ev), None));
    // Entry 1's prev names no entry (its hash and endorsement redone to match).
    let mut statement = fixture::next(c0, ChainAction::Add, &w.b, T0 + 3 * DAY);
    statement.prev = Some(hex::encode(fixed("no such entry")));
    let mut broken = c0.clone();
    broken.push(fixture::endorse(statement, &mut w.a));
    let ev = approve("withdrawal", &details, &mut w.b, &broken, &Forge::default());
    out.push(w.case("chain/broken-prev-link", to_json(&ev), None));
    // Entry 1 rewritten to add X, its hash left as it was.
    let mut rewritten = chains[1].clone();
    rewritten[1].statement.key = w.x.record.clone();
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.x,
        &rewritten,
        &Forge::default(),
    );
    out.push(w.case("chain/rewritten-entry-old-hash", to_json(&ev), None));
    // Entry 1 rewritten and rehashed, re-endorsed by A: a valid chain, but
    // not the one pinned.
    let statement = fixture::next(c0, ChainAction::Add, &w.x, T0 + 3 * DAY);
    let mut forked = c0.clone();
    forked.push(fixture::endorse(statement, &mut w.a));
    let ev = approve("withdrawal", &details, &mut w.x, &forked, &Forge::default());
    out.push(w.case(
        "chain/rewritten-below-pin",
        to_json(&ev),
        Some(pin_of(&chains[1])),
    ));
    out.push(w.case(
        "chain/rewritten-without-pin-is-trusted-on-first-use",
        to_json(&ev),
        None,
    ));
    // The chain handed over stops before the pinned head.
    let ev = approve(
        "withdrawal",
        &details,
        &mut w.b,
        &chains[1],
        &Forge::default(),
    );
    out.push(w.case(
        "chain/entry-removed-below-pin",
        to_json(&ev),
        Some(pin_of(&chains[2])),
    ));
    let mut others = pin_of(&chains[1]);
    others.user = bob();
    out.push(w.case("chain/another-users-pin", to_json(&ev), Some(others)));
    // Restarts: a new genesis (key D) naming the old head.
    let old_head = chains[3].last().expect("head");
    for (name, recovered) in [
        ("chain/restarted-after-recovery", true),
        ("chain/restarted-by-operator", false),
    ] {
        let restarted = vec![fixture::genesis(
            fixture::alice(),
            &w.d,
            T0 + 90 * DAY,
            Some(old_head),
            recovered,
        )];
        let ev = approve(
            "withdrawal",
            &details,
            &mut w.d,
            &restarted,
            &Forge::default(),
        );
        out.push(w.case(name, to_json(&ev), Some(pin_of(&chains[3]))));
        if recovered {
            out.push(w.case("ok/restarted-chain-without-pin", to_json(&ev), None));
        }
    }
    let ev = approve("withdrawal", &details, &mut w.b, &[], &Forge::default());
    out.push(w.case("chain/empty", to_json(&ev), None));
    let ev = w.edited_json(|e| {
        e.as_object_mut().expect("object").remove("key_chain");
    });
    out.push(w.case("chain/absent", ev, None));
    // Entries that are not well formed.
    // (Checked before the endorsement, so the one left in place does not matter.)
    let malformed: [(&str, fn(&mut Vec<ChainEntry>)); 4] = [
        ("chain/seq-out-of-place", |c| {
            rehash(&mut c[1], |s| s.seq = 2)
        }),
        ("chain/entry-of-another-user", |c| {
            rehash(&mut c[1], |s| s.user = bob())
        }),
        ("chain/genesis-endorsed", |c| {
            c[0].endorsement = c[1].endorsement.clone()
        }),
        ("chain/attestation-not-matching-digest", |c| {
            c[1].attestation = Some(b"not the attestation".to_vec());
        }),
    ];
    for (name, edit) in malformed {
        let mut chain = chains[1].clone();
        edit(&mut chain);
        let ev = approve("withdrawal", &details, &mut w.b, &chain, &Forge::default());
        out.push(w.case(name, to_json(&ev), None));
    }
    // Changes A endorses that make no sense: adding itself again, removing
    // a key that never joined.
    let again = fixture::next(c0, ChainAction::Add, &w.a, T0 + DAY);
    let mut chain = c0.clone();
    chain.push(fixture::endorse(again, &mut w.a));
    let ev = approve("withdrawal", &details, &mut w.a, &chain, &Forge::default());
    out.push(w.case("chain/adds-key-already-in-chain", to_json(&ev), None));
    let absent = fixture::next(c0, ChainAction::Remove, &w.x, T0 + DAY);
    let mut chain = c0.clone();
    chain.push(fixture::endorse(absent, &mut w.a));
    let ev = approve("withdrawal", &details, &mut w.a, &chain, &Forge::default());
    out.push(w.case("chain/removes-key-not-in-chain", to_json(&ev), None));
    let mut late = chains[1].clone();
    let mut g = fixture::genesis(fixture::alice(), &w.x, T0 + 5 * DAY, None, false).statement;
    g.seq = 2;
    g.prev = Some(late[1].hash.clone());
    late.push(ChainEntry::new(g, None, None));
    let ev = approve("withdrawal", &details, &mut w.x, &late, &Forge::default());
    out.push(w.case("chain/genesis-after-a-change", to_json(&ev), None));
}

/// Changes an entry's statement and recomputes its hash (an endorsement it
/// carries no longer covers it, which the check may or may not reach).
fn rehash(entry: &mut ChainEntry, edit: impl FnOnce(&mut Statement)) {
    let mut statement = entry.statement.clone();
    edit(&mut statement);
    *entry = ChainEntry::new(
        statement,
        entry.endorsement.clone(),
        entry.attestation.clone(),
    );
}

fn malformed_cases(w: &mut World, out: &mut Vec<Case>) {
    let edits: [(&str, fn(&mut Value)); 7] = [
        ("malformed/unknown-member-in-assertion", |e| {
            e["assertion"]["transports"] = json!(["usb"])
        }),
        ("malformed/signature-padded-base64", |e| {
            let s = e["assertion"]["signature"]
                .as_str()
                .expect("string")
                .to_owned();
            e["assertion"]["signature"] = json!(format!("{s}="));
        }),
        ("malformed/signature-standard-base64", |e| {
            e["assertion"]["signature"] = json!("MEUCIQ+/")
        }),
        ("malformed/public-key-rs256", |e| {
            e["assertion"]["public_key"]["alg"] = json!("RS256")
        }),
        ("malformed/assertion-missing", |e| {
            e.as_object_mut().expect("object").remove("assertion");
        }),
        ("malformed/unknown-member-in-chain-entry", |e| {
            e["key_chain"][0]["note"] = json!("hi")
        }),
        ("malformed/details-not-a-string", |e| {
            e["details"] = json!({"action": "withdrawal"})
        }),
    ];
    for (name, edit) in edits {
        let ev = w.edited_json(edit);
        out.push(w.case(name, ev, None));
    }
}
