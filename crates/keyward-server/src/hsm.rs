//! Approval-signing keys inside a PKCS#11 token (an HSM; SoftHSM2 in the
//! tests): generated there as non-extractable Ed25519 keys labelled with
//! their `kid`, used there (CKM_EDDSA), never seen by Keyward. The database
//! keeps only the `kid` and which custody the key is in.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `[signing.pkcs11]`: the token that holds the signing keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN (best through `KEYWARD_SIGNING__PKCS11__PIN`). Never
    /// printed.
    #[serde(serialize_with = "redacted")]
    pub pin: secrecy::SecretString,
}

fn redacted<S: serde::Serializer>(_: &secrecy::SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("REDACTED")
}

/// `edwards25519` as a PrintableString: the curve of an Ed25519 key pair
/// (PKCS#11 3.0 §2.3.10).
const ED25519_PARAMS: [u8; 14] = [
    0x13, 0x0c, b'e', b'd', b'w', b'a', b'r', b'd', b's', b'2', b'5', b'5', b'1', b'9',
];

/// A logged-in session with the token.
pub struct Hsm {
    /// `None` only while being dropped.
    session: Mutex<Option<Session>>,
}

/// The sessions of one process take turns on the token, from opening to
/// closing, even sessions opened separately (tests and the CLI open the
/// token more than once in one process). SoftHSM2 fails concurrent EdDSA
/// key generation in one process with CKR_GENERAL_ERROR (SoftHSMv2 issues
/// 485 and 573; seen here in the token tests), and a session closing while
/// another opens can take the new one with it (issue 464). One server
/// process uses one session, so this costs it nothing.
static TOKEN_TURN: Mutex<()> = Mutex::new(());

fn token_turn() -> MutexGuard<'static, ()> {
    // Nothing is guarded but the turn itself: a panic in another holder
    // leaves nothing half-done here.
    TOKEN_TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Hsm {
    fn drop(&mut self) {
        let _turn = token_turn();
        let session = self.session.get_mut().map(Option::take);
        drop(session);
    }
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hsm(..)")
    }
}

impl Hsm {
    /// Loads the module, finds the token by label and logs in.
    pub fn open(config: &Pkcs11Config) -> anyhow::Result<Self> {
        let fail = |what: &str, e: Error| anyhow::anyhow!("PKCS#11 {what}: {e}");
        let _turn = token_turn();
        let context = Pkcs11::new(&config.module)
            .map_err(|e| anyhow::anyhow!("PKCS#11 module {}: {e}", config.module.display()))?;
        // One process may open the token more than once (the CLI, tests).
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, Function::Initialize)) => {}
            Err(e) => return Err(fail("initialize", e)),
        }
        let slot = context
            .get_slots_with_token()
            .map_err(|e| fail("slots", e))?
            .into_iter()
            .find(|slot| {
                context
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim() == config.token_label)
            })
            .ok_or_else(|| {
                anyhow::anyhow!("PKCS#11: no token labelled `{}`", config.token_label)
            })?;
        let session = context
            .open_rw_session(slot)
            .map_err(|e| fail("session", e))?;
        let pin = AuthPin::new(config.pin.expose_secret().into());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(fail("login", e)),
        }
        Ok(Self {
            session: Mutex::new(Some(session)),
        })
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let _turn = token_turn();
        let session = self
            .session
            .lock()
            .map_err(|_| anyhow::anyhow!("PKCS#11 session poisoned"))?;
        let session = session
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("PKCS#11 session closed"))?;
        f(session)
    }

    /// Generates a key pair in the token; returns its `kid` (derived from
    /// the public key, as for keys Keyward holds) and the public key.
    pub fn generate(&self) -> anyhow::Result<(String, [u8; 32])> {
        self.with_session(|session| {
            let public = [
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Verify(true),
                Attribute::EcParams(ED25519_PARAMS.to_vec()),
            ];
            let private = [
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
            ];
            let (pub_handle, priv_handle) = session
                .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
                .map_err(|e| anyhow::anyhow!("PKCS#11 key generation: {e}"))?;
            let point = public_point(session, pub_handle)?;
            let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(point)[..16]);
            for handle in [pub_handle, priv_handle] {
                session
                    .update_attributes(handle, &[Attribute::Label(kid.clone().into_bytes())])
                    .map_err(|e| anyhow::anyhow!("PKCS#11 label: {e}"))?;
            }
            Ok((kid, point))
        })
    }

    /// The public key of `kid`, if the token holds it.
    pub fn public_key(&self, kid: &str) -> Option<[u8; 32]> {
        self.with_session(|session| {
            let handle = find(session, ObjectClass::PUBLIC_KEY, kid)?;
            public_point(session, handle)
        })
        .ok()
    }

    /// Signs `message` with the private key `kid` (pure Ed25519).
    pub fn sign(&self, kid: &str, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.with_session(|session| {
            let key = find(session, ObjectClass::PRIVATE_KEY, kid)?;
            let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
            session
                .sign(&mechanism, key, message)
                .map_err(|e| anyhow::anyhow!("PKCS#11 sign: {e}"))
        })
    }
}

fn find(session: &Session, class: ObjectClass, kid: &str) -> anyhow::Result<ObjectHandle> {
    let template = [
        Attribute::Class(class),
        Attribute::Label(kid.as_bytes().to_vec()),
    ];
    session
        .find_objects(&template)
        .map_err(|e| anyhow::anyhow!("PKCS#11 find: {e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("PKCS#11: no key `{kid}` in the token"))
}

/// CKA_EC_POINT of an Ed25519 public key: the 32 bytes, wrapped in a DER
/// OCTET STRING (tokens differ on the wrapping; both forms are read).
fn public_point(session: &Session, handle: ObjectHandle) -> anyhow::Result<[u8; 32]> {
    let attributes = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(|e| anyhow::anyhow!("PKCS#11 public key: {e}"))?;
    let Some(Attribute::EcPoint(point)) = attributes.into_iter().next() else {
        anyhow::bail!("PKCS#11: public key without a point");
    };
    let raw = match point.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        raw if raw.len() == 32 => raw,
        _ => anyhow::bail!("PKCS#11: not an Ed25519 point"),
    };
    let mut out = [0u8; 32];
    out.copy_from_slice(raw);
    Ok(out)
}
