//! What a user approves: per-action details, validated field by field,
//! written in one canonical JSON form (object keys sorted, no whitespace —
//! RFC 8785 for the strings, integers and booleans allowed here) and hashed.
//! The digest commits to the action and the details, so an approval for one
//! withdrawal can never approve another.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::amount::{self, Amount, AssetConfig};
use crate::ip::ip_entry;
use crate::validation::ValidationError;

/// Actions that need a key approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Paying out from the exchange.
    Withdrawal,
    /// Adding an address to the user's withdrawal allow-list.
    AddressAdd,
    /// Creating a user API key.
    ApiKeyCreate,
}

impl Action {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "withdrawal" => Ok(Self::Withdrawal),
            "address.add" => Ok(Self::AddressAdd),
            "api_key.create" => Ok(Self::ApiKeyCreate),
            _ => Err(ValidationError::new(
                "action",
                "must be one of withdrawal, address.add, api_key.create",
            )),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawal => "withdrawal",
            Self::AddressAdd => "address.add",
            Self::ApiKeyCreate => "api_key.create",
        }
    }
}

/// A validated withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// Asset symbol, e.g. BTC.
    pub asset: String,
    /// Network, e.g. bitcoin.
    pub network: String,
    /// Exact amount.
    pub amount: Amount,
    /// Destination address, as given (case matters on some chains).
    pub destination: String,
    /// Memo / destination tag.
    pub memo: Option<String>,
    /// The exchange's reference; also the idempotency key.
    pub client_reference: String,
}

/// A validated allow-list addition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressAdd {
    /// Network.
    pub network: String,
    /// Address.
    pub address: String,
    /// Memo / destination tag, for networks that use one.
    pub memo: Option<String>,
    /// User's label.
    pub label: String,
}

/// A validated API-key creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyCreate {
    /// Label.
    pub label: String,
    /// Scopes, sorted and unique.
    pub scopes: Vec<String>,
    /// Allowed client addresses / CIDR ranges, canonical text, sorted.
    pub ip_allowlist: Vec<String>,
    /// Requested lifetime.
    pub expires_in_days: Option<u32>,
}

/// The validated details of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Details {
    /// A withdrawal.
    Withdrawal(Withdrawal),
    /// An address addition.
    AddressAdd(AddressAdd),
    /// An API-key creation.
    ApiKeyCreate(ApiKeyCreate),
}

/// Details in canonical form with their digest.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// The action.
    pub action: Action,
    /// Typed details.
    pub details: Details,
    /// Canonical JSON of `{"action": .., "details": ..}`.
    pub json: String,
    /// SHA-256 of `json`.
    pub digest: [u8; 32],
}

/// What a step-up is about, in a few plain words for the activity log: for a
/// withdrawal `0.5 BTC to bc1q…`, for an address `bc1q… (bitcoin)`, for an
/// API key `"label"`. Read from the canonical JSON the row stores.
pub fn summary(canonical: &str) -> Option<String> {
    let v: Value = serde_json::from_str(canonical).ok()?;
    let d = &v["details"];
    let text = |k: &str| d[k].as_str();
    let memo = text("memo")
        .map(|m| format!(" (memo {m})"))
        .unwrap_or_default();
    match v["action"].as_str()? {
        "withdrawal" => Some(format!(
            "{} {} to {}{memo}",
            text("amount")?,
            text("asset")?,
            text("destination")?
        )),
        "address.add" => Some(format!("{} ({}){memo}", text("address")?, text("network")?)),
        "api_key.create" => Some(format!("\"{}\"", text("label")?)),
        _ => None,
    }
}

impl Canonical {
    /// The digest in hex, as the API shows it.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// The idempotency key, when the action has one.
    pub fn client_reference(&self) -> Option<&str> {
        match &self.details {
            Details::Withdrawal(w) => Some(&w.client_reference),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWithdrawal {
    asset: String,
    network: String,
    amount: String,
    destination: String,
    #[serde(default)]
    memo: Option<String>,
    client_reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddress {
    network: String,
    address: String,
    #[serde(default)]
    memo: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    label: String,
    scopes: Vec<String>,
    #[serde(default)]
    ip_allowlist: Vec<String>,
    #[serde(default, deserialize_with = "whole_number")]
    expires_in_days: Option<u32>,
}

/// A count that JSON may write as `30` or `30.0` (both are the integer 30
/// to JSON Schema, and so to clients generated from the document).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(n) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // Checked above: a whole number in u32's range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(Some(n as u32));
    }
    Err(serde::de::Error::custom(format!(
        "invalid value: {n}, expected a whole number of days"
    )))
}

/// API-key scopes a user may grant.
pub const API_KEY_SCOPES: &[&str] = &["read", "trade", "withdraw"];

fn field(name: &str) -> String {
    format!("details.{name}")
}

fn check(name: &str, ok: bool, rule: &str) -> Result<(), ValidationError> {
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(field(name), rule.to_owned()))
    }
}

