//! Field-by-field validation of a step-up's raw details: each rule names
//! the field it refuses and says what is allowed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{ApiKeyCreate, RawApiKey, RawWithdrawal, Withdrawal};
use crate::amount::{self, AssetConfig};
use crate::ip::ip_entry;
use crate::validation::ValidationError;

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

pub(super) fn network(s: &str) -> Result<String, ValidationError> {
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

pub(super) fn address(name: &str, s: &str) -> Result<String, ValidationError> {
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

pub(super) fn memo(m: Option<String>) -> Result<Option<String>, ValidationError> {
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

pub(super) fn label(s: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    let ok = (1..=64).contains(&t.chars().count()) && !t.chars().any(char::is_control);
    check(
        "label",
        ok,
        "must be 1 to 64 characters, without line breaks or other control characters",
    )
    .map(|()| t.to_owned())
}

pub(super) fn parse_raw<T: for<'de> Deserialize<'de>>(raw: &Value) -> Result<T, ValidationError> {
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

pub(super) fn withdrawal(
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

pub(super) fn api_key(raw: &Value) -> Result<ApiKeyCreate, ValidationError> {
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
