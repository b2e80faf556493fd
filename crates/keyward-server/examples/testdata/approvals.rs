//! testdata/approvals.json: approval evidence as Keyward's redeem returns
//! it (real assertions and key chains, then each part tampered with), and
//! the verdict of `keyward_proof::verify_approval` for the exchange's
//! details, pin and UV requirement.

use keyward_proof::approval::{ApprovalError, Expected, MALFORMED_EVIDENCE, verify_approval};
use keyward_proof::chain::{ChainAction, ChainEntry, Pin, follow};
use keyward_proof::details::{canonical_of, digest_of};
use keyward_proof::testing::rp;
use keyward_proof::{ApprovalEvidence, step_up_challenge};
use keyward_testkit::Forge;
use serde_json::{Value, json};

use crate::fixture::{self, Key, T0, b64, fixed};
use crate::json::{J, obj, v};

const DEST: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
const DAY: i64 = 86_400;

/// One approval vector before its verdict.
pub struct Case {
    pub name: String,
    pub action: &'static str,
    /// The details the exchange asked for, as raw JSON text.
    pub details: String,
    pub evidence: Value,
    pub pin: Option<Pin>,
    pub require_uv: bool,
}

fn withdrawal() -> String {
    format!(
        r#"{{"asset":"BTC","network":"bitcoin","amount":"0.25","destination":"{DEST}","client_reference":"payout-1042"}}"#
    )
}

/// The pin an exchange keeps after following `chain`.
pub fn pin_of(chain: &[ChainEntry]) -> Pin {
    follow(chain, &rp(), None).expect("a valid chain").pin()
}

/// Evidence of `signer` approving `action` with `details` (raw JSON),
/// carrying `chain`, as Keyward's redeem answers it.
pub fn approve(
    action: &str,
    details: &str,
    signer: &mut Key,
    chain: &[ChainEntry],
    forge: &Forge,
) -> ApprovalEvidence {
    let raw: Value = serde_json::from_str(details).expect("details are JSON");
    let canonical = canonical_of(action, &raw).expect("valid details");
    let nonce = fixed(&format!("step-up nonce {}", canonical.json));
    let challenge = step_up_challenge(&nonce, &canonical.digest);
    ApprovalEvidence {
        details: canonical.json,
        nonce: b64(&nonce),
        assertion: signer.assert(&challenge, forge),
        key_chain: chain.to_vec(),
    }
}

fn json_of(evidence: &ApprovalEvidence) -> Value {
    serde_json::to_value(evidence).expect("evidence serialises")
}

/// The verdict of the Rust code, in the vectors' form.
pub fn expect(case: &Case) -> J {
    let Ok(evidence) = serde_json::from_value::<ApprovalEvidence>(case.evidence.clone()) else {
        return obj([("ok", v(false)), ("error", v(MALFORMED_EVIDENCE))]);
    };
    let raw: Value = serde_json::from_str(&case.details).expect("details are JSON");
    let digest = digest_of(case.action, &raw).expect("the exchange's details are valid");
    let rp = rp();
    let expected = Expected {
        rp: &rp,
        digest,
        require_uv: case.require_uv,
        pin: case.pin.as_ref(),
    };
    match verify_approval(&evidence, &expected) {
        Ok(ok) => obj([
            ("ok", v(true)),
            (
                "key",
                obj([("credential_id", v(b64(&ok.key.credential_id)))]),
            ),
            ("pin", v(serde_json::to_value(ok.chain.pin()).expect("pin"))),
            ("user_verified", v(ok.facts.user_verified)),
            ("counter", v(ok.facts.counter)),
        ]),
        Err(e) => refusal(&e),
    }
}

