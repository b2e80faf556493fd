//! A user's key chain: the first key enrolled (the genesis entry), then every
//! key added or removed, each entry hashing the one before and each change
//! endorsed by an assertion of a key already in the chain over a challenge
//! that commits to the change ([`crate::chain_challenge`]).
//!
//! An exchange pins a user's chain ([`Pin`]: its genesis and the head it has
//! seen) and extends the pin only through valid endorsements, so a key that
//! appears in Keyward's database without a touch of one of the user's own
//! keys is never in the chain it follows. The genesis key is the one point
//! of trust on first use; a chain that starts again (recovery, an operator
//! reset) has a new genesis and is reported as [`ChainError::Restarted`],
//! never followed silently.
//!
//! JSON of one [`ChainEntry`] (byte strings base64url without padding,
//! hashes lower-case hex):
//!
//! ```json
//! {
//!   "statement": {
//!     "user": "<uuid>", "seq": 1, "prev": "<hex hash of entry 0>",
//!     "action": "add",
//!     "key": { "credential_id": "..", "public_key": {"alg": "ES256", "key": ".."},
//!              "aaguid": "<uuid, if attested>", "attestation_digest": ".." },
//!     "at": 1767225600, "nonce": ".."
//!   },
//!   "hash": "<hex SHA-256 of the statement's canonical JSON>",
//!   "endorsement": { ..an AssertionEvidence.. },
//!   "attestation": "<the key's attestation object, if kept>"
//! }
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::details::canonical_json;
use crate::evidence::{AssertionEvidence, PublicKeyBytes, b64, verify_evidence};
use crate::{RelyingParty, chain_challenge};

/// Longest chain followed (a user adds and removes a few keys in a life).
pub const MAX_ENTRIES: usize = 1024;

/// One key as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChainKey {
    /// The WebAuthn credential id.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: Vec<u8>,
    /// Its public key.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: PublicKeyBytes,
    /// The authenticator model, when attested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Uuid>,
    /// SHA-256 of the key's attestation object as the browser sent it.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub attestation_digest: Vec<u8>,
}

/// What a chain entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChainAction {
    /// The chain's first key (trusted on first use).
    Genesis,
    /// A key added, endorsed by a key in the chain.
    Add,
    /// A key removed, endorsed by a key in the chain.
    Remove,
}

/// The signed-over part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// The Keyward user whose chain this is.
    pub user: Uuid,
    /// Position in the chain, from 0 (the genesis).
    pub seq: u64,
    /// The previous entry's hash; on a genesis that starts a chain again,
    /// the head of the chain it replaces (for the record: it is not trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// Genesis, add or remove.
    pub action: ChainAction,
    /// The key enrolled, added or removed.
    pub key: ChainKey,
    /// When, Unix seconds.
    pub at: i64,
    /// Fresh random bytes, so every endorsement challenge is unpredictable.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub nonce: Vec<u8>,
    /// On a genesis that starts a chain again: whether it follows an
    /// account recovery (the user lost their keys and waited out the
    /// recovery delay). Absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

impl Statement {
    /// SHA-256 of the statement's canonical JSON: the entry's hash, which
    /// the next entry's `prev` names and an endorsement's challenge covers.
    pub fn hash(&self) -> [u8; 32] {
        let json =
            serde_json::to_value(self).map_or_else(|_| String::new(), |v| canonical_json(&v));
        Sha256::digest(json.as_bytes()).into()
    }
}

/// One entry of a key chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChainEntry {
    /// What changed.
    pub statement: Statement,
    /// Hex SHA-256 of the statement's canonical JSON (recomputed by
    /// verifiers; carried so a person can follow the links).
    pub hash: String,
    /// For `add` and `remove`: the assertion of a key already in the chain
    /// over [`crate::chain_challenge`] of this entry's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<AssertionEvidence>,
    /// The key's attestation object, when kept (its SHA-256 is the key's
    /// `attestation_digest`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub attestation: Option<Vec<u8>>,
}

impl ChainEntry {
    /// An entry for `statement`, its hash filled in.
    pub fn new(
        statement: Statement,
        endorsement: Option<AssertionEvidence>,
        attestation: Option<Vec<u8>>,
    ) -> Self {
        let hash = hex::encode(statement.hash());
        Self {
            statement,
            hash,
            endorsement,
            attestation,
        }
    }
}

/// What an exchange keeps of a user's chain: its genesis and the head it
/// has verified. Stored by the exchange, never by Keyward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The Keyward user id the chain belongs to.
    pub user: Uuid,
    /// Hex hash of the genesis entry.
    pub genesis: String,
    /// Hex hash of the last entry verified.
    pub head: String,
    /// Its `seq`.
    pub seq: u64,
}

