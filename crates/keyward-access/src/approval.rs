//! Approval tokens: short-lived Ed25519-signed JWTs (JWS alg `EdDSA`) saying
//! that a user approved one exact action with a WebAuthn assertion. It signs
//! and verifies only. It must never accept an algorithm other than EdDSA, a
//! key that is not in the given JWKS, a key embedded in the token, or read the
//! clock itself (callers pass `now`); private keys never leave it unwrapped.
//!
//! Claims (JSON names): `sid` step-up id (UUID), `sub` user id, `action`,
//! `details_digest` (hex), `cred_id` credential id (base64url), `aaguid`
//! (UUID, omitted when unknown), `uv` user verified, `iat`, `exp` (Unix
//! seconds), `jti` (UUID), `iss`, `aud` (a single string).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::rngs::OsRng;
use secrecy::SecretBox;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Longest token `verify` will parse: bounds the work a caller can cause.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Header parameters that would let a token pick or carry its own key, or
/// demand extensions we do not implement; tokens carrying them are refused.
const FORBIDDEN_HEADER_PARAMS: [&str; 6] = ["crit", "jku", "jwk", "x5u", "x5c", "zip"];

/// An Ed25519 private key that signs approval tokens. The secret half never
/// appears in `Debug`, and is zeroized on drop by `ed25519-dalek`.
pub struct SigningKey {
    /// Key id, put in each token's header and the JWKS so verifiers pick the
    /// right key during rotation. Not secret.
    pub kid: String,
    secret: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A new key from the operating system's CSPRNG. Its `kid` is derived
    /// from the public key (base64url of the first 16 bytes of its SHA-256),
    /// so it reveals nothing secret and differs between keys.
    pub fn generate() -> Self {
        let secret = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(secret.verifying_key().as_bytes())[..16]);
        Self { kid, secret }
    }

    /// The private key as PKCS#8 DER (RFC 8410), for storage in the database
    /// (encrypted at rest by the caller). Wrapped in a `SecretBox` so it is
    /// zeroized on drop and redacted in `Debug`.
    pub fn to_pkcs8_der(&self) -> Result<SecretBox<Vec<u8>>, ApprovalError> {
        let doc = self.secret.to_pkcs8_der().map_err(|_| ApprovalError::Key)?;
        Ok(SecretBox::new(Box::new(doc.as_bytes().to_vec())))
    }

    /// Loads a key stored with [`SigningKey::to_pkcs8_der`]. Refuses an empty
    /// `kid` (a token must name its key) and anything but an Ed25519 key.
    pub fn from_pkcs8_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, ApprovalError> {
        let kid = kid.into();
        if kid.is_empty() {
            return Err(ApprovalError::Key);
        }
        let secret =
            ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|_| ApprovalError::Key)?;
        Ok(Self { kid, secret })
    }

    /// The public key as an OKP JWK (RFC 8037) with `kid`, `alg: EdDSA` and
    /// `use: sig`. It holds only public material (no `d`), so it may be
    /// published to anyone who verifies approval tokens.
    pub fn public_jwk(&self) -> Value {
        public_jwk(&self.kid, self.secret.verifying_key().as_bytes())
    }
}

/// The OKP JWK (RFC 8037) of Ed25519 public key `public` named `kid`, with
/// `alg: EdDSA` and `use: sig` (also for keys held in a token).
pub fn public_jwk(kid: &str, public: &[u8; 32]) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(public),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

/// Redacted: shows the `kid` only.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What an approval token asserts. Binding the step-up, the user, the action,
/// a digest of its details and the credential used means a token approves
/// exactly one thing and cannot be replayed for another (`jti` is unique so
/// the consumer can also refuse a second use). The type is shared with the
/// clients (`keyward-api`).
pub use keyward_api::ApprovalClaims;

/// Why a token could not be signed or was refused. Messages never quote the
/// token or key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Key material could not be encoded or decoded, or the `kid` is empty.
    #[error("invalid signing key")]
    Key,
    /// The claims cannot make a valid token (`iat` < 0 or `exp` <= `iat`).
    #[error("invalid approval claims")]
    InvalidClaims,
    /// Signing failed.
    #[error("signing the approval token failed")]
    Sign,
    /// Not a well-formed JWT, a forbidden header parameter, or bad claims.
    #[error("malformed approval token")]
    Malformed,
    /// The header's `alg` is not `EdDSA` (e.g. `none` or `HS256`).
    #[error("approval token algorithm not allowed")]
    UnsupportedAlgorithm,
    /// The header has no `kid`, or the JWKS has no key with it.
    #[error("approval token signed by an unknown key")]
    UnknownKey,
    /// The JWKS is malformed, ambiguous, or its key is not Ed25519.
    #[error("invalid JWKS")]
    Jwks,
    /// The signature does not verify with the named key.
    #[error("approval token signature is invalid")]
    BadSignature,
    /// `now` is at or past `exp`.
    #[error("approval token has expired")]
    Expired,
    /// `iat` is after `now`.
    #[error("approval token is not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("approval token has the wrong issuer")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("approval token has the wrong audience")]
    WrongAudience,
}

