//! Property tests (proptest) for the two pure halves of step-up approvals:
//! the canonical form a user's key signs over, and the withdrawal policy.
//!
//! - Canonicalisation is stable (the stored form re-canonicalises to itself,
//!   whatever the key order or spacing of the request) and injective (two
//!   different validated details never share a canonical form or digest).
//! - Policy is monotone: adding a freeze, a hold, spending or an allow-list
//!   delay never turns a refusal into an approval.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::domain::amount::{AssetConfig, default_assets};
use crate::domain::details::{Action, canonicalise, stored_details};
use crate::domain::policy::{AccountFacts, Decision, WithdrawalFacts, decide};

fn assets() -> BTreeMap<String, AssetConfig> {
    default_assets()
}

/// A valid amount for any default asset (≥ 6 decimals), written with
/// optional trailing zeros — which the canonical form drops.
fn amount() -> impl Strategy<Value = String> {
    (
        1u64..5_000,
        proptest::option::of(0u32..1_000_000),
        0usize..3,
    )
        .prop_map(|(int, frac, zeros)| match frac {
            Some(f) => format!("{int}.{f:06}{}", "0".repeat(zeros)),
            None => int.to_string(),
        })
}

fn withdrawal() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("BTC"), Just("ETH"), Just("USDT")],
        "[a-z0-9-]{2,12}",
        amount(),
        "[A-Za-z0-9:._-]{8,40}",
        proptest::option::of("[ -~]{1,20}"),
        "[A-Za-z0-9._:-]{1,24}",
    )
        .prop_map(|(asset, network, amount, destination, memo, reference)| {
            json!({ "asset": asset, "network": network, "amount": amount,
                    "destination": destination, "memo": memo, "client_reference": reference })
        })
}

fn address_add() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9-]{2,12}",
        "[A-Za-z0-9:._-]{8,40}",
        proptest::option::of("[a-zA-Z0-9 ]{0,8}[a-zA-Z0-9]"),
    )
        .prop_map(|(network, address, label)| {
            json!({ "network": network, "address": address, "label": label })
        })
}

fn api_key_create() -> impl Strategy<Value = Value> {
    (
        "[a-zA-Z0-9]{1,20}",
        proptest::sample::subsequence(vec!["read", "trade", "withdraw"], 1..=3),
        proptest::collection::vec((any::<[u8; 4]>(), 8u8..=32), 1..4),
        proptest::option::of(1u32..=3650),
    )
        .prop_map(|(label, scopes, ips, days)| {
            let ips: Vec<String> = ips
                .into_iter()
                .map(|(o, len)| format!("{}.{}.{}.{}/{len}", o[0], o[1], o[2], o[3]))
                .collect();
            json!({ "label": label, "scopes": scopes, "ip_allowlist": ips, "expires_in_days": days })
        })
}

/// Any valid request: (action, raw details).
fn request() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        withdrawal().prop_map(|d| ("withdrawal", d)),
        address_add().prop_map(|d| ("address.add", d)),
        api_key_create().prop_map(|d| ("api_key.create", d)),
    ]
}

