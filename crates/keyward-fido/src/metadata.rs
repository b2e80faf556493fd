//! The FIDO Metadata Service (MDS3): verifying a metadata BLOB and reading
//! what it says about each authenticator model.
//!
//! A BLOB is a JWS (compact form). Its header's `x5c` carries the signing
//! certificate and its intermediates; the chain must end at one of the
//! pinned roots ([`MDS_ROOTS`] in production, a test root in tests), and the
//! signature must verify under the leaf's key. Only then is the payload
//! read. What Keyward keeps of each FIDO2 entry is a [`ModelMetadata`]:
//! name, attestation roots, key protection, certification level and status
//! history. U2F and UAF entries (no AAGUID) are skipped.
//!
//! Revocation lists of the signing chain are not fetched: Keyward imports
//! files offline, and the `no` serial (checked by the caller) already stops
//! an attacker replaying an older BLOB.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_glue::traits::{DecodeDer, DecodePem};
use crypto_glue::x509::{Certificate, X509Store, oiddb};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::yubico::BuiltinCa;

/// The roots the FIDO Alliance signs its metadata BLOB under. Both are
/// pinned: the service moved from the R3 chain to the R46 chain in August
/// 2026, and a verifier that knew one broke on the switch.
///
/// Sources: Debian's `ca-certificates` (Mozilla's root store,
/// `GlobalSign_Root_CA_-_R3.crt`, `GlobalSign_Root_R46.crt`) and, byte for
/// byte, the copies a Rust FIDO metadata crate embeds (`fido-mds`,
/// `src/mds.rs`); the fingerprints are GlobalSign's published ones.
pub const MDS_ROOTS: &[BuiltinCa] = &[
    BuiltinCa {
        name: "GlobalSign Root CA - R3",
        pem: include_bytes!("../certs/globalsign-root-ca-r3.pem"),
        sha256: "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b",
    },
    BuiltinCa {
        name: "GlobalSign Root R46",
        pem: include_bytes!("../certs/globalsign-root-r46.pem"),
        sha256: "4fa3126d8d3a11d1c4855a4f807cbad6cf919d3a5a88b03bea2c6372d93c40c9",
    },
];

/// Why a BLOB was refused. Nothing of a refused BLOB is used.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Not a JWS, or its header or payload is not what MDS3 specifies.
    #[error("not a FIDO metadata BLOB: {0}")]
    Malformed(String),
    /// The signing chain does not end at a pinned root (or has expired).
    #[error("the BLOB's signing certificate does not chain to a trusted root: {0}")]
    UntrustedChain(String),
    /// The signature does not verify under the signing certificate.
    #[error("the BLOB's signature does not verify")]
    BadSignature,
    /// A pinned root is not a certificate (a build error).
    #[error("trusted root {0} is not a PEM certificate")]
    Root(String),
}

/// How far FIDO certified a model's security (FIDO Authenticator
/// Certification Levels). Ordered: `L1 < L1plus < L2 < ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CertificationLevel {
    /// Level 1 (`FIDO_CERTIFIED` and `FIDO_CERTIFIED_L1`).
    L1,
    /// Level 1+.
    L1plus,
    /// Level 2.
    L2,
    /// Level 2+.
    L2plus,
    /// Level 3.
    L3,
    /// Level 3+.
    L3plus,
}

impl CertificationLevel {
    /// The level a status report certifies, if it is a certification.
    fn of_status(status: &str) -> Option<Self> {
        Some(match status {
            "FIDO_CERTIFIED" | "FIDO_CERTIFIED_L1" => Self::L1,
            "FIDO_CERTIFIED_L1plus" => Self::L1plus,
            "FIDO_CERTIFIED_L2" => Self::L2,
            "FIDO_CERTIFIED_L2plus" => Self::L2plus,
            "FIDO_CERTIFIED_L3" => Self::L3,
            "FIDO_CERTIFIED_L3plus" => Self::L3plus,
            _ => return None,
        })
    }

    /// Parses `L1`, `L1plus`, … (as in configuration).
    pub fn parse(s: &str) -> Option<Self> {
        Self::of_status(&format!("FIDO_CERTIFIED_{s}"))
    }
}

