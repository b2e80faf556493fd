//! Test support (feature `testing`, and this crate's own tests): P-256 keys
//! and assertions made the way an authenticator makes them, and key chains
//! built from them, for tests and benchmarks of the checks here.

// Test support: a failed unwrap is a broken fixture, reported as a panic.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::RelyingParty;
use crate::chain::{ChainAction, ChainEntry, ChainKey, Statement};
use crate::evidence::{AssertionEvidence, PublicKeyBytes};

/// The rp id assertions are made for.
pub const RP_ID: &str = "auth.exchange.example";
/// The origin assertions are made at.
pub const ORIGIN: &str = "https://auth.exchange.example";

/// The relying party assertions are made for.
pub fn rp() -> RelyingParty {
    RelyingParty {
        rp_id: RP_ID.into(),
        origin: ORIGIN.into(),
    }
}

/// A key: its signing half and how the chain records it.
pub struct Key {
    pub signing: SigningKey,
    pub record: ChainKey,
}

/// Key number `n` (1 to 255): a fixed P-256 key and its chain record.
pub fn key(n: u8) -> Key {
    let signing = SigningKey::from_bytes(&[n; 32].into()).unwrap();
    let point = signing
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    Key {
        signing,
        record: ChainKey {
            credential_id: vec![n; 16],
            public_key: PublicKeyBytes::Es256(point),
            aaguid: None,
            attestation_digest: Sha256::digest(b"").to_vec(),
        },
    }
}

/// An assertion by `key` over `challenge`, as a browser and key make it.
pub fn assert_over(key: &Key, challenge: &[u8; 32]) -> AssertionEvidence {
    let mut auth = Sha256::digest(RP_ID.as_bytes()).to_vec();
    auth.push(0x05); // UP | UV
    auth.extend_from_slice(&1u32.to_be_bytes());
    let client = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}"}}"#,
        URL_SAFE_NO_PAD.encode(challenge)
    );
    let mut signed = auth.clone();
    signed.extend_from_slice(&Sha256::digest(client.as_bytes()));
    let signature: Signature = key.signing.sign(&signed);
    AssertionEvidence {
        credential_id: key.record.credential_id.clone(),
        authenticator_data: auth,
        client_data_json: client.into_bytes(),
        signature: signature.to_der().as_bytes().to_vec(),
        public_key: key.record.public_key.clone(),
    }
}

/// The user whose chains these are.
pub fn user() -> Uuid {
    Uuid::from_u128(7)
}

/// A chain's first entry, for `k`.
pub fn genesis(k: &Key) -> ChainEntry {
    let s = Statement {
        user: user(),
        seq: 0,
        prev: None,
        action: ChainAction::Genesis,
        key: k.record.clone(),
        at: 1,
        nonce: vec![0; 32],
        recovered: false,
    };
    ChainEntry::new(s, None, None)
}

/// The next entry after `chain`, changing `subject`, endorsed by `by`.
pub fn change(chain: &[ChainEntry], action: ChainAction, subject: &Key, by: &Key) -> ChainEntry {
    let last = chain.last().unwrap();
    let s = Statement {
        user: user(),
        seq: last.statement.seq + 1,
        prev: Some(last.hash.clone()),
        action,
        key: subject.record.clone(),
        at: 2,
        nonce: vec![1; 32],
        recovered: false,
    };
    let endorsement = assert_over(by, &crate::chain_challenge(&s.hash()));
    ChainEntry::new(s, Some(endorsement), None)
}
