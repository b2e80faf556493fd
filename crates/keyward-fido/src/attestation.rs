//! Attestation policy: which security keys may be enrolled.
//!
//! `Any` accepts every authenticator (development only). `Trusted` accepts a
//! key only if its attestation chains to a configured vendor CA *and* its
//! AAGUID is on that CA's allow-list; `none` and self attestation are refused.
//! The CAs are the built-in Yubico ones, the operator's files, and each
//! model's roots from FIDO metadata; a model whose latest metadata status
//! is a compromise is trusted by none of them.

use uuid::Uuid;
use webauthn_rs::prelude::{AttestationCaList, AttestationCaListBuilder};

use crate::FidoError;
use crate::metadata::ModelMetadata;

pub use crate::yubico::{YUBICO_CAS, YUBIKEY_5_AAGUIDS};

/// The Yubico U2F root (serial 457200631), the oldest of the built-in
/// roots (kept by name for tests and tools).
pub const YUBICO_ROOT_CA_PEM: &[u8] = include_bytes!("../certs/yubico-u2f-root-ca-457200631.pem");

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
    pub fn trusted(
        include_yubico: bool,
        extra: &[TrustedCa],
        metadata: &[ModelMetadata],
    ) -> Result<Self, FidoError> {
        let compromised: Vec<Uuid> = metadata
            .iter()
            .filter(|m| m.compromise().is_some())
            .map(|m| m.aaguid)
            .collect();
        let mut builder = AttestationCaListBuilder::new();
        if include_yubico {
            for (aaguid, model) in YUBIKEY_5_AAGUIDS {
                let aaguid = Uuid::parse_str(aaguid)
                    .map_err(|e| FidoError::Config(format!("built-in AAGUID: {e}")))?;
                if compromised.contains(&aaguid) {
                    continue;
                }
                for ca in YUBICO_CAS {
                    builder
                        .insert_device_pem(ca.pem, aaguid, (*model).into(), Default::default())
                        .map_err(|e| FidoError::Config(format!("built-in {}: {e}", ca.name)))?;
                }
            }
        }
        for ca in extra {
            if ca.aaguids.is_empty() {
                return Err(FidoError::Config(format!(
                    "trusted CA `{}` lists no AAGUIDs; name the models it may attest",
                    ca.name
                )));
            }
            for aaguid in ca.aaguids.iter().filter(|a| !compromised.contains(a)) {
                builder
                    .insert_device_pem(&ca.pem, *aaguid, ca.name.clone(), Default::default())
                    .map_err(|e| {
                        FidoError::Config(format!("CA `{}` is not a PEM certificate: {e}", ca.name))
                    })?;
            }
        }
        for model in metadata.iter().filter(|m| m.compromise().is_none()) {
            for der in model.root_ders() {
                // A root the BLOB carries but that does not parse trusts
                // nothing; the model's other roots still count.
                if let Err(e) = builder.insert_device_der(
                    &der,
                    model.aaguid,
                    model.description.clone(),
                    Default::default(),
                ) {
                    tracing::warn!(aaguid = %model.aaguid, error = %e, "metadata root skipped");
                }
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
        let Ok(AttestationPolicy::Trusted(list)) = AttestationPolicy::trusted(true, &[], &[])
        else {
            panic!("the built-in Yubico list does not build");
        };
        // Every root and intermediate, each vouching for every YubiKey 5 model.
        assert_eq!(list.len(), YUBICO_CAS.len());
        for ca in list.cas().values() {
            assert_eq!(ca.aaguids().len(), YUBIKEY_5_AAGUIDS.len());
        }
    }

    #[test]
    fn empty_trusted_policy_is_a_config_error() {
        assert!(AttestationPolicy::trusted(false, &[], &[]).is_err());
    }

    #[test]
    fn extra_ca_without_aaguids_is_refused() {
        let ca = TrustedCa {
            name: "x.pem".into(),
            pem: YUBICO_ROOT_CA_PEM.to_vec(),
            aaguids: vec![],
        };
        let err = AttestationPolicy::trusted(false, &[ca], &[]).unwrap_err();
        assert!(err.to_string().contains("no AAGUIDs"));
    }

    #[test]
    fn garbage_pem_is_refused() {
        let ca = TrustedCa {
            name: "bad.pem".into(),
            pem: b"nope".to_vec(),
            aaguids: vec![Uuid::nil()],
        };
        assert!(AttestationPolicy::trusted(false, &[ca], &[]).is_err());
    }
}
