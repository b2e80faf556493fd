//! Where approval-signing keys are kept: sealed under the operator's
//! key-encryption key ([`crate::kek`]) in the database, or in a PKCS#11
//! token ([`crate::hsm`]) that signs for Keyward. A stored key is usable only
//! if it opens under the KEK or the token holds it.

use std::sync::Arc;

use keyward_access::approval::{self, SigningKey};
use secrecy::ExposeSecret;

use crate::clock::Millis;
use crate::config::Config;
use crate::hsm::Hsm;
use crate::kek::Kek;
use crate::store::signing_keys::SigningKeyRow;

/// Custody values of `signing_keys.custody`.
const KEK: &str = "kek";
const PKCS11: &str = "pkcs11";

/// Where signing keys are kept: sealed under the KEK, and (if configured) in
/// a PKCS#11 token, where new keys then go.
#[derive(Debug, Clone)]
pub struct Custody {
    kek: Kek,
    token: Option<Arc<Hsm>>,
}

impl Custody {
    /// The custody the configuration names (opens the token, if any).
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let token = match &config.signing.pkcs11 {
            Some(pkcs11) => Some(Arc::new(Hsm::open(pkcs11)?)),
            None => None,
        };
        Ok(Self {
            kek: Kek::load(config)?,
            token,
        })
    }

    /// The KEK (tests read sealed rows with it).
    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    /// Whether new keys are made in a token.
    pub fn uses_token(&self) -> bool {
        self.token.is_some()
    }

    /// A new key, kept where new keys go; its row.
    pub(crate) fn generate(&self, now: Millis) -> anyhow::Result<SigningKeyRow> {
        if let Some(hsm) = &self.token {
            let (kid, public) = hsm.generate()?;
            return Ok(SigningKeyRow {
                public_jwk: approval::public_jwk(&kid, &public).to_string(),
                kid,
                private_key: Vec::new(),
                created_at: now,
                retired_at: None,
                custody: PKCS11.into(),
            });
        }
        let key = SigningKey::generate();
        let der = key.to_pkcs8_der()?;
        Ok(SigningKeyRow {
            kid: key.kid.clone(),
            private_key: self.kek.seal(&key.kid, der.expose_secret())?,
            public_jwk: key.public_jwk().to_string(),
            created_at: now,
            retired_at: None,
            custody: KEK.into(),
        })
    }

    /// The key of `row`, if it is usable here.
    pub(crate) fn open(&self, row: &SigningKeyRow) -> Option<Signer> {
        match row.custody.as_str() {
            KEK => {
                let der = self.kek.open(&row.kid, &row.private_key).ok()?;
                let key = SigningKey::from_pkcs8_der(&row.kid, der.expose_secret()).ok()?;
                Some(Signer::Sealed(key))
            }
            PKCS11 => {
                let hsm = self.token.clone()?;
                let public = hsm.public_key(&row.kid)?;
                Some(Signer::Token {
                    kid: row.kid.clone(),
                    public,
                    hsm,
                })
            }
            _ => None,
        }
    }
}

/// A usable signing key.
pub enum Signer {
    /// Opened from its sealed row.
    Sealed(SigningKey),
    /// Held by the token, which signs.
    Token {
        /// Its kid (the token object's label).
        kid: String,
        /// Its public key, read from the token.
        public: [u8; 32],
        /// The token.
        hsm: Arc<Hsm>,
    },
}

impl Signer {
    pub(crate) fn public_jwk(&self) -> serde_json::Value {
        match self {
            Self::Sealed(key) => key.public_jwk(),
            Self::Token { kid, public, .. } => approval::public_jwk(kid, public),
        }
    }
}