fn charset(s: &str, len: std::ops::RangeInclusive<usize>, allowed: impl Fn(char) -> bool) -> bool {
    len.contains(&s.chars().count()) && s.chars().all(allowed)
}

fn network(s: &str) -> Result<String, ValidationError> {
    let ok = charset(s, 2..=32, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    });
    check(
        "network",
        ok,
        "must be a network name such as bitcoin: 2 to 32 lowercase letters, digits or dashes",
    )
    .map(|()| s.to_owned())
}

fn address(name: &str, s: &str) -> Result<String, ValidationError> {
    let ok = charset(s, 8..=128, |c| {
        c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-')
    });
    check(
        name,
        ok,
        "must be an address of 8 to 128 letters and digits (':', '.', '_' and '-' allowed; no spaces)",
    )
    .map(|()| s.to_owned())
}

fn memo(m: Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(m) = m else {
        return Ok(None);
    };
    check(
        "memo",
        charset(&m, 1..=64, |c| (' '..='~').contains(&c)),
        "must be 1 to 64 ordinary characters (letters, digits, punctuation, spaces)",
    )?;
    Ok(Some(m))
}

fn label(s: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    let ok = (1..=64).contains(&t.chars().count()) && !t.chars().any(char::is_control);
    check(
        "label",
        ok,
        "must be 1 to 64 characters, without line breaks or other control characters",
    )
    .map(|()| t.to_owned())
}

fn parse_raw<T: for<'de> Deserialize<'de>>(raw: &Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let name = match crate::validation::field_name(&path, &message).as_str() {
            "body" => "details".to_owned(),
            name => format!("details.{name}"),
        };
        ValidationError::new(name, message)
    })
}

fn withdrawal(
    raw: &Value,
    assets: &BTreeMap<String, AssetConfig>,
) -> Result<Withdrawal, ValidationError> {
    let r: RawWithdrawal = parse_raw(raw)?;
    let asset = assets
        .get(&r.asset)
        .ok_or_else(|| ValidationError::new(field("asset"), "is not a supported asset"))?;
    let amount = amount::parse(&r.amount, asset.decimals)
        .map_err(|e| ValidationError::new(field("amount"), e.to_string()))?;
    let memo = memo(r.memo)?;
    let reference_ok = charset(&r.client_reference, 1..=64, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
    });
    check(
        "client_reference",
        reference_ok,
        "must be 1 to 64 letters and digits ('.', '_', ':' and '-' allowed)",
    )?;
    Ok(Withdrawal {
        asset: r.asset,
        network: network(&r.network)?,
        amount,
        destination: address("destination", &r.destination)?,
        memo,
        client_reference: r.client_reference,
    })
}

fn api_key(raw: &Value) -> Result<ApiKeyCreate, ValidationError> {
    let r: RawApiKey = parse_raw(raw)?;
    let mut scopes = r.scopes;
    scopes.sort();
    scopes.dedup();
    let known = scopes.iter().all(|s| API_KEY_SCOPES.contains(&s.as_str()));
    check(
        "scopes",
        !scopes.is_empty() && known,
        "must be one or more of read, trade and withdraw",
    )?;
    check(
        "ip_allowlist",
        r.ip_allowlist.len() <= 32,
        "at most 32 entries",
    )?;
    let mut ips = Vec::new();
    for entry in &r.ip_allowlist {
        ips.push(ip_entry(entry).ok_or_else(|| {
            ValidationError::new(
                field("ip_allowlist"),
                format!("`{entry}` is not an IP address or CIDR range"),
            )
        })?);
    }
    ips.sort();
    ips.dedup();
    let withdraw = scopes.iter().any(|s| s == "withdraw");
    check(
        "ip_allowlist",
        !withdraw || !ips.is_empty(),
        "the withdraw scope requires an IP allow-list",
    )?;
    if let Some(days) = r.expires_in_days {
        check(
            "expires_in_days",
            (1..=3650).contains(&days),
            "must be between 1 and 3650",
        )?;
    }
    Ok(ApiKeyCreate {
        label: label(&r.label)?,
        scopes,
        ip_allowlist: ips,
        expires_in_days: r.expires_in_days,
    })
}

