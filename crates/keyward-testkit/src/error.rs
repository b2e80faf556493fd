//! The error type of the fallible (`try_*`) entry points of the soft key.

use std::fmt;

/// Why the soft key could not answer a ceremony or build a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestkitError {
    /// The options JSON lacks a field or has one of the wrong shape.
    Options(String),
    /// The options do not allow ES256 (COSE alg -7), the only algorithm this key speaks.
    UnsupportedAlgorithm,
    /// `excludeCredentials` lists a credential this key holds; a real authenticator
    /// refuses to create a second one (the browser reports `InvalidStateError`).
    Excluded,
    /// No credential of this key may answer the assertion request.
    NoCredential,
    /// This key holds no credential with the given id.
    UnknownCredential,
    /// Encoding (CBOR, PKCS#8) or a cryptographic operation failed.
    Crypto(String),
    /// Building an X.509 certificate failed.
    Certificate(String),
    /// A key's state cannot be saved ([`crate::SoftKey::to_json`]) or loaded
    /// ([`crate::SoftKey::from_json`]).
    State(String),
}

impl fmt::Display for TestkitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Options(why) => write!(f, "bad WebAuthn options: {why}"),
            Self::UnsupportedAlgorithm => write!(f, "options do not allow ES256 (alg -7)"),
            Self::Excluded => write!(
                f,
                "this key holds a credential listed in excludeCredentials"
            ),
            Self::NoCredential => write!(f, "this key holds no credential usable for the request"),
            Self::UnknownCredential => write!(f, "this key holds no credential with that id"),
            Self::Crypto(why) => write!(f, "encoding or crypto failure: {why}"),
            Self::Certificate(why) => write!(f, "certificate generation failed: {why}"),
            Self::State(why) => write!(f, "soft key state: {why}"),
        }
    }
}

impl std::error::Error for TestkitError {}
