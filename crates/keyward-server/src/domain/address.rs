//! Withdrawal addresses, checked per network before the user is asked for a
//! key touch: an address of the wrong network (an Ethereum address for
//! bitcoin), a typo caught by the address's own checksum, or a memo where
//! the network has none is refused, and no cooling-off starts for it.
//!
//! Bitcoin: base58check P2PKH / P2SH with the network's version byte, or
//! segwit bech32 (v0) / bech32m (v1+) with its human-readable part (the
//! `bech32` and `bs58` crates check the checksums and program lengths).
//! Ethereum-family: `0x` and 20 bytes of hex; mixed case must carry the
//! EIP-55 checksum (Keccak-256, `sha3`). Other networks: the format the
//! operator declares (alphabet, prefix, length).

use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

/// How a network writes its addresses, and whether entries carry a memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The address format.
    pub format: AddressFormat,
    /// For `declared`: the characters an address may use.
    #[serde(default)]
    pub alphabet: Option<Alphabet>,
    /// For `declared`: what every address starts with (may be empty).
    #[serde(default)]
    pub prefix: String,
    /// For `declared`: the length range, characters.
    #[serde(default)]
    pub min_length: usize,
    /// For `declared`: the length range, characters.
    #[serde(default)]
    pub max_length: usize,
    /// Whether the network uses a memo / destination tag, which is then part
    /// of each allow-list entry (an exchange's deposit address is shared;
    /// the memo says whose deposit it is): a withdrawal must carry the
    /// entry's memo. One entry per address: a second memo for the same
    /// address replaces nothing (remove the entry first).
    #[serde(default)]
    pub memo: bool,
}

/// Address formats Keyward knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFormat {
    /// Bitcoin mainnet (`1…`, `3…`, `bc1…`).
    Bitcoin,
    /// Bitcoin testnet and signet (`m…`, `n…`, `2…`, `tb1…`).
    BitcoinTestnet,
    /// Ethereum and the networks that share its addresses.
    Ethereum,
    /// Declared in the configuration.
    Declared,
}

/// Alphabets for declared formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// Bitcoin's base58 (no `0`, `O`, `I`, `l`).
    Base58,
    /// `0-9a-fA-F`.
    Hex,
    /// `A-Z2-7` (RFC 4648 base32, upper case).
    Base32,
    /// `A-Za-z0-9`.
    Alphanumeric,
}

impl NetworkConfig {
    /// A network with a built-in format and no memo.
    pub fn of(format: AddressFormat) -> Self {
        Self {
            format,
            alphabet: None,
            prefix: String::new(),
            min_length: 0,
            max_length: 0,
            memo: false,
        }
    }

    /// Checks the configuration itself (at start-up).
    pub fn validate(&self, name: &str) -> Result<(), String> {
        if self.format == AddressFormat::Declared
            && (self.alphabet.is_none()
                || self.min_length == 0
                || self.max_length < self.min_length
                || self.max_length > 128)
        {
            return Err(format!(
                "networks.{name}: a declared format needs an alphabet and 1 <= min_length <= max_length <= 128"
            ));
        }
        Ok(())
    }

    /// Refuses `address` unless it is one of this network's; says why.
    pub fn check(&self, address: &str) -> Result<(), String> {
        match self.format {
            AddressFormat::Bitcoin => bitcoin(address, "bc", [0x00, 0x05]),
            AddressFormat::BitcoinTestnet => bitcoin(address, "tb", [0x6f, 0xc4]),
            AddressFormat::Ethereum => ethereum(address),
            AddressFormat::Declared => self.declared(address),
        }
    }

    fn declared(&self, address: &str) -> Result<(), String> {
        let len = address.chars().count();
        if !address.starts_with(&self.prefix) || !(self.min_length..=self.max_length).contains(&len)
        {
            return Err(format!(
                "this network's addresses start with `{}` and are {}-{} characters",
                self.prefix, self.min_length, self.max_length
            ));
        }
        let allowed = |c: char| match self.alphabet {
            Some(Alphabet::Base58) => {
                c.is_ascii_alphanumeric() && !matches!(c, '0' | 'O' | 'I' | 'l')
            }
            Some(Alphabet::Hex) => c.is_ascii_hexdigit(),
            Some(Alphabet::Base32) => c.is_ascii_uppercase() || ('2'..='7').contains(&c),
            Some(Alphabet::Alphanumeric) => c.is_ascii_alphanumeric(),
            None => false,
        };
        if address[self.prefix.len()..].chars().all(allowed) {
            Ok(())
        } else {
            Err("this address has characters the network does not use".into())
        }
    }
}