/// Signs `claims` as a compact JWS with header `{"typ":"JWT","alg":"EdDSA",
/// "kid":..}`. EdDSA signatures are deterministic, so no randomness at signing
/// time can fail or leak the key.
pub fn sign(key: &SigningKey, claims: &ApprovalClaims) -> Result<String, ApprovalError> {
    use ed25519_dalek::Signer as _;
    sign_by(&key.kid, claims, |input| {
        Ok::<_, std::convert::Infallible>(key.secret.sign(input).to_bytes().to_vec())
    })
}

/// [`sign`] by a key held elsewhere (a PKCS#11 token): `signer` gets the JWS
/// signing input and returns the 64-byte Ed25519 signature of key `kid`.
pub fn sign_by<E>(
    kid: &str,
    claims: &ApprovalClaims,
    signer: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, ApprovalError> {
    if claims.iat < 0 || claims.exp <= claims.iat {
        return Err(ApprovalError::InvalidClaims);
    }
    sign_payload(kid, claims, signer)
}

/// Signs any JSON `payload` (e.g. an audit checkpoint) as a compact JWS by
/// key `kid`, as [`sign_by`] does for approvals: the same header, the same
/// external `signer`.
pub fn sign_payload<E>(
    kid: &str,
    payload: &impl serde::Serialize,
    signer: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, ApprovalError> {
    sign_typed(kid, "JWT", payload, signer)
}

/// The `typ` of a Security Event Token (RFC 8417 §2.3): an approval token's
/// verifier refuses it, and an event's verifier refuses anything else, so
/// neither can pass for the other.
pub const SET_TYP: &str = "secevent+jwt";

/// Signs a Security Event Token (`typ` [`SET_TYP`]) by key `kid`, with the
/// external `signer`.
pub fn sign_event<E>(
    kid: &str,
    claims: &impl serde::Serialize,
    signer: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, ApprovalError> {
    sign_typed(kid, SET_TYP, claims, signer)
}

/// [`sign_event`] with a key held here.
pub fn sign_event_with(
    key: &SigningKey,
    claims: &impl serde::Serialize,
) -> Result<String, ApprovalError> {
    use ed25519_dalek::Signer as _;
    sign_event(&key.kid, claims, |input| {
        Ok::<_, std::convert::Infallible>(key.secret.sign(input).to_bytes().to_vec())
    })
}

/// Verifies a Security Event Token against a JWKS: its `typ` must be
/// [`SET_TYP`], then the same key choice and signature check as
/// [`verify`]; returns the claims (the caller checks `iss`, `aud`, order).
pub fn verify_event(token: &str, jwks: &Value) -> Result<Value, ApprovalError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApprovalError::Malformed);
    }
    let kid = check_header_typ(token, Some(SET_TYP))?;
    decode_payload(token, &find_key(jwks, &kid)?)
}

fn sign_typed<E>(
    kid: &str,
    typ: &str,
    payload: &impl serde::Serialize,
    signer: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, ApprovalError> {
    if kid.is_empty() {
        return Err(ApprovalError::Key);
    }
    // Fields in this order, as jsonwebtoken writes its header: tokens stay
    // byte-identical to the ones issued before Keyward assembled them itself.
    #[derive(serde::Serialize)]
    struct Header<'a> {
        typ: &'a str,
        alg: &'a str,
        kid: &'a str,
    }
    let header = serde_json::to_vec(&Header {
        typ,
        alg: "EdDSA",
        kid,
    })
    .map_err(|_| ApprovalError::Key)?;
    let claims = serde_json::to_vec(payload).map_err(|_| ApprovalError::InvalidClaims)?;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = signer(input.as_bytes()).map_err(|_| ApprovalError::Sign)?;
    if signature.len() != ed25519_dalek::SIGNATURE_LENGTH {
        return Err(ApprovalError::Sign);
    }
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The JSON Web Key Set `{"keys":[..]}` of the given keys' public halves, to
/// publish to verifiers. During rotation pass the new key and the old one
/// until the old one's tokens have expired.
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    let keys: Vec<Value> = keys.into_iter().map(SigningKey::public_jwk).collect();
    json!({ "keys": keys })
}

