//! Decimal amounts as exchanges write them ("0.015"), parsed exactly into
//! integer base units. No floats, no exponents, no signs: what the user sees
//! is exactly what is approved. The assets Keyward knows, with their
//! precision and daily limits, are configured here too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    /// Not a plain decimal number.
    Syntax,
    /// More decimal places than the asset has.
    TooPrecise(u32),
    /// Zero.
    Zero,
    /// Larger than Keyward can represent.
    TooLarge,
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax => write!(
                f,
                "must be a plain decimal string like \"0.015\" (no sign, exponent or spaces)"
            ),
            Self::TooPrecise(d) => write!(f, "has more than {d} decimal places"),
            Self::Zero => write!(f, "must be greater than zero"),
            Self::TooLarge => write!(f, "is too large"),
        }
    }
}

/// A validated amount: its canonical text (no leading or trailing zeros) and
/// its value in the asset's smallest unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    /// Canonical decimal text, e.g. "1.5" for "1.50".
    pub text: String,
    /// Value in base units (e.g. satoshi).
    pub units: u128,
}

/// Parses `raw` for an asset with `decimals` decimal places.
pub fn parse(raw: &str, decimals: u32) -> Result<Amount, AmountError> {
    if raw.is_empty() || raw.len() > 48 {
        return Err(AmountError::Syntax);
    }
    let (int, frac) = match raw.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return Err(AmountError::Syntax),
        None => (raw, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (int.len() > 1 && int.starts_with('0')) {
        return Err(AmountError::Syntax);
    }
    let frac = frac.trim_end_matches('0');
    let places = u32::try_from(frac.len()).map_err(|_| AmountError::Syntax)?;
    if places > decimals {
        return Err(AmountError::TooPrecise(decimals));
    }
    let scale = 10u128.checked_pow(decimals).ok_or(AmountError::TooLarge)?;
    let int_value: u128 = int.parse().map_err(|_| AmountError::TooLarge)?;
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| AmountError::Syntax)?
    };
    let frac_units = frac_value * 10u128.pow(decimals - places);
    let units = int_value
        .checked_mul(scale)
        .and_then(|v| v.checked_add(frac_units))
        .ok_or(AmountError::TooLarge)?;
    if units == 0 {
        return Err(AmountError::Zero);
    }
    let text = if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    };
    Ok(Amount { text, units })
}

/// The canonical decimal text of `units` base units of an asset with
/// `decimals` places, as [`parse`] gives it ("1.5", "0", never "1.50"): for
/// amounts Keyward computes itself, such as what is left of a limit.
pub fn text(units: u128, decimals: u32) -> String {
    let Some(scale) = 10u128.checked_pow(decimals) else {
        // More places than u128 holds: every representable amount is a
        // fraction below one; keep the digits, padded to the places.
        return format!("0.{units:0>width$}", width = decimals as usize)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned();
    };
    let (int, frac) = (units / scale, units % scale);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:0>width$}", width = decimals as usize);
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// One supported asset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// Decimal places of the smallest unit (BTC: 8).
    pub decimals: u32,
    /// Per-user limit over any 24 hours, as a decimal string; none = unlimited.
    #[serde(default)]
    pub daily_limit: Option<String>,
}

/// The assets Keyward knows out of the box.
pub fn default_assets() -> BTreeMap<String, AssetConfig> {
    let asset = |decimals, limit: &str| AssetConfig {
        decimals,
        daily_limit: Some(limit.into()),
    };
    BTreeMap::from([
        ("BTC".into(), asset(8, "10")),
        ("ETH".into(), asset(18, "200")),
        ("USDT".into(), asset(6, "1000000")),
        ("USDC".into(), asset(6, "1000000")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(
            parse("1.5", 8).unwrap(),
            Amount {
                text: "1.5".into(),
                units: 150_000_000
            }
        );
        assert_eq!(parse("1.50000000", 8).unwrap().text, "1.5");
        assert_eq!(parse("0.00000001", 8).unwrap().units, 1);
        assert_eq!(parse("21000000", 8).unwrap().units, 2_100_000_000_000_000);
        assert_eq!(parse("12", 0).unwrap().units, 12);
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in [
            "", "1e3", "-1", "+1", " 1", "1 ", "1.", ".5", "01", "0x10", "1,5", "NaN", "1.2.3", "١",
        ] {
            assert_eq!(parse(bad, 8), Err(AmountError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn refuses_zero_and_excess_precision() {
        assert_eq!(parse("0", 8), Err(AmountError::Zero));
        assert_eq!(parse("0.000", 8), Err(AmountError::Zero));
        assert_eq!(parse("0.000000001", 8), Err(AmountError::TooPrecise(8)));
        assert_eq!(parse("1.5", 0), Err(AmountError::TooPrecise(0)));
    }

    #[test]
    fn text_is_what_parse_reads_back() {
        assert_eq!(text(150_000_000, 8), "1.5");
        assert_eq!(text(1, 8), "0.00000001");
        assert_eq!(text(0, 8), "0");
        assert_eq!(text(12, 0), "12");
        assert_eq!(text(1_000_000_000_000_000_000, 18), "1");
        for (raw, decimals) in [("21000000", 8), ("0.015", 8), ("199.999", 18), ("7", 6)] {
            let amount = parse(raw, decimals).unwrap();
            assert_eq!(text(amount.units, decimals), amount.text, "{raw}");
        }
        assert_eq!(text(5, 40), "0.0000000000000000000000000000000000000005");
    }

    #[test]
    fn refuses_overflow() {
        assert_eq!(parse(&"9".repeat(40), 18), Err(AmountError::TooLarge));
    }
}
