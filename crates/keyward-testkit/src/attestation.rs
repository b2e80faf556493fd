//! Attestation kinds, and a test certificate authority issuing FIDO attestation certificates.

use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PrintableString,
};

use crate::TestkitError;

/// OID of the `id-fido-gen-ce-aaguid` certificate extension.
const FIDO_GEN_CE_AAGUID: [u64; 10] = [1, 3, 6, 1, 4, 1, 45724, 1, 1, 4];

/// What a key attests with.
#[derive(Debug, Clone, Default)]
pub enum Attestation {
    /// `fmt: "none"`, empty attestation statement.
    #[default]
    None,
    /// `fmt: "packed"` self attestation: signed by the credential key itself, no `x5c`.
    PackedSelf,
    /// `fmt: "packed"` basic attestation: signed by this certificate's key, `x5c: [leaf]`.
    PackedX5c(AttestationCert),
}

/// An attestation certificate and its private key, as burnt into an authenticator model.
#[derive(Debug, Clone)]
pub struct AttestationCert {
    leaf_der: Vec<u8>,
    signing_key: SigningKey,
    chain_der: Vec<Vec<u8>>,
    aaguid: [u8; 16],
}

impl AttestationCert {
    /// The leaf (attestation) certificate, DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// The issuing chain above the leaf, nearest first, DER (here: just the issuing CA).
    /// Not sent in `x5c`; a relying party is expected to hold the root.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The attestation private key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The AAGUID in the certificate's `id-fido-gen-ce-aaguid` extension.
    pub fn aaguid(&self) -> [u8; 16] {
        self.aaguid
    }
}

/// A test certificate authority, generated with rcgen (ECDSA P-256), that can issue FIDO
/// attestation certificates.
pub struct TestCa {
    name: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Map an rcgen error into ours.
fn cert_err(e: rcgen::Error) -> TestkitError {
    TestkitError::Certificate(e.to_string())
}

/// A distinguished name with C, O, (OU,) CN.
fn name(org: &str, unit: Option<&str>, common: &str) -> Result<DistinguishedName, TestkitError> {
    let mut dn = DistinguishedName::new();
    let country =
        PrintableString::try_from("US").map_err(|e| TestkitError::Certificate(e.to_string()))?;
    dn.push(DnType::CountryName, DnValue::PrintableString(country));
    dn.push(DnType::OrganizationName, org);
    if let Some(unit) = unit {
        dn.push(DnType::OrganizationalUnitName, unit);
    }
    dn.push(DnType::CommonName, common);
    Ok(dn)
}

impl TestCa {
    /// A fresh self-signed root CA (CA=true, keyCertSign) named `name`.
    ///
    /// # Panics
    /// If rcgen fails, which it does not for these fixed parameters.
    #[allow(clippy::panic)] // test-support constructor: a panic is the right failure
    pub fn generate(name: &str) -> Self {
        Self::try_generate(name).unwrap_or_else(|e| panic!("TestCa::generate({name:?}): {e}"))
    }

    /// Fallible [`TestCa::generate`].
    pub fn try_generate(name: &str) -> Result<Self, TestkitError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name_for_ca(name)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(cert_err)?;
        Ok(Self {
            name: name.to_owned(),
            cert,
            key,
        })
    }

    /// An intermediate CA named `name`, issued by this CA (as a vendor's
    /// attestation PKI has them: root → intermediate → device certificate).
    ///
    /// # Panics
    /// If rcgen fails, which it does not for these fixed parameters.
    #[allow(clippy::panic)] // test-support constructor: a panic is the right failure
    pub fn issue_intermediate(&self, name: &str) -> TestCa {
        self.try_issue_intermediate(name)
            .unwrap_or_else(|e| panic!("TestCa::issue_intermediate({name:?}): {e}"))
    }

    /// Fallible [`TestCa::issue_intermediate`].
    pub fn try_issue_intermediate(&self, name: &str) -> Result<TestCa, TestkitError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name_for_ca(name)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(cert_err)?;
        Ok(TestCa {
            name: name.to_owned(),
            cert,
            key,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// A signing (leaf) certificate for `common_name` under this CA, as a
    /// service signs documents with (CA=false, digitalSignature), with its key.
    ///
    /// # Panics
    /// If rcgen fails, which it does not for these fixed parameters.
    #[allow(clippy::panic)] // test-support constructor: a panic is the right failure
    pub fn issue_signing_cert(&self, common_name: &str) -> (Vec<u8>, SigningKey) {
        let issue = || -> Result<_, TestkitError> {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
            let signing_key = SigningKey::from_pkcs8_der(&key.serialize_der())
                .map_err(|e| TestkitError::Crypto(e.to_string()))?;
            let mut params = CertificateParams::default();
            params.distinguished_name = name(&self.name, None, common_name)?;
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.use_authority_key_identifier_extension = true;
            let cert = params
                .signed_by(&key, &self.cert, &self.key)
                .map_err(cert_err)?;
            Ok((cert.der().to_vec(), signing_key))
        };
        issue().unwrap_or_else(|e| panic!("TestCa::issue_signing_cert: {e}"))
    }

    /// Issue a leaf attestation certificate meeting the FIDO packed requirements (v3, subject
    /// C/O/OU "Authenticator Attestation"/CN, basic constraints CA=false, keyUsage
    /// digitalSignature, non-critical `id-fido-gen-ce-aaguid` = `aaguid`), signed by this CA.
    ///
    /// # Panics
    /// If rcgen fails, which it does not for these fixed parameters.
    #[allow(clippy::panic)] // test-support constructor: a panic is the right failure
    pub fn issue_attestation_cert(&self, aaguid: [u8; 16]) -> AttestationCert {
        self.try_issue_attestation_cert(aaguid)
            .unwrap_or_else(|e| panic!("TestCa::issue_attestation_cert: {e}"))
    }

    /// Fallible [`TestCa::issue_attestation_cert`].
    pub fn try_issue_attestation_cert(
        &self,
        aaguid: [u8; 16],
    ) -> Result<AttestationCert, TestkitError> {
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let signing_key = SigningKey::from_pkcs8_der(&leaf_key.serialize_der())
            .map_err(|e| TestkitError::Crypto(e.to_string()))?;

        let hex: String = aaguid.iter().map(|b| format!("{b:02x}")).collect();
        let mut params = CertificateParams::default();
        params.distinguished_name = name(
            &self.name,
            Some("Authenticator Attestation"),
            &format!("{} attestation {hex}", self.name),
        )?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // extnValue = DER OCTET STRING (16 bytes); rcgen wraps it in the outer OCTET STRING.
        let mut content = vec![0x04, 0x10];
        content.extend_from_slice(&aaguid);
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &FIDO_GEN_CE_AAGUID,
            content,
        )];
        params.use_authority_key_identifier_extension = true;
        let leaf = params
            .signed_by(&leaf_key, &self.cert, &self.key)
            .map_err(cert_err)?;
        Ok(AttestationCert {
            leaf_der: leaf.der().to_vec(),
            signing_key,
            chain_der: vec![self.cert_der()],
            aaguid,
        })
    }
}

/// The CA's distinguished name.
fn name_for_ca(ca_name: &str) -> Result<DistinguishedName, TestkitError> {
    name(ca_name, None, &format!("{ca_name} Root CA"))
}