/// Verifies an approval token against a JWKS, at time `now` (Unix seconds).
///
/// The key is chosen only by the header's `kid` among the JWKS's Ed25519
/// keys; the algorithm must be `EdDSA` (so `none` and HMAC-with-the-public-key
/// forgeries fail); the signature is checked before any claim is trusted;
/// then `iss` and `aud` must match exactly and `iat <= now < exp`, with no
/// leeway. `now` is passed in so the check does not depend on this process's
/// clock and tests control time.
pub fn verify(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<ApprovalClaims, ApprovalError> {
    let key = key_for(token, jwks)?;

    let mut validation = Validation::new(Algorithm::EdDSA);
    // jsonwebtoken would read the system clock for exp/nbf: time is checked
    // below against `now` instead.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let claims = jsonwebtoken::decode::<ApprovalClaims>(token, &key, &validation)
        .map_err(|e| map_jwt_error(e.kind()))?
        .claims;

    if claims.iss != issuer {
        return Err(ApprovalError::WrongIssuer);
    }
    if claims.aud != audience {
        return Err(ApprovalError::WrongAudience);
    }
    if now >= claims.exp {
        return Err(ApprovalError::Expired);
    }
    if claims.iat > now {
        return Err(ApprovalError::NotYetValid);
    }
    Ok(claims)
}

/// [`sign_payload`] with a key held here.
pub fn sign_payload_with(
    key: &SigningKey,
    payload: &impl serde::Serialize,
) -> Result<String, ApprovalError> {
    use ed25519_dalek::Signer as _;
    sign_payload(&key.kid, payload, |input| {
        Ok::<_, std::convert::Infallible>(key.secret.sign(input).to_bytes().to_vec())
    })
}

/// Verifies a JWS made by [`sign_payload`] against a JWKS: the same header
/// checks and key choice as [`verify`], then the signature; returns the
/// payload. No claim is checked: the caller knows what it signed.
pub fn verify_payload(token: &str, jwks: &Value) -> Result<Value, ApprovalError> {
    decode_payload(token, &key_for(token, jwks)?)
}

/// The signature checked, the payload with no claim checked.
fn decode_payload(token: &str, key: &DecodingKey) -> Result<Value, ApprovalError> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    Ok(jsonwebtoken::decode::<Value>(token, key, &validation)
        .map_err(|e| map_jwt_error(e.kind()))?
        .claims)
}

/// The key a token must verify under: its length bounded, its header
/// checked ([`check_header`]), its `kid` found in the JWKS.
fn key_for(token: &str, jwks: &Value) -> Result<DecodingKey, ApprovalError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApprovalError::Malformed);
    }
    let kid = check_header(token)?;
    find_key(jwks, &kid)
}

/// Checks the protected header ourselves before jsonwebtoken sees it: three
/// parts, `alg` exactly `EdDSA`, `typ` absent or `JWT`, no parameter that
/// names or embeds a key; returns the `kid`.
fn check_header(token: &str) -> Result<String, ApprovalError> {
    check_header_typ(token, None)
}

/// [`check_header`], with `typ` required to be exactly `typ` if given.
fn check_header_typ(token: &str, typ: Option<&str>) -> Result<String, ApprovalError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApprovalError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| ApprovalError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| ApprovalError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(ApprovalError::UnsupportedAlgorithm);
    }
    let found = header.get("typ").map(|t| t.as_str());
    let typ_ok = match typ {
        Some(wanted) => found == Some(Some(wanted)),
        None => found.is_none_or(|t| t == Some("JWT")),
    };
    if !typ_ok {
        return Err(ApprovalError::Malformed);
    }
    if FORBIDDEN_HEADER_PARAMS
        .iter()
        .any(|p| header.contains_key(*p))
    {
        return Err(ApprovalError::Malformed);
    }
    match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_owned()),
        _ => Err(ApprovalError::UnknownKey),
    }
}

/// The one Ed25519 key with `kid` in `jwks`. Refuses duplicate `kid`s, keys of
/// another type or algorithm, and `x` that is not a valid 32-byte point (also
/// keeping short keys away from jsonwebtoken, which would slice them).
fn find_key(jwks: &Value, kid: &str) -> Result<DecodingKey, ApprovalError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(ApprovalError::Jwks)?;
    let mut matching = keys
        .iter()
        .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid));
    let jwk = matching.next().ok_or(ApprovalError::UnknownKey)?;
    if matching.next().is_some() {
        return Err(ApprovalError::Jwks);
    }
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let optional_is = |name: &str, want: &str| jwk.get(name).is_none() || field(name) == Some(want);
    if field("kty") != Some("OKP")
        || field("crv") != Some("Ed25519")
        || !optional_is("alg", "EdDSA")
        || !optional_is("use", "sig")
    {
        return Err(ApprovalError::Jwks);
    }
    let x = field("x").ok_or(ApprovalError::Jwks)?;
    let raw = URL_SAFE_NO_PAD.decode(x).map_err(|_| ApprovalError::Jwks)?;
    let raw = <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| ApprovalError::Jwks)?;
    let point = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| ApprovalError::Jwks)?;
    if point.is_weak() {
        return Err(ApprovalError::Jwks);
    }
    DecodingKey::from_ed_components(x).map_err(|_| ApprovalError::Jwks)
}

fn map_jwt_error(kind: &ErrorKind) -> ApprovalError {
    match kind {
        ErrorKind::InvalidSignature => ApprovalError::BadSignature,
        ErrorKind::InvalidIssuer => ApprovalError::WrongIssuer,
        ErrorKind::InvalidAudience => ApprovalError::WrongAudience,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => ApprovalError::UnsupportedAlgorithm,
        ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => ApprovalError::Jwks,
        _ => ApprovalError::Malformed,
    }
}

#[cfg(test)]
mod tests;
