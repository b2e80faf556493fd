//! Secret bearer tokens for service keys (`kw_svc_…`) and user API keys
//! (`kw_api_…`): generation, an offline checksum check, and the hash that is
//! stored. It must never store, log or echo a plaintext token: only
//! [`TokenHash`] goes to the database, and errors never quote the input.
//!
//! Format: `<kind prefix><body: 43 base62 chars><checksum: 6 base62 chars>`.
//! The body is 43 characters drawn uniformly from `[0-9A-Za-z]` with `OsRng`
//! (62^43 ≈ 2^256, so 256 bits of entropy). The checksum is the first 4 bytes
//! of SHA-256(kind prefix ‖ body) as a big-endian u32, written as 6 base62
//! digits (`0-9A-Za-z` order, zero-padded). Base62 keeps the token one
//! double-clickable word and lets secret scanners match it with a regex. A
//! token is 56 characters, e.g.
//! `kw_svc_q0Zf3rK8LmN2pX7vB1cD9eG4hJ6kT5wY0aS3uI8oP2r1LeVHR`.
//!
//! The prefixes are chosen so that neither is a prefix of the other: a service
//! key can never parse as an API key or the reverse, whatever order callers
//! try kinds in. The checksum also covers the kind prefix, so swapping the
//! prefix of a real token does not yield a token of the other kind.

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of the random body, in base62 characters (≥ 256 bits).
pub const BODY_LEN: usize = 43;
/// Length of the checksum, in base62 characters (holds any u32).
pub const CHECKSUM_LEN: usize = 6;
/// Characters of the body shown in lists next to the kind prefix.
pub const DISPLAY_LEN: usize = 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which kind of secret a token is. Each kind has its own prefix so a key
/// issued for one purpose is refused everywhere else, and so leaked keys are
/// recognisable by secret scanners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A service (machine-to-machine) key: prefix `kw_svc_`.
    Service,
    /// A user's API key: prefix `kw_api_`.
    ApiKey,
    /// The token that completes an account recovery: prefix `kw_rec_`.
    Recovery,
}

impl TokenKind {
    /// The token prefix of this kind. No prefix is a prefix of another,
    /// so a token of one kind can never be taken for the other.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Service => "kw_svc_",
            Self::ApiKey => "kw_api_",
            Self::Recovery => "kw_rec_",
        }
    }

    /// The kind whose prefix `presented` starts with, if any. This only routes
    /// a token to the right check: it does not validate it (use [`parse`]).
    pub fn detect(presented: &str) -> Option<Self> {
        [Self::Service, Self::ApiKey, Self::Recovery]
            .into_iter()
            .find(|k| presented.starts_with(k.prefix()))
    }
}

/// Why a presented token was refused. The messages never quote the token, so
/// an error that reaches a log or a response does not leak the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token does not start with the prefix of the expected kind.
    #[error("token has the wrong prefix for this kind of key")]
    WrongPrefix,
    /// The token (or a stored hash) has the wrong length or characters.
    #[error("token is malformed")]
    Malformed,
    /// The checksum does not match: a typo, a truncated or a made-up token.
    #[error("token checksum does not match")]
    BadChecksum,
}

/// SHA-256 of the full token: the only form in which a token is stored and
/// looked up.
///
/// A fast hash is right here, unlike for passwords: the token carries 256
/// random bits, so even a leaked table of hashes cannot be brute-forced at any
/// hashing speed, and no salt is needed because every input is unique and
/// random. Slow hashes (argon2) only help low-entropy secrets, and a fast,
/// unsalted hash lets the database find the token by a unique index.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps a hash read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a hash read back from storage as a slice; it must be 32 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, TokenError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| TokenError::Malformed)
    }

    /// The raw 32 bytes, for storage.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for storage in text columns.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits, as written by [`TokenHash::to_hex`].
    pub fn from_hex(s: &str) -> Result<Self, TokenError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| TokenError::Malformed)?;
        Ok(Self(out))
    }
}

/// Constant-time, so comparing a presented token's hash with a stored one
/// does not reveal how many leading bytes matched.
impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for TokenHash {}

impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// Shows only the first 4 bytes: enough to tell hashes apart in a log, not
/// a whole lookup key.
impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "TokenHash({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

/// A freshly generated token. Show `plaintext` to its owner once and store
/// only `hash` (and `prefix` for display); the plaintext cannot be recovered
/// later. `Debug` prints the plaintext as `[REDACTED]`.
#[derive(Debug)]
pub struct NewToken {
    /// The full token, given to the owner once and never stored.
    pub plaintext: SecretString,
    /// What the database stores and looks the token up by.
    pub hash: TokenHash,
    /// Kind prefix plus the first [`DISPLAY_LEN`] body characters (e.g.
    /// `kw_svc_q0Zf3rK8`), so owners can tell their keys apart in a list. It
    /// gives away about 48 of the 256 random bits, leaving ~208: not secret.
    pub prefix: String,
}

/// Generates a new token of `kind` with 256 bits from the operating system's
/// CSPRNG, so tokens cannot be guessed or predicted.
pub fn generate(kind: TokenKind) -> NewToken {
    let body = Alphanumeric.sample_string(&mut OsRng, BODY_LEN);
    let token = assemble(kind, &body);
    let display: String = body.chars().take(DISPLAY_LEN).collect();
    NewToken {
        hash: TokenHash::of(&token),
        prefix: format!("{}{display}", kind.prefix()),
        plaintext: SecretString::from(token),
    }
}

/// Checks a presented token of `kind` (prefix, length, alphabet, checksum)
/// without touching the database, and returns the hash to look it up by.
/// Typos, truncated keys and keys of the other kind are refused before any
/// lookup. The input is taken as is: callers trim header whitespace.
pub fn parse(kind: TokenKind, presented: &str) -> Result<TokenHash, TokenError> {
    let rest = presented
        .strip_prefix(kind.prefix())
        .ok_or(TokenError::WrongPrefix)?;
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TokenError::Malformed);
    }
    let (body, check) = rest.split_at(BODY_LEN);
    let given = decode_checksum(check).ok_or(TokenError::BadChecksum)?;
    if !bool::from(given.ct_eq(&checksum(kind, body))) {
        return Err(TokenError::BadChecksum);
    }
    Ok(TokenHash::of(presented))
}

/// The well-formed token of `kind` with `body` (its checksum appended).
/// The checksum only catches typos: anyone can compute it, so a
/// well-formed token proves nothing (tests use this to forge guesses).
pub fn assemble(kind: TokenKind, body: &str) -> String {
    let mut token = String::with_capacity(kind.prefix().len() + BODY_LEN + CHECKSUM_LEN);
    token.push_str(kind.prefix());
    token.push_str(body);
    token.push_str(&encode_checksum(checksum(kind, body)));
    token
}

fn checksum(kind: TokenKind, body: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(kind.prefix().as_bytes())
        .chain_update(body.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn encode_checksum(mut value: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// The u32 six base62 digits stand for, or `None` if they are not base62 or
/// exceed `u32::MAX` (62^6 > 2^32, so some digit strings are out of range).
fn decode_checksum(digits: &str) -> Option<u32> {
    let mut value: u64 = 0;
    for b in digits.bytes() {
        let d = BASE62.iter().position(|&c| c == b)?;
        value = value * 62 + d as u64;
    }
    u32::try_from(value).ok()
}

#[cfg(test)]
mod tests;
