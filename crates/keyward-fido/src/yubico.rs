//! Yubico's attestation PKI, built in: the three roots a YubiKey's FIDO
//! attestation chains to, the intermediates Yubico publishes under the
//! newest root, and the AAGUIDs of the YubiKey 5 models they may attest.
//!
//! Which root signs depends on the firmware: "Yubico U2F Root CA Serial
//! 457200631" (2014) for keys before 5.7, "Yubico FIDO Root CA Serial
//! 450203556" (2024, which signs attestation certificates directly) and
//! "Yubico Attestation Root 1" (2024-12, firmware 5.7.4 and later) through
//! "Yubico Attestation Intermediate {A,B} 1" and "Yubico FIDO Attestation
//! {A,B,B2} 1". A key's attestation statement carries its own certificate and
//! not always the intermediates, and webauthn-rs looks for the issuer of the
//! top certificate the statement carries among the trusted ones: so the
//! intermediates are trusted beside the roots, and any truncation of the
//! chain validates.
//!
//! Sources. Yubico publishes these at developers.yubico.com/PKI/
//! (`yubico-ca-certs.txt`, `yubico-intermediate.pem`). The copies here were
//! taken from public repositories that reproduce them and cross-checked:
//! - the roots' SHA-256 fingerprints below equal the ones other projects
//!   pin independently (a Python FIDO toolkit's tests pin all three; a Rust
//!   WebAuthn crate's comments and two READMEs pin the U2F and FIDO roots),
//!   and "Yubico Attestation Root 1" is byte-identical in two unrelated Go
//!   projects (an OpenPGP attestation verifier and a FIDO2 wallet service);
//! - "Yubico Attestation Intermediate B 1" is byte-identical in the Go
//!   OpenPGP verifier and in sshcerts (`src/fido/verification.rs`); the A
//!   intermediates and both "FIDO Attestation" certificates come from
//!   sshcerts, and every intermediate's signature was verified against
//!   "Yubico Attestation Root 1" when it was added
//!   (`openssl verify -CAfile root -untrusted intermediate cert`: OK).
//!
//! - "Yubico FIDO Attestation B2 1" (2025; firmware 5.8 keys chain EE → B2
//!   → Intermediate B 1 → Root 1, with only the EE in `x5c`) comes from one
//!   public copy (a Python FIDO toolkit's `yubico-fido-intermediates.pem`,
//!   taken from Yubico's bundle), whose tests pin the same SHA-256; its
//!   signature verifies under "Yubico Attestation Intermediate B 1" (pinned
//!   above from two sources), so no one but Yubico could have issued it.
//!
//! The test pins every certificate's fingerprint: a swapped file fails it.

/// A built-in certificate: its name, PEM, and pinned SHA-256 of its DER.
pub struct BuiltinCa {
    /// The certificate's common name.
    pub name: &'static str,
    /// The certificate, PEM.
    pub pem: &'static [u8],
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: &'static str,
}

/// Every built-in Yubico certificate trusted under `attestation.yubico`.
pub const YUBICO_CAS: &[BuiltinCa] = &[
    BuiltinCa {
        name: "Yubico U2F Root CA Serial 457200631",
        pem: include_bytes!("../certs/yubico-u2f-root-ca-457200631.pem"),
        sha256: "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42",
    },
    BuiltinCa {
        name: "Yubico FIDO Root CA Serial 450203556",
        pem: include_bytes!("../certs/yubico-fido-root-ca-450203556.pem"),
        sha256: "35f1a54b353bfb711e6d42adbeb76c0e9dead095018e6a94783ba2192fd6faad",
    },
    BuiltinCa {
        name: "Yubico Attestation Root 1",
        pem: include_bytes!("../certs/yubico-attestation-root-1.pem"),
        sha256: "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
    },
    BuiltinCa {
        name: "Yubico Attestation Intermediate A 1",
        pem: include_bytes!("../certs/yubico-attestation-intermediate-a-1.pem"),
        sha256: "4698a1d3389c3ec60016c216250f1d0439922832d65142327436376dc2942b55",
    },
    BuiltinCa {
        name: "Yubico Attestation Intermediate B 1",
        pem: include_bytes!("../certs/yubico-attestation-intermediate-b-1.pem"),
        sha256: "d4cc3f456fdaf4e7812a21aab1dfe9d8e27d24e2fd2d6f21c9940109f0daa754",
    },
    BuiltinCa {
        name: "Yubico FIDO Attestation A 1",
        pem: include_bytes!("../certs/yubico-fido-attestation-a-1.pem"),
        sha256: "4ebabc9cbc964f722c985f3784d057e9ef5dcf454dcb4f767fccca58cf16a4e8",
    },
    BuiltinCa {
        name: "Yubico FIDO Attestation B 1",
        pem: include_bytes!("../certs/yubico-fido-attestation-b-1.pem"),
        sha256: "4eadda86ff62cff987e111a07910d8554de42f71d5d6da7744610e09012dd319",
    },
    BuiltinCa {
        name: "Yubico FIDO Attestation B2 1",
        pem: include_bytes!("../certs/yubico-fido-attestation-b2-1.pem"),
        sha256: "3c6fe819adbd80afe75dc90af7bba34c95b2b7ac64384816e033f63b7c93848b",
    },
];