/// A verified chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    /// Whose chain.
    pub user: Uuid,
    /// Hex hash of the genesis entry.
    pub genesis: String,
    /// Hex hash of the last entry.
    pub head: String,
    /// The last entry's `seq`.
    pub seq: u64,
    /// The keys in the chain now, in the order they joined.
    pub keys: Vec<ChainKey>,
    /// The genesis's `prev`: the head of an earlier chain this one replaced.
    pub restarted_from: Option<String>,
}

impl ChainState {
    /// The pin to keep after following this chain.
    pub fn pin(&self) -> Pin {
        Pin {
            user: self.user,
            genesis: self.genesis.clone(),
            head: self.head.clone(),
            seq: self.seq,
        }
    }

    /// The key in the chain with this credential id and public key.
    pub fn key(&self, credential_id: &[u8], public_key: &PublicKeyBytes) -> Option<&ChainKey> {
        self.keys
            .iter()
            .find(|k| k.credential_id == credential_id && &k.public_key == public_key)
    }
}

/// Why a chain is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No entries, or more than [`MAX_ENTRIES`].
    #[error("the key chain is empty or too long")]
    Length,
    /// An entry is not well formed (position, user, action, attestation).
    #[error("key-chain entry {seq}: {why}")]
    Malformed {
        /// The entry.
        seq: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// An entry's hash or link to the one before does not hold.
    #[error("key-chain entry {seq} does not hash or link to the one before")]
    BrokenLink {
        /// The entry.
        seq: u64,
    },
    /// A change is not endorsed by a key in the chain.
    #[error("key-chain entry {seq} is not endorsed by a key in the chain: {why}")]
    Unendorsed {
        /// The entry.
        seq: u64,
        /// Why.
        why: String,
    },
    /// The chain has another genesis than the pinned one: it started again
    /// (recovery or an operator reset) or was replaced. Accept it only after
    /// confirming the restart with the user out of band.
    #[error("the key chain started again: pinned genesis {pinned}, now {genesis}")]
    Restarted {
        /// The pinned genesis.
        pinned: String,
        /// The new genesis.
        genesis: String,
        /// The head the new chain says it replaced.
        restarted_from: Option<String>,
        /// The new genesis says it follows an account recovery.
        recovered: bool,
    },
    /// The chain is shorter than the pinned head, or differs from it at the
    /// pinned position: entries were removed or rewritten.
    #[error("the key chain does not contain the pinned head (entry {seq})")]
    Diverged {
        /// The pinned position.
        seq: u64,
    },
    /// The chain is another user's than the pinned one.
    #[error("the key chain belongs to another user")]
    WrongUser,
}

impl ChainError {
    /// The variant in snake case (`length`, `malformed`, `broken_link`,
    /// `unendorsed`, `restarted`, `diverged`, `wrong_user`): a stable name
    /// for logs and for other clients' verdicts (testdata/).
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Malformed { .. } => "malformed",
            Self::BrokenLink { .. } => "broken_link",
            Self::Unendorsed { .. } => "unendorsed",
            Self::Restarted { .. } => "restarted",
            Self::Diverged { .. } => "diverged",
            Self::WrongUser => "wrong_user",
        }
    }
}