fn details_json(d: &Details) -> Value {
    match d {
        Details::Withdrawal(w) => json!({
            "asset": w.asset, "network": w.network, "amount": w.amount.text,
            "destination": w.destination, "memo": w.memo, "client_reference": w.client_reference,
        }),
        Details::AddressAdd(a) => {
            let mut d = json!({ "network": a.network, "address": a.address, "label": a.label });
            // Only when present: entries without a memo keep the digest
            // they always had.
            if let Some(memo) = &a.memo {
                d["memo"] = json!(memo);
            }
            d
        }
        Details::ApiKeyCreate(k) => json!({
            "label": k.label, "scopes": k.scopes, "ip_allowlist": k.ip_allowlist, "expires_in_days": k.expires_in_days,
        }),
    }
}

/// Canonical JSON: object keys sorted by code point, no insignificant
/// whitespace, strings escaped as serde_json does (which matches RFC 8785 for
/// the values allowed here: no floats). `null` members are dropped so an
/// absent optional field has one spelling.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> =
                map.iter().filter(|(_, v)| !v.is_null()).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

/// Validates `raw` for `action` and returns its canonical form and digest.
pub fn canonicalise(
    action: &str,
    raw: &Value,
    assets: &BTreeMap<String, AssetConfig>,
) -> Result<Canonical, ValidationError> {
    let action = Action::parse(action)?;
    let details = match action {
        Action::Withdrawal => Details::Withdrawal(withdrawal(raw, assets)?),
        Action::AddressAdd => {
            let r: RawAddress = parse_raw(raw)?;
            Details::AddressAdd(AddressAdd {
                network: network(&r.network)?,
                address: address("address", &r.address)?,
                memo: memo(r.memo)?,
                label: label(r.label.as_deref().unwrap_or(&r.address))?,
            })
        }
        Action::ApiKeyCreate => Details::ApiKeyCreate(api_key(raw)?),
    };
    let json =
        canonical_json(&json!({ "action": action.as_str(), "details": details_json(&details) }));
    let digest: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    Ok(Canonical {
        action,
        details,
        json,
        digest,
    })
}

/// The digest [`canonicalise`] gives `raw` for `action`, for a verifier
/// without Keyward's asset table (an exchange's back end): the same code,
/// with the asset taken as having exactly the decimal places the amount
/// shows. The canonical form does not depend on the table; whether the
/// asset is supported and its precision allowed is Keyward's check when
/// the step-up is created.
pub fn digest_of(action: &str, raw: &Value) -> Result<[u8; 32], ValidationError> {
    canonical_of(action, raw).map(|c| c.digest)
}

/// [`digest_of`] with the canonical JSON it hashes (the shared test vectors
/// record both, so other clients can see where they differ).
pub fn canonical_of(action: &str, raw: &Value) -> Result<Canonical, ValidationError> {
    let mut assets = BTreeMap::new();
    let text = |k: &str| raw.get(k).and_then(Value::as_str);
    if let (Some(asset), Some(amount)) = (text("asset"), text("amount")) {
        let places = amount
            .split_once('.')
            .map_or(0, |(_, frac)| frac.trim_end_matches('0').len());
        let decimals = u32::try_from(places).unwrap_or(u32::MAX);
        let config = AssetConfig {
            decimals,
            daily_limit: None,
        };
        assets.insert(asset.to_owned(), config);
    }
    canonicalise(action, raw, &assets)
}