/// The networks Keyward knows out of the box.
pub fn default_networks() -> std::collections::BTreeMap<String, NetworkConfig> {
    std::collections::BTreeMap::from([
        ("bitcoin".into(), NetworkConfig::of(AddressFormat::Bitcoin)),
        (
            "ethereum".into(),
            NetworkConfig::of(AddressFormat::Ethereum),
        ),
    ])
}

fn bitcoin(address: &str, hrp: &str, versions: [u8; 2]) -> Result<(), String> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with(&format!("{hrp}1")) {
        let (found, _, _) = bech32::segwit::decode(address)
            .map_err(|e| format!("not a valid segwit address: {e}"))?;
        return if found.to_lowercase() == hrp {
            Ok(())
        } else {
            Err(format!(
                "a segwit address of this network starts with `{hrp}1`"
            ))
        };
    }
    let payload = bs58::decode(address)
        .with_check(None)
        .into_vec()
        .map_err(|e| format!("not a valid bitcoin address (base58check: {e})"))?;
    match payload.as_slice() {
        [version, hash @ ..] if versions.contains(version) && hash.len() == 20 => Ok(()),
        _ => Err("a base58 address of another network or kind".into()),
    }
}

fn ethereum(address: &str) -> Result<(), String> {
    let hex = address
        .strip_prefix("0x")
        .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("an Ethereum address is 0x and 40 hex digits")?;
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return Ok(()); // one case: no checksum to check
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    for (i, c) in hex.chars().enumerate() {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        let want_upper = nibble >= 8;
        if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != want_upper {
            return Err("the mixed-case checksum (EIP-55) does not match: a typo?".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> NetworkConfig {
        NetworkConfig::of(AddressFormat::Bitcoin)
    }

    fn eth() -> NetworkConfig {
        NetworkConfig::of(AddressFormat::Ethereum)
    }

    /// BIP-173 / BIP-350 / EIP-55 vectors and well-known addresses.
    #[test]
    fn real_addresses_pass_and_others_fail() {
        for ok in [
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ] {
            assert_eq!(btc().check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "0x52908400098527886E0F7030069857D2E4169EE7", // Ethereum
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", // testnet
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlj", // checksum
            "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",      // v2 in bech32, not bech32m
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",         // checksum
            "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",         // testnet P2PKH
        ] {
            assert!(btc().check(bad).is_err(), "{bad}");
        }
        let testnet = NetworkConfig::of(AddressFormat::BitcoinTestnet);
        assert_eq!(
            testnet.check("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),
            Ok(())
        );
        assert_eq!(testnet.check("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"), Ok(()));
        assert!(testnet.check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").is_err());
        for ok in [
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            "0xde709f2102306220921060314715629080e2fb77",
            "0x27b1fdb04752bbc536007a920d24acb045561c26",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        ] {
            assert_eq!(eth().check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", // EIP-55 case flipped
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "0x52908400098527886E0F7030069857D2E4169E",
            "52908400098527886E0F7030069857D2E4169EE7",
        ] {
            assert!(eth().check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn declared_formats() {
        let xrp = NetworkConfig {
            format: AddressFormat::Declared,
            alphabet: Some(Alphabet::Base58),
            prefix: "r".into(),
            min_length: 25,
            max_length: 35,
            memo: true,
        };
        assert_eq!(xrp.validate("ripple"), Ok(()));
        assert_eq!(xrp.check("rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv"), Ok(()));
        assert!(xrp.check("xDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv").is_err());
        assert!(xrp.check("rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCd0v").is_err());
        assert!(xrp.check("rShort").is_err());
        let broken = NetworkConfig {
            alphabet: None,
            ..xrp
        };
        assert!(broken.validate("ripple").is_err());
    }
}
