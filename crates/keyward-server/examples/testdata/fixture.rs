//! Security keys and key chains for the approval vectors, made the way
//! Keyward and a real authenticator make them: each key is a
//! `keyward_testkit::SoftKey` (a software FIDO2 key answering WebAuthn
//! requests with a real ES256 assertion, authenticatorData and
//! clientDataJSON), loaded from fixed key material so every run signs the
//! same bytes (ECDSA here uses RFC 6979 nonces, so signatures are
//! deterministic too).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_proof::chain::{ChainAction, ChainEntry, ChainKey, Statement};
use keyward_proof::evidence::AssertionEvidence;
use keyward_proof::testing::{ORIGIN, RP_ID};
use keyward_testkit::{Forge, SoftKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A YubiKey 5 series AAGUID, as an attested key reports it.
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

/// 2026-01-01T00:00:00Z: when the first key was enrolled.
pub const T0: i64 = 1_767_225_600;

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fixed 32-byte value named by `label` (nonces, ids).
pub fn fixed(label: &str) -> [u8; 32] {
    sha256(format!("keyward testdata: {label}").as_bytes())
}

/// The user whose chain most vectors follow, and another user.
pub fn alice() -> Uuid {
    Uuid::from_u128(0x6f1c_2d3e_4b5a_4c69_8d7e_0f1a_2b3c_4d5e)
}
pub fn bob() -> Uuid {
    Uuid::from_u128(0x9a8b_7c6d_5e4f_4a3b_9c2d_1e0f_a1b2_c3d4)
}

/// One security key holding one credential for Keyward's rp id.
pub struct Key {
    soft: SoftKey,
    /// How a key chain records it.
    pub record: ChainKey,
}

/// PKCS#8 DER of the P-256 private key with scalar `[n; 32]` (the same key
/// as `keyward_proof::testing::key(n)`, whose record gives its public key):
/// the fixed RFC 5915 / RFC 5208 framing around the 32 scalar bytes.
fn pkcs8(n: u8) -> Vec<u8> {
    let mut der =
        hex::decode("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420")
            .expect("constant hex");
    der.extend_from_slice(&[n; 32]);
    der
}

/// Security key number `n` (1 to 255), with its credential's counter at
/// `counter` (the next assertion reports `counter + 1`).
pub fn key(n: u8, counter: u32) -> Key {
    let credential_id = fixed(&format!("credential {n}")).to_vec();
    let stored = json!({
        "version": 1,
        "aaguid": AAGUID,
        "attestation": "none",
        "credentials": [{
            "id": b64(&credential_id),
            "private_key": b64(&pkcs8(n)),
            "rp_id": RP_ID,
            "user_handle": b64(alice().as_bytes()),
            "counter": counter,
        }],
    });
    let soft = SoftKey::from_json(&stored).expect("fixed soft key");
    let public_key = keyward_proof::testing::key(n).record.public_key;
    let record = ChainKey {
        credential_id,
        public_key,
        aaguid: Some(AAGUID.parse().expect("constant uuid")),
        attestation_digest: fixed(&format!("attestation object {n}")).to_vec(),
    };
    Key { soft, record }
}

impl Key {
    /// The key's assertion over `challenge`, answered as an authenticator
    /// answers `navigator.credentials.get` (with `forge`'s lies, if any),
    /// as Keyward keeps it: the raw response fields and the enrolled key.
    pub fn assert(&mut self, challenge: &[u8; 32], forge: &Forge) -> AssertionEvidence {
        let options = json!({ "publicKey": {
            "challenge": b64(challenge),
            "rpId": RP_ID,
            "timeout": 60000,
            "userVerification": "required",
            "allowCredentials": [{ "type": "public-key", "id": b64(&self.record.credential_id) }],
        }});
        let answer = self.soft.assert_with(&options, ORIGIN, forge);
        let field = |v: &Value| {
            URL_SAFE_NO_PAD
                .decode(v.as_str().expect("a base64url string"))
                .expect("base64url")
        };
        let response = &answer["response"];
        AssertionEvidence {
            credential_id: field(&answer["rawId"]),
            authenticator_data: field(&response["authenticatorData"]),
            client_data_json: field(&response["clientDataJSON"]),
            signature: field(&response["signature"]),
            public_key: self.record.public_key.clone(),
        }
    }
}

/// A chain's genesis entry for `key` at time `at`; `replaced` names the
/// head of the chain it replaces (a restart), `recovered` says whether
/// after an account recovery. As `flows::key_chain::genesis` makes it.
pub fn genesis(
    user: Uuid,
    key: &Key,
    at: i64,
    replaced: Option<&ChainEntry>,
    recovered: bool,
) -> ChainEntry {
    let statement = Statement {
        user,
        seq: 0,
        prev: replaced.map(|e| e.hash.clone()),
        action: ChainAction::Genesis,
        key: key.record.clone(),
        at,
        nonce: fixed(&format!("genesis {user} {at}")).to_vec(),
        recovered,
    };
    ChainEntry::new(statement, None, None)
}

/// The statement of the next change after `chain` (as `flows::key_chain::next`).
pub fn next(chain: &[ChainEntry], action: ChainAction, subject: &Key, at: i64) -> Statement {
    let last = chain.last().expect("a chain with a genesis");
    Statement {
        user: last.statement.user,
        seq: last.statement.seq + 1,
        prev: Some(last.hash.clone()),
        action,
        key: subject.record.clone(),
        at,
        nonce: fixed(&format!("change {} {at}", last.hash)).to_vec(),
        recovered: false,
    }
}

/// `statement` endorsed by `by`'s assertion over its chain challenge.
pub fn endorse(statement: Statement, by: &mut Key) -> ChainEntry {
    let challenge = keyward_proof::chain_challenge(&statement.hash());
    let endorsement = by.assert(&challenge, &Forge::default());
    ChainEntry::new(statement, Some(endorsement), None)
}

/// `chain` with the next change, endorsed by `by`.
pub fn extend(
    chain: &[ChainEntry],
    action: ChainAction,
    subject: &Key,
    by: &mut Key,
    at: i64,
) -> Vec<ChainEntry> {
    let mut out = chain.to_vec();
    out.push(endorse(next(chain, action, subject, at), by));
    out
}