/// The statuses under which a model's keys can no longer be trusted to
/// approve anything (MDS3 §3.1.4): the model's certification was revoked,
/// its attestation key leaked, or its user keys or user verification can be
/// extracted or bypassed.
pub const COMPROMISE_STATUSES: &[&str] = &[
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
];

/// Whether `status` is one of [`COMPROMISE_STATUSES`].
pub fn is_compromise(status: &str) -> bool {
    COMPROMISE_STATUSES.contains(&status)
}

/// One entry of a model's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// `FIDO_CERTIFIED_L1`, `REVOKED`, … (kept as sent: new statuses appear).
    pub status: String,
    /// ISO date from which the status applies, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<String>,
}

/// What metadata says about one authenticator model (one AAGUID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The model.
    pub aaguid: Uuid,
    /// Its name, e.g. "YubiKey 5 Series with NFC".
    pub description: String,
    /// Certificates (DER, standard base64) its attestations chain to.
    pub attestation_roots: Vec<String>,
    /// How it protects keys (`hardware`, `secure_element`, …).
    pub key_protection: Vec<String>,
    /// Status history as published.
    pub status_reports: Vec<StatusReport>,
}

impl ModelMetadata {
    /// The latest status: the report with the latest effective date (a
    /// later report wins a tie; undated reports count as oldest).
    pub fn latest_status(&self) -> Option<&str> {
        self.status_reports
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| {
                (a.effective_date.as_deref(), i).cmp(&(b.effective_date.as_deref(), j))
            })
            .map(|(_, r)| r.status.as_str())
    }

    /// The compromise the latest status reports, if it is one.
    pub fn compromise(&self) -> Option<&str> {
        self.latest_status().filter(|s| is_compromise(s))
    }

    /// The highest certification level reported, unless the latest status
    /// is a compromise (a revoked certification certifies nothing).
    pub fn certification(&self) -> Option<CertificationLevel> {
        if self.compromise().is_some() {
            return None;
        }
        self.status_reports
            .iter()
            .filter_map(|r| CertificationLevel::of_status(&r.status))
            .max()
    }

    /// The attestation roots, decoded; entries that are not base64 are
    /// skipped (the BLOB has carried malformed ones).
    pub fn root_ders(&self) -> Vec<Vec<u8>> {
        self.attestation_roots
            .iter()
            .filter_map(|b64| STANDARD.decode(b64.trim()).ok())
            .collect()
    }
}

/// A verified BLOB: its serial, when the next one is due, and its FIDO2
/// models.
#[derive(Debug, Clone)]
pub struct MetadataBlob {
    /// Serial number; each new BLOB has a greater one.
    pub no: u64,
    /// ISO date by which the next BLOB will be published.
    pub next_update: String,
    /// The FIDO2 models it describes.
    pub models: Vec<ModelMetadata>,
}