/// AAGUIDs of the YubiKey 5 models (Yubico's published list; the 5.7
/// models as listed by Microsoft Entra's FIDO2 compatibility table and
/// administration scripts that name them).
pub const YUBIKEY_5_AAGUIDS: &[(&str, &str)] = &[
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
    ("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series"),
    (
        "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
        "YubiKey 5 Series with NFC",
    ),
    (
        "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        "YubiKey 5 Series with NFC",
    ),
    ("c5ef55ff-ad9a-4b9f-b580-adebafe026d0", "YubiKey 5Ci"),
    (
        "73bb0cd4-e502-49b8-9c6f-b59445bf720b",
        "YubiKey 5 FIPS Series",
    ),
    (
        "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
        "YubiKey 5 FIPS Series with NFC",
    ),
    (
        "85203421-48f9-4355-9bc8-8a53846e5083",
        "YubiKey 5 FIPS Series with Lightning",
    ),
    // Firmware 5.7 and later (chaining to "Yubico Attestation Root 1").
    (
        "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b",
        "YubiKey 5 Series (5.7)",
    ),
    (
        "ff4dac45-ede8-4ec2-aced-cf66103f4335",
        "YubiKey 5 Series (5.7)",
    ),
    (
        "a25342c0-3cdc-4414-8e46-f4807fca511c",
        "YubiKey 5 Series with NFC (5.7)",
    ),
    (
        "d7781e5d-e353-46aa-afe2-3ca49f13332a",
        "YubiKey 5 Series with NFC (5.7)",
    ),
    (
        "a02167b9-ae71-4ac7-9a07-06432ebb6f1c",
        "YubiKey 5 Series with Lightning (5.7)",
    ),
    (
        "24673149-6c86-42e7-98d9-433fb5b73296",
        "YubiKey 5 Series with Lightning (5.7)",
    ),
    (
        "fcc0118f-cd45-435b-8da1-9782b2da0715",
        "YubiKey 5 FIPS Series with NFC (5.7)",
    ),
    (
        "57f7de54-c807-4eab-b1c6-1c9be7984e92",
        "YubiKey 5 FIPS Series (5.7)",
    ),
    (
        "7b96457d-e3cd-432b-9ceb-c9fdd7ef7432",
        "YubiKey 5 FIPS Series with Lightning (5.7)",
    ),
];

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use sha2::{Digest, Sha256};

    use super::*;

    fn der(pem: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(pem).unwrap_or_default();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body.trim()).unwrap_or_default()
    }

    /// A certificate swapped in the repository (or a copy error) changes
    /// its fingerprint: every built-in certificate is pinned.
    #[test]
    fn every_builtin_certificate_has_its_pinned_fingerprint() {
        assert_eq!(YUBICO_CAS.len(), 8);
        for ca in YUBICO_CAS {
            let got = hex_of(&Sha256::digest(der(ca.pem)));
            assert_eq!(got, ca.sha256, "{}", ca.name);
        }
    }

    /// The three roots carry the fingerprints other projects publish.
    #[test]
    fn the_roots_are_the_published_ones() {
        let published = [
            "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42",
            "35f1a54b353bfb711e6d42adbeb76c0e9dead095018e6a94783ba2192fd6faad",
            "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
        ];
        for fingerprint in published {
            assert!(
                YUBICO_CAS.iter().any(|ca| ca.sha256 == fingerprint),
                "{fingerprint}"
            );
        }
    }

    #[test]
    fn model_aaguids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for (aaguid, model) in YUBIKEY_5_AAGUIDS {
            assert!(uuid::Uuid::parse_str(aaguid).is_ok(), "{model}");
            assert!(seen.insert(*aaguid), "{aaguid} twice");
        }
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
