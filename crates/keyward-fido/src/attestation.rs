//! Attestation policy: which security keys may be enrolled.
//!
//! `Any` accepts every authenticator (development only). `Trusted` accepts a
//! key only if its attestation chains to a configured vendor CA *and* its
//! AAGUID is on that CA's allow-list; `none` and self attestation are refused.

use uuid::Uuid;
use webauthn_rs::prelude::{AttestationCaList, AttestationCaListBuilder};

use crate::FidoError;

/// The Yubico U2F/FIDO root (serial 457200631), which signs the attestation
/// certificates of YubiKey 5 series keys.
pub const YUBICO_ROOT_CA_PEM: &[u8] = include_bytes!("../certs/yubico-u2f-root-ca-457200631.pem");

/// AAGUIDs of current YubiKey 5 series models (from Yubico's published list).
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
];

/// An extra attestation root an operator trusts, with the device models
/// (AAGUIDs) it may vouch for.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    /// Where the CA came from (file name), for error messages.
    pub name: String,
    /// The CA certificate, PEM.
    pub pem: Vec<u8>,
    /// Models this CA may attest. Must not be empty.
    pub aaguids: Vec<Uuid>,
}

/// Which authenticators may be enrolled.
#[derive(Debug, Clone)]
pub enum AttestationPolicy {
    /// Accept any authenticator, attested or not. For development.
    Any,
    /// Accept only keys attested by these CAs, for these AAGUIDs.
    Trusted(AttestationCaList),
}

impl AttestationPolicy {
    /// Builds the `trusted` policy from the built-in Yubico list (if wanted)
    /// plus operator-supplied CAs.
    pub fn trusted(include_yubico: bool, extra: &[TrustedCa]) -> Result<Self, FidoError> {
        let mut builder = AttestationCaListBuilder::new();
        if include_yubico {
            for (aaguid, model) in YUBIKEY_5_AAGUIDS {
                let aaguid = Uuid::parse_str(aaguid)
                    .map_err(|e| FidoError::Config(format!("built-in AAGUID: {e}")))?;
                builder
                    .insert_device_pem(
                        YUBICO_ROOT_CA_PEM,
                        aaguid,
                        (*model).into(),
                        Default::default(),
                    )
                    .map_err(|e| FidoError::Config(format!("built-in Yubico CA: {e}")))?;
            }
        }
        for ca in extra {
            if ca.aaguids.is_empty() {
                return Err(FidoError::Config(format!(
                    "trusted CA `{}` lists no AAGUIDs; name the models it may attest",
                    ca.name
                )));
            }
            for aaguid in &ca.aaguids {
                builder
                    .insert_device_pem(&ca.pem, *aaguid, ca.name.clone(), Default::default())
                    .map_err(|e| {
                        FidoError::Config(format!("CA `{}` is not a PEM certificate: {e}", ca.name))
                    })?;
            }
        }
        let list = builder.build();
        if list.is_empty() {
            return Err(FidoError::Config(
                "attestation policy `trusted` has no CAs: enable the Yubico list or add CA files"
                    .into(),
            ));
        }
        Ok(Self::Trusted(list))
    }

    /// True for the development policy that accepts anything.
    pub fn is_any(&self) -> bool {
        matches!(self, Self::Any)
    }

    pub(crate) fn ca_list(&self) -> Option<AttestationCaList> {
        match self {
            Self::Any => None,
            Self::Trusted(list) => Some(list.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_yubico_list_builds() {
        assert!(matches!(
            AttestationPolicy::trusted(true, &[]),
            Ok(AttestationPolicy::Trusted(_))
        ));
    }

    #[test]
    fn empty_trusted_policy_is_a_config_error() {
        assert!(AttestationPolicy::trusted(false, &[]).is_err());
    }

    #[test]
    fn extra_ca_without_aaguids_is_refused() {
        let ca = TrustedCa {
            name: "x.pem".into(),
            pem: YUBICO_ROOT_CA_PEM.to_vec(),
            aaguids: vec![],
        };
        let err = AttestationPolicy::trusted(false, &[ca]).unwrap_err();
        assert!(err.to_string().contains("no AAGUIDs"));
    }

    #[test]
    fn garbage_pem_is_refused() {
        let ca = TrustedCa {
            name: "bad.pem".into(),
            pem: b"nope".to_vec(),
            aaguids: vec![Uuid::nil()],
        };
        assert!(AttestationPolicy::trusted(false, &[ca]).is_err());
    }
}