/// The details object of a stored canonical JSON (for API responses).
pub fn stored_details(json: &str) -> Value {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| v.get("details").cloned())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_say_what_a_step_up_is_about() {
        let w = r#"{"action":"withdrawal","details":{"amount":"0.5","asset":"BTC","destination":"bc1qabc","network":"bitcoin","client_reference":"r"}}"#;
        assert_eq!(summary(w).as_deref(), Some("0.5 BTC to bc1qabc"));
        let a =
            r#"{"action":"address.add","details":{"address":"rAbc","network":"xrp","memo":"42"}}"#;
        assert_eq!(summary(a).as_deref(), Some("rAbc (xrp) (memo 42)"));
        let k = r#"{"action":"api_key.create","details":{"label":"bot","scopes":[]}}"#;
        assert_eq!(summary(k).as_deref(), Some("\"bot\""));
        assert_eq!(summary("not json"), None);
        assert_eq!(summary(r#"{"action":"withdrawal","details":{}}"#), None);
    }

    fn assets() -> BTreeMap<String, AssetConfig> {
        crate::amount::default_assets()
    }

    fn btc(amount: &str) -> Value {
        json!({ "asset": "BTC", "network": "bitcoin", "amount": amount,
                "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "client_reference": "w-1" })
    }

    #[test]
    fn canonical_form_is_stable_and_sorted() {
        let c = canonicalise("withdrawal", &btc("1.50"), &assets()).unwrap();
        assert_eq!(
            c.json,
            r#"{"action":"withdrawal","details":{"amount":"1.5","asset":"BTC","client_reference":"w-1","destination":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","network":"bitcoin"}}"#
        );
        let same = canonicalise("withdrawal", &btc("1.5"), &assets()).unwrap();
        assert_eq!(c.digest, same.digest, "equal amounts, equal digest");
        let other = canonicalise("withdrawal", &btc("1.51"), &assets()).unwrap();
        assert_ne!(c.digest, other.digest);
    }

    #[test]
    fn bad_withdrawals_name_the_field() {
        let cases = [
            (json!({ "amount": "1e3" }), "details.amount"),
            (json!({ "amount": "-1" }), "details.amount"),
            (json!({ "amount": "0.000000001" }), "details.amount"),
            (json!({ "asset": "DOGE" }), "details.asset"),
            (json!({ "destination": "short" }), "details.destination"),
            (
                json!({ "destination": "bc1q xy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh" }),
                "details.destination",
            ),
            (json!({ "colour": "red" }), "details"),
            (json!({ "amount": 1.5 }), "details.amount"),
        ];
        for (patch, expected) in cases {
            let mut raw = btc("1");
            for (k, v) in patch.as_object().unwrap() {
                raw[k] = v.clone();
            }
            match canonicalise("withdrawal", &raw, &assets()) {
                Err(ValidationError { field, .. }) => {
                    assert!(field.starts_with(expected), "{patch}: {field}")
                }
                other => panic!("{patch}: {other:?}"),
            }
        }
    }

    #[test]
    fn api_key_details_are_normalised() {
        let raw = json!({ "label": "bot", "scopes": ["withdraw", "read", "read"], "ip_allowlist": ["10.0.0.7/8", "2001:db8::1"] });
        let c = canonicalise("api_key.create", &raw, &assets()).unwrap();
        let Details::ApiKeyCreate(k) = &c.details else {
            panic!()
        };
        assert_eq!(k.scopes, ["read", "withdraw"]);
        assert_eq!(k.ip_allowlist, ["10.0.0.0/8", "2001:db8::1"]);
        let no_ips = json!({ "label": "bot", "scopes": ["withdraw"] });
        assert!(canonicalise("api_key.create", &no_ips, &assets()).is_err());
    }

    #[test]
    fn a_verifier_without_the_asset_table_gets_the_same_digest() {
        for amount in ["1.50", "0.00000001", "21000000", "3"] {
            let c = canonicalise("withdrawal", &btc(amount), &assets()).unwrap();
            assert_eq!(digest_of("withdrawal", &btc(amount)).unwrap(), c.digest);
        }
        let key = json!({ "label": "bot", "scopes": ["read"] });
        let c = canonicalise("api_key.create", &key, &assets()).unwrap();
        assert_eq!(digest_of("api_key.create", &key).unwrap(), c.digest);
        assert!(digest_of("withdrawal", &btc("1e3")).is_err());
    }

    #[test]
    fn unknown_action_is_refused() {
        assert!(matches!(
            canonicalise("transfer", &json!({}), &assets()),
            Err(ValidationError { .. })
        ));
    }
}
