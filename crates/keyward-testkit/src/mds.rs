//! FIDO Metadata Service BLOBs signed under a test root: the same JWS shape
//! as the real service (header `alg` + `x5c` = [signing certificate,
//! intermediate]), signed ES256 by a chain the test makes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

use crate::TestCa;

/// A metadata service: root → intermediate → signing certificate.
#[derive(Debug)]
pub struct BlobSigner {
    root: TestCa,
    intermediate_der: Vec<u8>,
    leaf_der: Vec<u8>,
    key: SigningKey,
}

impl BlobSigner {
    /// A fresh service whose root is named `name`.
    pub fn generate(name: &str) -> Self {
        let root = TestCa::generate(name);
        let intermediate = root.issue_intermediate(&format!("{name} Issuing CA"));
        let (leaf_der, key) = intermediate.issue_signing_cert("mds.test");
        Self {
            intermediate_der: intermediate.cert_der(),
            root,
            leaf_der,
            key,
        }
    }

    /// The root a verifier must pin.
    pub fn root(&self) -> &TestCa {
        &self.root
    }

    /// `payload` as a BLOB (compact JWS).
    pub fn sign(&self, payload: &Value) -> String {
        let x5c = [&self.leaf_der, &self.intermediate_der].map(|d| STANDARD.encode(d));
        self.sign_with_header(
            &json!({ "alg": "ES256", "typ": "JWT", "x5c": x5c }),
            payload,
        )
    }

    /// `payload` signed, but with no `x5c` in the header.
    pub fn sign_without_x5c(&self, payload: &Value) -> String {
        self.sign_with_header(&json!({ "alg": "ES256", "typ": "JWT" }), payload)
    }

    fn sign_with_header(&self, header: &Value, payload: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// An MDS3 payload: serial `no`, `nextUpdate`, entries.
pub fn payload(no: u64, next_update: &str, entries: Vec<Value>) -> Value {
    json!({
        "legalHeader": "Test metadata, not for production.",
        "no": no,
        "nextUpdate": next_update,
        "entries": entries,
    })
}

/// A FIDO2 entry for `aaguid` named `description`, attested under `roots`,
/// with `(status, effectiveDate)` reports.
pub fn entry(
    aaguid: &str,
    description: &str,
    roots: &[&TestCa],
    statuses: &[(&str, &str)],
) -> Value {
    let roots: Vec<Vec<u8>> = roots.iter().map(|ca| ca.cert_der()).collect();
    entry_with_roots(aaguid, description, &roots, statuses)
}

/// [`entry`] with the attestation roots as DER certificates.
pub fn entry_with_roots(
    aaguid: &str,
    description: &str,
    roots: &[Vec<u8>],
    statuses: &[(&str, &str)],
) -> Value {
    let roots: Vec<String> = roots.iter().map(|der| STANDARD.encode(der)).collect();
    let reports: Vec<Value> = statuses
        .iter()
        .map(|(status, date)| json!({ "status": status, "effectiveDate": date }))
        .collect();
    json!({
        "aaguid": aaguid,
        "metadataStatement": {
            "aaguid": aaguid,
            "description": description,
            "protocolFamily": "fido2",
            "attestationRootCertificates": roots,
            "keyProtection": ["hardware", "secure_element"],
        },
        "statusReports": reports,
        "timeOfLastStatusChange": statuses.last().map(|s| s.1).unwrap_or("2020-01-01"),
    })
}
