//! Reads one case per line on stdin and prints Keyward's verdict on it, so
//! fuzz.py can compare the Python port with the Rust it ports.

use std::io::BufRead;

use keyward_client::TokenError;
use keyward_client::offline::{JwkSet, verify_event_with_set, verify_with_set};
use keyward_proof::approval::{Expected, verify_approval};
use keyward_proof::{ApprovalEvidence, Pin, RelyingParty};
use serde_json::{Value, json};

fn token_error(e: TokenError) -> String {
    // The variant in snake case, as every client reports it.
    let name = format!("{e:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn check(v: &Value) -> Value {
    let text = |k: &str| v[k].as_str().unwrap_or_default();
    match text("check") {
        "details" => match keyward_proof::details::canonical_of(text("action"), &v["details"]) {
            Ok(c) => json!({"canonical": c.json, "digest": hex::encode(c.digest)}),
            Err(e) => json!({"field": e.field}),
        },
        "approval" => {
            let Ok(evidence) = serde_json::from_value::<ApprovalEvidence>(v["evidence"].clone()) else {
                return json!({"error": "malformed_evidence"});
            };
            let pin: Option<Pin> = serde_json::from_value(v["pin"].clone()).unwrap_or(None);
            let rp = RelyingParty { rp_id: text("rp_id").into(), origin: text("origin").into() };
            let digest: [u8; 32] = hex::decode(text("digest")).ok().and_then(|d| d.try_into().ok()).unwrap_or([0; 32]);
            let expected = Expected { rp: &rp, digest, require_uv: v["require_uv"].as_bool().unwrap_or(true), pin: pin.as_ref() };
            match verify_approval(&evidence, &expected) {
                Ok(ok) => json!({"ok": true, "head": ok.chain.head, "seq": ok.chain.seq,
                                 "counter": ok.facts.counter, "uv": ok.facts.user_verified}),
                Err(e) => json!({"error": e.slug(), "reason": e.reason()}),
            }
        }
        "event" | "approval_token" => {
            let Ok(set) = serde_json::from_value::<JwkSet>(v["jwks"].clone()) else {
                return json!({"ok": false, "error": "jwks"});
            };
            let token = text("token");
            if text("check") == "event" {
                match verify_event_with_set(token, &set, text("issuer"), text("audience")) {
                    Ok(c) => json!({"ok": true, "claims": c}),
                    Err(e) => json!({"ok": false, "error": token_error(e)}),
                }
            } else {
                match verify_with_set(token, &set, text("issuer"), 0) {
                    Ok(c) => json!({"ok": true, "sid": c.step_up_id.to_string(), "jti": c.jti.to_string(),
                                    "aaguid": c.aaguid.map(|u| u.to_string())}),
                    Err(e) => json!({"ok": false, "error": token_error(e)}),
                }
            }
        }
        other => json!({"unknown_check": other}),
    }
}

fn main() {
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let v: Value = serde_json::from_str(&line).expect("one JSON case per line");
        println!("{}", check(&v));
    }
}
