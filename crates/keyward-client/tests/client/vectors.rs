//! The shared test vectors (`testdata/`, issue 21): the Rust code gives
//! exactly the verdict each case records, so the Python and TypeScript
//! clients, which are tested against the same files, agree with it. The
//! files are written by `cargo run -p keyward-server --example testdata`;
//! CI checks they are current (`--check`).

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_client::offline::{JwkSet, verify_event_with_set};
use keyward_client::{ApprovalEvidence, Error, MemoryPins, Pin, PinStore, Verifier};
use keyward_proof::approval::{ApprovalError, Expected, MALFORMED_EVIDENCE, verify_approval};
use keyward_proof::details::{canonical_of, digest_of};
use keyward_proof::{ChainError, RelyingParty};
use serde_json::{Value, json};

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], 1, "{name}");
    file
}

fn cases(file: &Value) -> &Vec<Value> {
    file["cases"].as_array().expect("cases")
}

/// Runs `verdict` on every case and reports every mismatch at once.
fn check_all(file: &Value, minimum: usize, verdict: impl Fn(&Value) -> Value) {
    let all = cases(file);
    assert!(
        all.len() >= minimum,
        "{} cases, want at least {minimum}",
        all.len()
    );
    let wrong: Vec<String> = all
        .iter()
        .filter_map(|case| {
            let got = verdict(case);
            (got != case["expect"])
                .then(|| format!("{}: recorded {} got {got}", case["name"], case["expect"]))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn vectors_canonical_details_and_digests() {
    check_all(&load("canonical.json"), 25, |case| {
        let action = case["action"].as_str().unwrap();
        match canonical_of(action, &case["details"]) {
            Ok(c) => {
                // digest_of is what verifiers call: the same digest.
                assert_eq!(digest_of(action, &case["details"]).unwrap(), c.digest);
                json!({ "canonical": c.json, "digest": c.digest_hex() })
            }
            Err(e) => json!({ "error": "validation", "field": e.field }),
        }
    });
}

fn rp(file: &Value) -> RelyingParty {
    RelyingParty {
        rp_id: file["rp"]["rp_id"].as_str().unwrap().to_owned(),
        origin: file["rp"]["origin"].as_str().unwrap().to_owned(),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refusal(e: &ApprovalError) -> Value {
    let mut out = json!({ "ok": false, "error": e.slug() });
    if let Some(reason) = e.reason() {
        out["reason"] = json!(reason);
    }
    if let ApprovalError::Chain(ChainError::Restarted {
        pinned,
        genesis,
        restarted_from,
        recovered,
    }) = e
    {
        out["restart"] = json!({ "pinned": pinned, "genesis": genesis,
            "restarted_from": restarted_from, "recovered": recovered });
    }
    out
}

#[test]
fn vectors_approvals_keyward_proof() {
    let file = load("approvals.json");
    let rp = rp(&file);
    check_all(&file, 35, |case| {
        let Ok(evidence) = serde_json::from_value::<ApprovalEvidence>(case["evidence"].clone())
        else {
            return json!({ "ok": false, "error": MALFORMED_EVIDENCE });
        };
        let action = case["action"].as_str().unwrap();
        let pin: Option<Pin> = serde_json::from_value(case["pin"].clone()).unwrap();
        let expected = Expected {
            rp: &rp,
            digest: digest_of(action, &case["details"]).unwrap(),
            require_uv: case["require_uv"].as_bool().unwrap(),
            pin: pin.as_ref(),
        };
        match verify_approval(&evidence, &expected) {
            Ok(ok) => json!({
                "ok": true,
                "key": { "credential_id": b64(&ok.key.credential_id) },
                "pin": ok.chain.pin(),
                "user_verified": ok.facts.user_verified,
                "counter": ok.facts.counter,
            }),
            Err(e) => refusal(&e),
        }
    });
}

/// keyward-client's `Verifier` (what an exchange calls) agrees: accepted
/// cases move the stored pin to the recorded one, refused ones leave it.
#[test]
fn vectors_approvals_keyward_client_verifier() {
    let file = load("approvals.json");
    let rp = rp(&file);
    for case in cases(&file) {
        let name = &case["name"];
        let expect = &case["expect"];
        let Ok(evidence) = serde_json::from_value::<ApprovalEvidence>(case["evidence"].clone())
        else {
            assert_eq!(expect["error"], MALFORMED_EVIDENCE, "{name}");
            continue;
        };
        let pins = Arc::new(MemoryPins::default());
        let pin: Option<Pin> = serde_json::from_value(case["pin"].clone()).unwrap();
        if let Some(pin) = &pin {
            pins.put("alice", pin).unwrap();
        }
        let mut verifier = Verifier::new(&rp.rp_id, &rp.origin, pins.clone());
        if case["require_uv"] == false {
            verifier = verifier.allow_without_uv();
        }
        let action = case["action"].as_str().unwrap();
        match verifier.verify("alice", action, &case["details"], &evidence) {
            Ok(_) => {
                assert_eq!(expect["ok"], true, "{name}");
                let stored = pins.get("alice").unwrap().unwrap();
                assert_eq!(
                    serde_json::to_value(stored).unwrap(),
                    expect["pin"],
                    "{name}"
                );
            }
            Err(Error::Unverified { reason, .. }) => {
                assert_eq!(expect["error"], reason, "{name}");
                assert_eq!(pins.get("alice").unwrap(), pin, "{name}: pin kept");
            }
            Err(Error::ChainRestarted { recovered, .. }) => {
                assert_eq!(expect["error"], "chain_restarted", "{name}");
                assert_eq!(expect["restart"]["recovered"], recovered, "{name}");
            }
            Err(other) => panic!("{name}: {other}"),
        }
    }
}

#[test]
fn vectors_events() {
    let file = load("events.json");
    let set: JwkSet = serde_json::from_value(file["jwks"].clone()).unwrap();
    let issuer = file["issuer"].as_str().unwrap();
    check_all(&file, 15, |case| {
        let token = case["token"].as_str().unwrap();
        let audience = case["audience"].as_str().unwrap();
        match verify_event_with_set(token, &set, issuer, audience) {
            Ok(claims) => json!({ "ok": true, "claims": claims }),
            Err(e) => json!({ "ok": false, "error": e.slug() }),
        }
    });
}

#[test]
fn vectors_problems_are_the_catalogue() {
    let file = load("problems.json");
    assert_eq!(file["base"], keyward_api::PROBLEM_BASE);
    let listed: Vec<Value> = keyward_api::ProblemKind::all()
        .map(|kind| {
            let (status, title) = kind.status_and_title();
            json!({ "slug": kind.slug(), "status": status, "title": title })
        })
        .collect();
    assert_eq!(file["problems"], Value::Array(listed));
}