/// Verifies `entries` from the genesis: positions, links, hashes, attestation
/// digests and every endorsement (an assertion for `rp` by a key in the
/// chain just before the entry, over the entry's challenge). With a `pin`,
/// the chain must have the pinned genesis ([`ChainError::Restarted`]
/// otherwise), and the pinned head at the pinned position
/// ([`ChainError::Diverged`]).
///
/// Security: only the genesis is taken on trust; every later key is in the
/// returned state only because a key already in it signed its addition
/// (checked here, or, up to the pinned head, when the pin was made).
pub fn follow(
    entries: &[ChainEntry],
    rp: &RelyingParty,
    pin: Option<&Pin>,
) -> Result<ChainState, ChainError> {
    let genesis = entries.first().ok_or(ChainError::Length)?;
    if entries.len() > MAX_ENTRIES {
        return Err(ChainError::Length);
    }
    let user = genesis.statement.user;
    let mut keys: Vec<ChainKey> = Vec::new();
    let mut prev: Option<[u8; 32]> = None;
    // Genesis entries may only open the chain (an account that had several
    // keys when its chain started); after the first change, none.
    let mut opening = true;
    let mut hashes = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let s = &entry.statement;
        let seq = u64::try_from(i).unwrap_or(u64::MAX);
        let malformed = |why| ChainError::Malformed { seq, why };
        if s.seq != seq {
            return Err(malformed("out of place"));
        }
        if s.user != user {
            return Err(malformed("another user's entry"));
        }
        let hash = s.hash();
        if hex::encode(hash) != entry.hash {
            return Err(ChainError::BrokenLink { seq });
        }
        check_key_shape(&s.key, entry.attestation.as_deref()).map_err(malformed)?;
        match (s.action, prev) {
            (ChainAction::Genesis, before) if opening => {
                if entry.endorsement.is_some() {
                    return Err(malformed("a genesis is not endorsed"));
                }
                if let Some(before) = before
                    && s.prev.as_deref() != Some(hex::encode(before).as_str())
                {
                    return Err(ChainError::BrokenLink { seq });
                }
                if keys.iter().any(|k| k.credential_id == s.key.credential_id) {
                    return Err(malformed("adds a key already in the chain"));
                }
                keys.push(s.key.clone());
            }
            (ChainAction::Add | ChainAction::Remove, Some(before)) => {
                opening = false;
                if s.prev.as_deref() != Some(hex::encode(before).as_str()) {
                    return Err(ChainError::BrokenLink { seq });
                }
                // Up to a pinned head the endorsements were verified when
                // the pin was made; the pin check below proves these
                // statements are the same ones (their hashes chain to it).
                if pin.is_none_or(|p| seq > p.seq) {
                    endorsed(entry, &hash, &keys, rp)
                        .map_err(|why| ChainError::Unendorsed { seq, why })?;
                }
                let present = keys
                    .iter()
                    .position(|k| k.credential_id == s.key.credential_id);
                match (s.action, present) {
                    (ChainAction::Add, None) => keys.push(s.key.clone()),
                    (ChainAction::Remove, Some(at)) if keys.get(at) == Some(&s.key) => {
                        keys.remove(at);
                    }
                    (ChainAction::Add, Some(_)) => {
                        return Err(malformed("adds a key already in the chain"));
                    }
                    _ => return Err(malformed("removes a key not in the chain")),
                }
            }
            (ChainAction::Genesis, _) => return Err(malformed("a genesis after a change")),
            (_, None) => return Err(malformed("the chain does not start with a genesis")),
        }
        prev = Some(hash);
        hashes.push(entry.hash.as_str());
    }
    let state = ChainState {
        user,
        genesis: genesis.hash.clone(),
        head: hashes.last().map(|h| (*h).to_owned()).unwrap_or_default(),
        seq: u64::try_from(entries.len() - 1).unwrap_or(u64::MAX),
        keys,
        restarted_from: genesis.statement.prev.clone(),
    };
    if let Some(pin) = pin {
        if pin.user != user {
            return Err(ChainError::WrongUser);
        }
        if pin.genesis != state.genesis {
            return Err(ChainError::Restarted {
                pinned: pin.genesis.clone(),
                genesis: state.genesis.clone(),
                restarted_from: state.restarted_from.clone(),
                recovered: genesis.statement.recovered,
            });
        }
        let at = usize::try_from(pin.seq).unwrap_or(usize::MAX);
        if hashes.get(at) != Some(&pin.head.as_str()) {
            return Err(ChainError::Diverged { seq: pin.seq });
        }
    }
    Ok(state)
}

/// A key record's own consistency: an ES256 point, a 32-byte attestation
/// digest, and the attestation (when carried) hashing to it.
fn check_key_shape(key: &ChainKey, attestation: Option<&[u8]>) -> Result<(), &'static str> {
    let PublicKeyBytes::Es256(point) = &key.public_key;
    if point.len() != 65 || key.credential_id.is_empty() || key.credential_id.len() > 1023 {
        return Err("a malformed key");
    }
    if key.attestation_digest.len() != 32 {
        return Err("an attestation digest that is not 32 bytes");
    }
    if let Some(raw) = attestation
        && Sha256::digest(raw)[..] != key.attestation_digest[..]
    {
        return Err("an attestation that does not match its digest");
    }
    Ok(())
}

/// The entry's endorsement is an assertion by a key in `keys` (its id and
/// public key both) over the entry's challenge.
fn endorsed(
    entry: &ChainEntry,
    hash: &[u8; 32],
    keys: &[ChainKey],
    rp: &RelyingParty,
) -> Result<(), String> {
    let e = entry
        .endorsement
        .as_ref()
        .ok_or_else(|| "no endorsement".to_owned())?;
    if !keys
        .iter()
        .any(|k| k.credential_id == e.credential_id && k.public_key == e.public_key)
    {
        return Err("signed by a key not in the chain".into());
    }
    verify_evidence(e, &chain_challenge(hash), &rp.rp_id, &rp.origin)
        .map(|_| ())
        .map_err(|r| r.0.to_owned())
}

/// Serde helpers: optional bytes as base64url without padding.
mod b64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&URL_SAFE_NO_PAD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| URL_SAFE_NO_PAD.decode(s).map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests;
