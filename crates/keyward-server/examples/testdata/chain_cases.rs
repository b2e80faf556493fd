//! The approval vectors about key chains (each way one can be wrong, and
//! the pin it is followed from) and about evidence that does not parse.

use keyward_proof::chain::{ChainAction, ChainEntry, Statement};
use keyward_testkit::Forge;
use serde_json::{Value, json};

use crate::approval_cases::forge;
use crate::approvals::{Case, World, approve, pin_of, to_json};
use crate::fixture::{self, T0, bob, fixed};

const DAY: i64 = 86_400;

/// A named edit of a chain, or of evidence JSON.
type ChainEdit = (&'static str, fn(&mut Vec<ChainEntry>));
type JsonEdit = (&'static str, fn(&mut Value));

pub fn chain_cases(w: &mut World, out: &mut Vec<Case>) {
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
    let malformed: [ChainEdit; 4] = [
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

pub fn malformed_cases(w: &mut World, out: &mut Vec<Case>) {
    let edits: [JsonEdit; 7] = [
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
