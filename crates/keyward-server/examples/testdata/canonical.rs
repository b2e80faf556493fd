//! testdata/canonical.json: details as an exchange sends them, and what
//! `keyward_proof::details::canonical_of` (the code behind `digest_of`)
//! makes of them: the canonical JSON and its digest, or the field refused.

use keyward_proof::details::canonical_of;
use serde_json::Value;

use crate::json::{J, obj, v};

/// A withdrawal's fields with the amount, memo and extra members given.
const DEST: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";

fn btc(amount: &str) -> String {
    format!(
        r#"{{"asset":"BTC","network":"bitcoin","amount":"{amount}","destination":"{DEST}","client_reference":"payout-1042"}}"#
    )
}

/// `(name, action, details as raw JSON text)`.
fn cases() -> Vec<(&'static str, &'static str, String)> {
    let w = "withdrawal";
    let a = "address.add";
    let k = "api_key.create";
    let label = |l: &str| format!(r#"{{"label":{l},"scopes":["read"]}}"#);
    let emoji = "\u{1F600}";
    vec![
        ("withdrawal/basic", w, btc("0.25")),
        ("withdrawal/key-order", w, format!(
            r#"{{"client_reference":"payout-1042","destination":"{DEST}","amount":"0.25","network":"bitcoin","asset":"BTC"}}"#)),
        ("withdrawal/whitespace-between-tokens", w, format!(
            "{{ \"asset\" : \"BTC\",\n  \"network\":\"bitcoin\", \"amount\": \"0.25\",\t\"destination\": \"{DEST}\", \"client_reference\": \"payout-1042\" }}")),
        ("withdrawal/amount-trailing-zeros", w, btc("1.50000")),
        ("withdrawal/amount-integer", w, btc("21000000")),
        ("withdrawal/amount-integer-trailing-fraction-zeros", w, btc("3.000")),
        ("withdrawal/amount-smallest", w, btc("0.00000001")),
        ("withdrawal/amount-18-places", w, btc("0.000000000000000001")),
        ("withdrawal/amount-leading-zeros", w, btc("001.5")),
        ("withdrawal/amount-leading-dot", w, btc(".5")),
        ("withdrawal/amount-trailing-dot", w, btc("5.")),
        ("withdrawal/amount-zero", w, btc("0.000")),
        ("withdrawal/amount-negative", w, btc("-1")),
        ("withdrawal/amount-plus-sign", w, btc("+1")),
        ("withdrawal/amount-exponent", w, btc("1e3")),
        ("withdrawal/amount-exponent-upper", w, btc("1.5E2")),
        ("withdrawal/amount-space", w, btc(" 1")),
        ("withdrawal/amount-comma", w, btc("1,5")),
        ("withdrawal/amount-fullwidth-digit", w, btc("\u{FF11}")),
        ("withdrawal/amount-too-many-decimals", w, btc(&format!("0.{}1", "0".repeat(38)))),
        ("withdrawal/amount-too-long", w, btc(&format!("1.{}", "1".repeat(47)))),
        ("withdrawal/amount-overflow", w, btc("340282366920938463463374607431768211456")),
        ("withdrawal/amount-number", w, format!(
            r#"{{"asset":"BTC","network":"bitcoin","amount":1.5,"destination":"{DEST}","client_reference":"payout-1042"}}"#)),
        ("withdrawal/asset-not-checked-without-table", w, format!(
            r#"{{"asset":"btc","network":"bitcoin","amount":"1","destination":"{DEST}","client_reference":"payout-1042"}}"#)),
        ("withdrawal/unicode-escape-in-asset", w, format!(
            r#"{{"asset":"\u0042TC","network":"bitcoin","amount":"0.25","destination":"{DEST}","client_reference":"payout-1042"}}"#)),
        ("withdrawal/memo", w,
            r#"{"asset":"XRP","network":"xrp","amount":"25","destination":"rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY","memo":"104 \"tag\"","client_reference":"payout-1043"}"#.into()),
        ("withdrawal/memo-null", w, format!(
            r#"{{"asset":"BTC","network":"bitcoin","amount":"0.25","destination":"{DEST}","memo":null,"client_reference":"payout-1042"}}"#)),
        ("withdrawal/memo-empty", w, format!(
            r#"{{"asset":"BTC","network":"bitcoin","amount":"0.25","destination":"{DEST}","memo":"","client_reference":"payout-1042"}}"#)),
        ("withdrawal/memo-non-ascii", w, format!(
            r#"{{"asset":"BTC","network":"bitcoin","amount":"0.25","destination":"{DEST}","memo":"Grüße","client_reference":"payout-1042"}}"#)),
        ("withdrawal/unknown-field", w, format!(
            r#"{{"asset":"BTC","network":"bitcoin","amount":"0.25","destination":"{DEST}","client_reference":"payout-1042","fee":"0.0001"}}"#)),
        ("withdrawal/missing-destination", w,
            r#"{"asset":"BTC","network":"bitcoin","amount":"0.25","client_reference":"payout-1042"}"#.into()),
        ("withdrawal/destination-with-space", w, btc("1").replace(DEST, "bc1q xy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")),
        ("withdrawal/destination-too-short", w, btc("1").replace(DEST, "bc1q")),
        ("withdrawal/network-uppercase", w, btc("1").replace("\"bitcoin\"", "\"Bitcoin\"")),
        ("withdrawal/client-reference-slash", w, btc("1").replace("payout-1042", "payout/1042")),
        ("withdrawal/details-not-an-object", w, r#"["BTC","0.25"]"#.into()),
        ("address-add/basic", a,
            r#"{"network":"ethereum","address":"0x52908400098527886E0F7030069857D2E4169EE7","label":"Cold wallet"}"#.into()),
        ("address-add/label-defaults-to-address", a,
            r#"{"network":"ethereum","address":"0x52908400098527886E0F7030069857D2E4169EE7"}"#.into()),
        ("address-add/memo", a,
            r#"{"network":"xrp","address":"rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY","memo":"104","label":"Ledger"}"#.into()),
        ("address-add/label-non-ascii", a,
            r#"{"network":"bitcoin","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":"Kälte-Wallet 冷钱包 \"Ω\" \\ end"}"#.into()),
        ("address-add/label-nfc", a,
            r#"{"network":"bitcoin","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":"caf\u00e9"}"#.into()),
        ("address-add/label-nfd", a,
            r#"{"network":"bitcoin","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":"cafe\u0301"}"#.into()),
        ("address-add/label-null-means-address", a,
            r#"{"network":"bitcoin","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":null}"#.into()),
        ("address-add/label-wrong-type", a,
            r#"{"network":"bitcoin","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":42}"#.into()),
        ("address-add/missing-network", a,
            r#"{"address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"}"#.into()),
        ("api-key/scopes-sorted-and-deduplicated", k,
            r#"{"label":"trading bot","scopes":["withdraw","read","trade","read"],"ip_allowlist":["203.0.113.7"]}"#.into()),
        ("api-key/unknown-scope", k, r#"{"label":"bot","scopes":["read","admin"]}"#.into()),
        ("api-key/no-scopes", k, r#"{"label":"bot","scopes":[]}"#.into()),
        ("api-key/scope-case-matters", k, r#"{"label":"bot","scopes":["Read"]}"#.into()),
        ("api-key/withdraw-needs-ip-allowlist", k, r#"{"label":"bot","scopes":["withdraw"]}"#.into()),
        ("api-key/ip-canonical-forms", k,
            r#"{"label":"bot","scopes":["read"],"ip_allowlist":["9.9.9.9","2001:DB8:0:0:0:0:0:1","10.0.0.7/8","2001:db8::1","192.0.2.1/32","2001:db8:0:0:1:0:0:1","::ffff:198.51.100.1","fe80::1/64"]}"#.into()),
        ("api-key/ip-leading-zeros", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":["192.168.001.1"]}"#.into()),
        // Refused since ipnet 2.12.3 (Cargo.lock pins it): a leading zero in
        // a CIDR's address, and nine IPv6 groups around `::`.
        ("api-key/cidr-leading-zero", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":["010.0.0.7/8"]}"#.into()),
        ("api-key/cidr-ipv6-too-many-groups", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":["::1:2:3:4:5:6:7:8/64"]}"#.into()),
        ("api-key/ip-prefix-too-long", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":["192.0.2.0/33"]}"#.into()),
        ("api-key/ip-with-space", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":[" 192.0.2.1"]}"#.into()),
        ("api-key/ip-allowlist-empty", k, r#"{"label":"bot","scopes":["read"],"ip_allowlist":[]}"#.into()),
        ("api-key/expires-whole-float", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":30.0}"#.into()),
        ("api-key/expires-exponent", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":3e1}"#.into()),
        ("api-key/expires-fraction", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":1.5}"#.into()),
        ("api-key/expires-zero", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":0}"#.into()),
        ("api-key/expires-too-long", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":3651}"#.into()),
        ("api-key/expires-string", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":"30"}"#.into()),
        ("api-key/expires-null", k, r#"{"label":"bot","scopes":["read"],"expires_in_days":null}"#.into()),
        ("api-key/label-trimmed", k, label(r#""  bot\t""#)),
        ("api-key/label-only-spaces", k, label(r#""   ""#)),
        ("api-key/label-line-break", k, label(r#""bot\nline""#)),
        ("api-key/label-del-control", k, label(r#""bot\u007f""#)),
        ("api-key/label-nel-trimmed", k, label(r#""\u0085bot""#)),
        ("api-key/label-unit-separator-kept-refused", k, label(r#""\u001fbot""#)),
        ("api-key/label-nbsp-ideographic-space-trimmed", k, label(r#""\u00a0bot\u3000""#)),
        ("api-key/label-bom-not-trimmed", k, label(r#""\ufeffbot""#)),
        ("api-key/label-line-separator", k, label(r#""bot\u2028two""#)),
        ("api-key/label-64-emoji", k, label(&format!("\"{}\"", emoji.repeat(64)))),
        ("api-key/label-65-emoji", k, label(&format!("\"{}\"", emoji.repeat(65)))),
        ("api-key/label-surrogate-pair-escape", k, label(r#""\ud83d\ude00 bot""#)),
        ("api-key/scopes-wrong-type", k, r#"{"label":"bot","scopes":"read"}"#.into()),
        ("api-key/missing-label", k, r#"{"scopes":["read"]}"#.into()),
        ("api-key/unknown-field", k, r#"{"label":"bot","scopes":["read"],"permissions":["all"]}"#.into()),
        ("action/unknown", "transfer", btc("1")),
        ("action/case-matters", "Withdrawal", btc("1")),
    ]
}

/// The file, as JSON.
pub fn file() -> J {
    let cases = cases()
        .into_iter()
        .map(|(name, action, raw)| {
            let details: Value = serde_json::from_str(&raw).expect("vector details are JSON");
            obj([
                ("name", v(name)),
                ("action", v(action)),
                ("details", J::Raw(raw)),
                ("expect", expect(action, &details)),
            ])
        })
        .collect();
    obj([("version", v(1)), ("cases", J::Arr(cases))])
}

/// What the Rust code says of `details`.
pub fn expect(action: &str, details: &Value) -> J {
    match canonical_of(action, details) {
        Ok(c) => obj([
            ("canonical", v(c.json.clone())),
            ("digest", v(c.digest_hex())),
        ]),
        Err(e) => obj([
            ("error", v("validation")),
            ("field", v(e.field.to_string())),
        ]),
    }
}