/// Verifies a BLOB (the JWS text) against `roots` (PEM) at `now`, and reads
/// it. The caller checks `no` against the BLOB in use.
pub fn verify_blob(
    jws: &str,
    roots: &[&[u8]],
    now: SystemTime,
) -> Result<MetadataBlob, MetadataError> {
    let jws = jws.trim();
    let header = jsonwebtoken::decode_header(jws)
        .map_err(|e| MetadataError::Malformed(format!("header: {e}")))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(MetadataError::Malformed(format!(
            "signature algorithm {:?} (expected RS256 or ES256)",
            header.alg
        )));
    }
    let chain = header
        .x5c
        .filter(|c| !c.is_empty())
        .ok_or_else(|| MetadataError::Malformed("no x5c certificate chain".into()))?
        .iter()
        .map(|b64| {
            let der = STANDARD
                .decode(b64)
                .map_err(|e| MetadataError::Malformed(format!("x5c: {e}")))?;
            Certificate::from_der(&der).map_err(|e| MetadataError::Malformed(format!("x5c: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let roots = roots
        .iter()
        .map(|pem| Certificate::from_pem(pem).map_err(|e| MetadataError::Root(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or_else(|| MetadataError::Malformed("empty x5c".into()))?;
    X509Store::new(&roots)
        .verify(leaf, intermediates, now)
        .map_err(|e| MetadataError::UntrustedChain(format!("{e:?}")))?;

    let key = leaf_key(leaf)?;
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let payload =
        jsonwebtoken::decode::<serde_json::Value>(jws, &key, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => MetadataError::Malformed(e.to_string()),
                _ => MetadataError::BadSignature,
            }
        })?;
    read_payload(payload.claims)
}

/// Reads a BLOB's payload (already verified): its serial, next update and
/// FIDO2 models. Public for the fuzzer; never call it on an unverified
/// payload.
pub fn read_payload(payload: serde_json::Value) -> Result<MetadataBlob, MetadataError> {
    let payload: Payload =
        serde_json::from_value(payload).map_err(|e| MetadataError::Malformed(e.to_string()))?;
    Ok(payload.into_blob())
}

/// The leaf's public key for jsonwebtoken: PKCS#1 for RSA, the SEC1 point
/// for P-256 (what the subject public key bit string holds for each).
fn leaf_key(leaf: &Certificate) -> Result<DecodingKey, MetadataError> {
    let spki = leaf.tbs_certificate().subject_public_key_info();
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| MetadataError::Malformed("signing key".into()))?;
    match spki.algorithm.oid {
        oiddb::rfc5912::RSA_ENCRYPTION => Ok(DecodingKey::from_rsa_der(bits)),
        oiddb::rfc5912::ID_EC_PUBLIC_KEY => Ok(DecodingKey::from_ec_der(bits)),
        other => Err(MetadataError::Malformed(format!(
            "signing key type {other}"
        ))),
    }
}

/// The parts of the MDS3 payload Keyward reads (unknown fields ignored:
/// the format grows).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    no: u64,
    next_update: String,
    #[serde(default)]
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    aaguid: Option<Uuid>,
    metadata_statement: Option<Statement>,
    #[serde(default)]
    status_reports: Vec<StatusReport>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    #[serde(default)]
    description: String,
    #[serde(default)]
    attestation_root_certificates: Vec<String>,
    #[serde(default)]
    key_protection: Vec<String>,
}

impl Payload {
    fn into_blob(self) -> MetadataBlob {
        let models = self
            .entries
            .into_iter()
            .filter_map(|e| {
                let aaguid = e.aaguid.filter(|a| !a.is_nil())?;
                let statement = e.metadata_statement;
                let (description, attestation_roots, key_protection) = match statement {
                    Some(s) => (
                        s.description,
                        s.attestation_root_certificates,
                        s.key_protection,
                    ),
                    None => (String::new(), vec![], vec![]),
                };
                Some(ModelMetadata {
                    aaguid,
                    description,
                    attestation_roots,
                    key_protection,
                    status_reports: e.status_reports,
                })
            })
            .collect();
        MetadataBlob {
            no: self.no,
            next_update: self.next_update,
            models,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_testkit::{BlobSigner, TestCa, mds};
    use sha2::{Digest, Sha256};

    const AAGUID: &str = "ee882879-721c-4913-9775-3dfcce97072a";

    fn payload(no: u64, statuses: &[(&str, &str)], root: &TestCa) -> serde_json::Value {
        mds::payload(
            no,
            "2027-01-01",
            vec![mds::entry(AAGUID, "Test Key 5 NFC", &[root], statuses)],
        )
    }

    fn roots(ca: &TestCa) -> Vec<u8> {
        ca.cert_pem().into_bytes()
    }

    #[test]
    fn a_blob_signed_under_a_trusted_root_is_read() {
        let signer = BlobSigner::generate("Test MDS");
        let vendor = TestCa::generate("Vendor");
        let blob = signer.sign(&payload(7, &[("FIDO_CERTIFIED_L2", "2024-01-01")], &vendor));
        let root = roots(signer.root());
        let read = verify_blob(&blob, &[&root], SystemTime::now()).unwrap();
        assert_eq!(read.no, 7);
        assert_eq!(read.next_update, "2027-01-01");
        let model = &read.models[0];
        assert_eq!(model.aaguid, Uuid::parse_str(AAGUID).unwrap());
        assert_eq!(model.description, "Test Key 5 NFC");
        assert_eq!(model.root_ders(), vec![vendor.cert_der()]);
        assert_eq!(model.certification(), Some(CertificationLevel::L2));
        assert_eq!(model.compromise(), None);
    }

    #[test]
    fn a_blob_under_an_unknown_root_is_refused() {
        let signer = BlobSigner::generate("Test MDS");
        let other = TestCa::generate("Someone else");
        let blob = signer.sign(&payload(7, &[], &other));
        let root = roots(&other);
        let err = verify_blob(&blob, &[&root], SystemTime::now()).unwrap_err();
        assert!(matches!(err, MetadataError::UntrustedChain(_)), "{err}");
    }

    #[test]
    fn a_blob_with_a_changed_payload_is_refused() {
        let signer = BlobSigner::generate("Test MDS");
        let blob = signer.sign(&payload(7, &[], signer.root()));
        // Swap in another payload under the same header and signature.
        let other = signer.sign(&payload(8, &[], signer.root()));
        let mut parts: Vec<&str> = blob.split('.').collect();
        parts[1] = other.split('.').nth(1).unwrap();
        let forged = parts.join(".");
        let root = roots(signer.root());
        let err = verify_blob(&forged, &[&root], SystemTime::now()).unwrap_err();
        assert!(matches!(err, MetadataError::BadSignature), "{err}");
    }

    #[test]
    fn garbage_and_chainless_blobs_are_refused() {
        let signer = BlobSigner::generate("Test MDS");
        let root = roots(signer.root());
        for bad in ["", "a.b.c", "not a jws"] {
            assert!(matches!(
                verify_blob(bad, &[&root], SystemTime::now()),
                Err(MetadataError::Malformed(_))
            ));
        }
        let unsigned = signer.sign_without_x5c(&payload(1, &[], signer.root()));
        assert!(matches!(
            verify_blob(&unsigned, &[&root], SystemTime::now()),
            Err(MetadataError::Malformed(_))
        ));
    }

    #[test]
    fn the_latest_status_decides_compromise_and_certification() {
        let model = |reports: &[(&str, Option<&str>)]| ModelMetadata {
            aaguid: Uuid::nil(),
            description: String::new(),
            attestation_roots: vec![],
            key_protection: vec![],
            status_reports: reports
                .iter()
                .map(|(s, d)| StatusReport {
                    status: (*s).into(),
                    effective_date: d.map(Into::into),
                })
                .collect(),
        };
        let revoked_later = model(&[
            ("FIDO_CERTIFIED_L1", Some("2021-01-01")),
            ("REVOKED", Some("2025-03-01")),
        ]);
        assert_eq!(revoked_later.compromise(), Some("REVOKED"));
        assert_eq!(revoked_later.certification(), None);
        // Listed out of order: the date decides, not the position.
        let fixed_since = model(&[
            ("FIDO_CERTIFIED_L2", Some("2026-01-01")),
            ("USER_VERIFICATION_BYPASS", Some("2022-01-01")),
        ]);
        assert_eq!(fixed_since.compromise(), None);
        assert_eq!(fixed_since.certification(), Some(CertificationLevel::L2));
        assert_eq!(model(&[]).latest_status(), None);
        assert!(CertificationLevel::L1plus > CertificationLevel::L1);
        assert_eq!(
            CertificationLevel::parse("L2plus"),
            Some(CertificationLevel::L2plus)
        );
        assert_eq!(CertificationLevel::parse("L9"), None);
    }

    /// The pinned MDS roots: a swapped file fails here.
    #[test]
    fn mds_roots_have_their_pinned_fingerprints() {
        for ca in MDS_ROOTS {
            let cert = Certificate::from_pem(ca.pem).unwrap();
            let der = crypto_glue::traits::EncodeDer::to_der(&cert).unwrap();
            let digest: String = Sha256::digest(der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(digest, ca.sha256, "{}", ca.name);
        }
        assert_eq!(MDS_ROOTS.len(), 2);
    }
}
