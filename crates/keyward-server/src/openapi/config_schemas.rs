//! The parts of the document that depend on the configuration: the assets
//! a withdrawal may name, and for an allow-list entry, one schema per
//! configured network with that network's address format (a bitcoin
//! address is a custom `bitcoin-address` format: its checksum is beyond a
//! pattern; Ethereum's and declared formats are patterns).

use serde_json::{Value, json};

use crate::config::Config;
use crate::domain::address::{AddressFormat, Alphabet, NetworkConfig};

/// A label: 1-64 characters, not only spaces, no control characters.
const LABEL: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";

/// The address schema of one network.
fn address(network: &NetworkConfig) -> Value {
    match network.format {
        AddressFormat::Bitcoin => json!({ "type": "string", "format": "bitcoin-address",
            "description": "A bitcoin mainnet address: base58check P2PKH/P2SH (`1…`, `3…`) or segwit bech32/bech32m (`bc1…`), checksum included." }),
        AddressFormat::BitcoinTestnet => {
            json!({ "type": "string", "format": "bitcoin-testnet-address",
            "description": "A bitcoin testnet or signet address (`m…`, `n…`, `2…`, `tb1…`), checksum included." })
        }
        AddressFormat::Ethereum => json!({ "type": "string",
            "pattern": "^0x([0-9a-f]{40}|[0-9A-F]{40}|[0-9a-fA-F]{40})$",
            "description": "`0x` and 40 hex digits; mixed case must carry the EIP-55 checksum." }),
        AddressFormat::Declared => {
            let alphabet = match network.alphabet {
                Some(Alphabet::Base58) => "1-9A-HJ-NP-Za-km-z",
                Some(Alphabet::Hex) => "0-9a-fA-F",
                Some(Alphabet::Base32) => "A-Z2-7",
                Some(Alphabet::Alphanumeric) | None => "A-Za-z0-9",
            };
            let prefix = network.prefix.chars().count();
            let (min, max) = (
                network.min_length.saturating_sub(prefix),
                network.max_length.saturating_sub(prefix),
            );
            let pattern = format!(
                "^{}[{alphabet}]{{{min},{max}}}$",
                regex_escape(&network.prefix)
            );
            json!({ "type": "string", "pattern": pattern })
        }
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}/-".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// `POST /v1/addresses`: one schema per configured network.
fn new_address(config: &Config) -> Value {
    let one_of: Vec<Value> = config
        .networks
        .iter()
        .map(|(name, network)| {
            let mut properties = json!({
                "network": { "type": "string", "enum": [name] },
                "address": address(network),
                "label": { "type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": LABEL,
                           "description": "The user's name for it (default: the address)." },
            });
            if network.memo {
                properties["memo"] = json!({ "type": ["string", "null"], "pattern": "^[ -~]{1,64}$",
                    "description": "The memo / destination tag a withdrawal to it must carry." });
            }
            json!({ "type": "object", "title": name, "required": ["network", "address"],
                    "additionalProperties": false, "properties": properties })
        })
        .collect();
    json!({ "oneOf": one_of,
            "description": "An address to allow-list: approved with a security key, usable after the cooling-off. One schema per configured network." })
}

/// Replaces the configuration-dependent schemas of the served document
/// (`doc` as JSON: some of what is set here, such as `if`/`then`, has no
/// place in utoipa's types).
pub fn apply(doc: &mut Value, config: &Config) {
    let schemas = &mut doc["components"]["schemas"];
    if !schemas.is_object() {
        return;
    }
    schemas["NewAddress"] = new_address(config);
    let details = &mut schemas["WithdrawalDetails"];
    // Keyward refuses members it does not know.
    details["additionalProperties"] = json!(false);
    details["properties"]["asset"]["enum"] = config.assets.keys().map(|k| json!(k)).collect();
    // `withdraw` needs an IP allow-list: a rule across two members.
    for name in ["ApiKeyDetails", "ApiKeyCreate"] {
        let schema = &mut schemas[name];
        schema["if"] = json!({ "properties": { "scopes": { "contains": { "const": "withdraw" } } },
                               "required": ["scopes"] });
        schema["then"] = json!({ "properties": { "ip_allowlist": { "minItems": 1 } },
                                 "required": ["ip_allowlist"] });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_formats_become_patterns() {
        let mut n = NetworkConfig::of(AddressFormat::Declared);
        n.alphabet = Some(Alphabet::Base32);
        n.prefix = "G".into();
        n.min_length = 56;
        n.max_length = 56;
        assert_eq!(address(&n)["pattern"], "^G[A-Z2-7]{55,55}$");
        assert_eq!(regex_escape("a.b-"), r"a\.b\-");
    }

    /// The addresses the CI's schemathesis hooks generate for the custom
    /// bitcoin formats are ones Keyward accepts.
    #[test]
    fn the_generators_sample_addresses_are_valid() {
        let hooks = include_str!("../../../../.ci/schemathesis-hooks.py");
        let mut checked = 0;
        for chunk in hooks.split("schemathesis.openapi.format(").skip(1) {
            let chunk = chunk.split("\n)\n").next().unwrap_or_default();
            let quoted: Vec<&str> = chunk.split('"').skip(1).step_by(2).collect();
            let format = match quoted.first() {
                Some(&"bitcoin-address") => AddressFormat::Bitcoin,
                Some(&"bitcoin-testnet-address") => AddressFormat::BitcoinTestnet,
                other => panic!("unknown format {other:?}"),
            };
            for address in &quoted[1..] {
                assert_eq!(
                    NetworkConfig::of(format).check(address),
                    Ok(()),
                    "{address}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 6, "{checked}");
    }
}