fn refusal(e: &ApprovalError) -> J {
    let mut members = vec![
        ("ok".to_owned(), v(false)),
        ("error".to_owned(), v(e.slug())),
    ];
    if let Some(reason) = e.reason() {
        members.push(("reason".to_owned(), v(reason)));
    }
    if let ApprovalError::Chain(keyward_proof::ChainError::Restarted {
        pinned,
        genesis,
        restarted_from,
        recovered,
    }) = e
    {
        let restart = json!({ "pinned": pinned, "genesis": genesis,
            "restarted_from": restarted_from, "recovered": recovered });
        members.push(("restart".to_owned(), v(restart)));
    }
    J::Obj(members)
}

/// The file, as JSON.
pub fn file() -> J {
    let cases = crate::approval_cases::cases()
        .into_iter()
        .map(|c| {
            let pin = c.pin.as_ref().map_or(Value::Null, |p| {
                serde_json::to_value(p).expect("pin serialises")
            });
            obj([
                ("name", v(c.name.clone())),
                ("action", v(c.action)),
                ("details", J::Raw(c.details.clone())),
                ("evidence", v(c.evidence.clone())),
                ("pin", v(pin)),
                ("require_uv", v(c.require_uv)),
                ("expect", expect(&c)),
            ])
        })
        .collect();
    let rp = rp();
    obj([
        ("version", v(1)),
        (
            "rp",
            obj([("rp_id", v(rp.rp_id)), ("origin", v(rp.origin))]),
        ),
        ("cases", J::Arr(cases)),
    ])
}

/// The keys and chains the cases share: alice enrols key A, adds B (A
/// endorses), adds C (B endorses), removes A (C endorses). X is a key
/// outside her chain; D is the key she enrols after a recovery.
pub struct World {
    pub a: Key,
    pub b: Key,
    pub c: Key,
    pub d: Key,
    pub x: Key,
    /// Her chain after each change: `chains[0]` is the genesis alone.
    pub chains: Vec<Vec<ChainEntry>>,
    pub details: String,
}

impl World {
    pub fn new() -> Self {
        let (mut a, mut b, mut c) = (fixture::key(1, 6), fixture::key(2, 41), fixture::key(3, 0));
        let (d, x) = (fixture::key(4, 2), fixture::key(9, 17));
        let c0 = vec![fixture::genesis(fixture::alice(), &a, T0, None, false)];
        let c1 = fixture::extend(&c0, ChainAction::Add, &b, &mut a, T0 + 3 * DAY);
        let c2 = fixture::extend(&c1, ChainAction::Add, &c, &mut b, T0 + 40 * DAY);
        let c3 = fixture::extend(&c2, ChainAction::Remove, &a, &mut c, T0 + 41 * DAY);
        Self {
            a,
            b,
            c,
            d,
            x,
            chains: vec![c0, c1, c2, c3],
            details: withdrawal(),
        }
    }

    /// A case approving the standard withdrawal.
    pub fn case(&self, name: &str, evidence: Value, pin: Option<Pin>) -> Case {
        Case {
            name: name.to_owned(),
            action: "withdrawal",
            details: self.details.clone(),
            evidence,
            pin,
            require_uv: true,
        }
    }

    /// Key B approving the standard withdrawal, with chain 1, `forge`d.
    pub fn by_b(&mut self, forge: &Forge) -> ApprovalEvidence {
        let chain = self.chains[1].clone();
        approve(
            "withdrawal",
            &self.details.clone(),
            &mut self.b,
            &chain,
            forge,
        )
    }

    /// [`World::by_b`] honestly, then `edit`ed, as JSON.
    pub fn edited(&mut self, edit: impl FnOnce(&mut ApprovalEvidence)) -> Value {
        let mut evidence = self.by_b(&Forge::default());
        edit(&mut evidence);
        json_of(&evidence)
    }

    /// [`World::by_b`] honestly as JSON, then `edit`ed as JSON.
    pub fn edited_json(&mut self, edit: impl FnOnce(&mut Value)) -> Value {
        let mut evidence = json_of(&self.by_b(&Forge::default()));
        edit(&mut evidence);
        evidence
    }
}

pub fn to_json(evidence: &ApprovalEvidence) -> Value {
    json_of(evidence)
}
