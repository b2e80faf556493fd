//! What a user approves: per-action details, validated field by field,
//! written in one canonical JSON form (object keys sorted, no whitespace —
//! RFC 8785 for the strings, integers and booleans allowed here) and hashed.
//! The digest commits to the action and the details, so an approval for one
//! withdrawal can never approve another.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::amount::{Amount, AssetConfig};
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

mod validate;
pub use validate::API_KEY_SCOPES;
use validate::{address, api_key, label, memo, network, parse_raw, withdrawal};

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
mod tests;
