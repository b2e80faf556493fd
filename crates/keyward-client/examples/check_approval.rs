//! The exchange's own check of a redeemed approval, as a back end runs it
//! before paying: reads Keyward's redeem response on stdin and verifies its
//! evidence against the details the exchange asked for and the user's key
//! chain pinned in a file. Trusts nothing Keyward says about itself.
//!
//! ```sh
//! curl … /v1/step-ups/$W/redeem | cargo run -q -p keyward-client --example check_approval -- \
//!     --rp-id localhost --origin http://localhost:8080 --pins pins.json \
//!     --user alice --action withdrawal --details '{"asset":"BTC",…}'
//! ```
//!
//! Exit 0 and "PAY" when it verifies; exit 1 and "DO NOT PAY: …" otherwise.

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use keyward_api::step_ups::Redeemed;
use keyward_client::{Error, FilePins, Verifier};

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("PAY: {line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("DO NOT PAY: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let (mut rp_id, mut origin, mut pins, mut user, mut action, mut details) =
        (None, None, None, None, Some("withdrawal".to_owned()), None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rp-id" => rp_id = Some(value),
            "--origin" => origin = Some(value),
            "--pins" => pins = Some(value),
            "--user" => user = Some(value),
            "--action" => action = Some(value),
            "--details" => details = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let need = |v: Option<String>, name: &str| v.ok_or(format!("--{name} is required"));
    let (rp_id, origin, pins) = (
        need(rp_id, "rp-id")?,
        need(origin, "origin")?,
        need(pins, "pins")?,
    );
    let (user, action, details) = (
        need(user, "user")?,
        need(action, "action")?,
        need(details, "details")?,
    );
    let details: serde_json::Value =
        serde_json::from_str(&details).map_err(|e| format!("--details is not JSON: {e}"))?;
    let mut body = String::new();
    std::io::stdin()
        .read_to_string(&mut body)
        .map_err(|e| e.to_string())?;
    let redeemed: Redeemed =
        serde_json::from_str(&body).map_err(|e| format!("not a redeem response: {e}"))?;
    let evidence = redeemed
        .evidence
        .ok_or("the redeem response carries no evidence")?;
    let verifier = Verifier::new(&rp_id, &origin, Arc::new(FilePins::new(pins)));
    match verifier.verify(&user, &action, &details, &evidence) {
        Ok(v) => Ok(format!(
            "{user}'s key {} signed exactly these details; key chain followed to entry {} (head {})",
            hex(&v.key.credential_id),
            v.chain.seq,
            &v.chain.head[..16],
        )),
        Err(Error::ChainRestarted { .. }) => Err(
            "the user's key chain started again: confirm with the user before accepting it".into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