/// The same JSON object written with its members reversed and spaced out.
fn respelled(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!(" {} : {} ", Value::String(k.clone()), respelled(v)))
                .collect();
            format!("{{ {} }}", members.join(" , "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(respelled).collect();
            format!("[ {} ]", items.join(" , "))
        }
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn canonical_form_is_stable((action, raw) in request()) {
        let c = canonicalise(action, &raw, &assets()).expect("generated details are valid");
        // Stored form → canonical again: byte-identical.
        let again = canonicalise(action, &stored_details(&c.json), &assets()).expect("stored form is valid");
        prop_assert_eq!(&again.json, &c.json);
        prop_assert_eq!(again.digest, c.digest);
        // Key order and whitespace of the request do not matter.
        let respelled: Value = serde_json::from_str(&respelled(&raw)).expect("respelled JSON parses");
        let third = canonicalise(action, &respelled, &assets()).expect("respelled details are valid");
        prop_assert_eq!(third.digest, c.digest);
        // The canonical JSON is what it says: parsing it and writing it again changes nothing.
        let parsed: Value = serde_json::from_str(&c.json).expect("canonical JSON parses");
        prop_assert_eq!(crate::domain::details::canonical_json(&parsed), c.json.clone());
    }

    #[test]
    fn canonical_form_is_injective((a_action, a) in request(), (b_action, b) in request()) {
        let ca = canonicalise(a_action, &a, &assets()).expect("valid");
        let cb = canonicalise(b_action, &b, &assets()).expect("valid");
        let same_meaning = ca.action == cb.action && ca.details == cb.details;
        prop_assert_eq!(same_meaning, ca.json == cb.json, "{} vs {}", ca.json, cb.json);
        prop_assert_eq!(same_meaning, ca.digest == cb.digest);
    }

    /// Pairs that differ in one field are the likely collisions; the
    /// independent pairs above almost never share a value.
    #[test]
    fn a_changed_withdrawal_field_changes_the_digest(
        w in withdrawal(),
        field in prop_oneof![Just("amount"), Just("destination"), Just("network"), Just("memo"), Just("client_reference"), Just("asset")],
        new in "[a-z0-9]{8,12}",
    ) {
        let original = canonicalise("withdrawal", &w, &assets()).expect("valid");
        let mut changed = w.clone();
        changed[field] = match field {
            "amount" => json!(format!("{}.1", original_units_int(&w))),
            "asset" => json!(if w["asset"] == "BTC" { "ETH" } else { "BTC" }),
            _ => json!(new),
        };
        if let Ok(c) = canonicalise("withdrawal", &changed, &assets()) {
            prop_assume!(c.details != original.details);
            prop_assert_ne!(c.digest, original.digest);
        }
    }

    #[test]
    fn policy_restrictions_never_loosen(
        account in account_facts(),
        facts in withdrawal_facts(),
        tighten in 0usize..7,
        action in prop_oneof![Just(Action::Withdrawal), Just(Action::AddressAdd), Just(Action::ApiKeyCreate)],
        now in 1_000i64..1_000_000,
        extra in 1u128..1_000,
    ) {
        let before = decide(action, &account, Some(&facts), now);
        let (mut a, mut w) = (account.clone(), facts.clone());
        match tighten {
            0 => a.global_freeze = Some("operator".into()),
            1 => a.user_frozen = true,
            2 => a.hold = Some((now + extra as i64, keyward_api::PolicyReason::KeyAdded)),
            3 => w.redeemed_last_24h += extra,
            4 => w.daily_limit = w.daily_limit.map(|l| l.saturating_sub(extra)).or(Some(0)),
            5 => w.address_usable_from = w.address_usable_from.map(|f| f.max(now) + extra as i64),
            _ => w.address_usable_from = None,
        }
        let after = decide(action, &a, Some(&w), now);
        prop_assert!(
            before == Decision::Allow || after != Decision::Allow,
            "{:?}/{:?} tightened by {} turned {:?} into {:?}", account, facts, tighten, before, after
        );
    }

    /// Without the withdrawal facts (policy unavailable) nothing is allowed.
    #[test]
    fn policy_fails_closed_without_facts(account in account_facts(), now in 0i64..1_000_000) {
        prop_assert_ne!(decide(Action::Withdrawal, &account, None, now), Decision::Allow);
    }
}

fn original_units_int(w: &Value) -> u64 {
    let amount = w["amount"].as_str().unwrap_or("0");
    amount
        .split('.')
        .next()
        .and_then(|i| i.parse::<u64>().ok())
        .unwrap_or(0)
        + 7
}

fn account_facts() -> impl Strategy<Value = AccountFacts> {
    (
        proptest::option::of("[a-z]{1,8}"),
        any::<bool>(),
        proptest::option::of((0i64..2_000_000, 0usize..6)),
    )
        .prop_map(|(global_freeze, user_frozen, hold)| AccountFacts {
            global_freeze,
            user_frozen,
            hold: hold.map(|(until, i)| {
                let reasons: Vec<_> = keyward_api::PolicyReason::all()
                    .filter(|r| r.is_hold())
                    .collect();
                (until, reasons[i % reasons.len()])
            }),
        })
}

fn withdrawal_facts() -> impl Strategy<Value = WithdrawalFacts> {
    (
        proptest::option::of(0i64..2_000_000),
        0u128..10_000,
        proptest::option::of(0u128..10_000),
        0u128..5_000,
    )
        .prop_map(
            |(address_usable_from, redeemed_last_24h, daily_limit, amount)| WithdrawalFacts {
                address_usable_from,
                redeemed_last_24h,
                daily_limit,
                amount,
            },
        )
}
