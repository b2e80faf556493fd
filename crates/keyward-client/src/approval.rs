//! Offline verification of Keyward approval tokens (EdDSA JWTs) against the
//! server's JWKS, and the check an exchange makes before paying.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use uuid::Uuid;

use crate::error::TokenError;

/// The audience of every approval token.
pub const AUDIENCE: &str = "keyward-step-up";

/// Longest token accepted (real ones are well under 1 KiB).
pub(crate) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What an approval token asserts: one user approved one step-up's exact
/// details with one security key (the server's own type, `keyward-api`).
pub use keyward_api::ApprovalClaims;

/// True when `claims` approve exactly this step-up with exactly these
/// details. Call it (after [`verify_approval`](crate::KeywardClient::verify_approval)
/// and [`redeem`](crate::KeywardClient::redeem)) with the digest of what you
/// are about to pay, before paying.
pub fn approval_matches(claims: &ApprovalClaims, expected_digest: &str, step_up_id: Uuid) -> bool {
    !expected_digest.is_empty()
        && claims.step_up_id == step_up_id
        && claims.details_digest.eq_ignore_ascii_case(expected_digest)
}

/// A cached JWKS, refetched when a token names an unknown key, and when it
/// is older than its maximum age (so a key Keyward stopped publishing —
/// retired, or found in the database without its sealed private half —
/// stops verifying within that age).
#[derive(Debug, Default)]
pub(crate) struct JwksCache {
    inner: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    keys: Option<Arc<JwkSet>>,
    /// When `keys` was fetched.
    fetched_at: Option<Instant>,
    /// When the last refetch for an unknown `kid` happened.
    last_refetch: Option<Instant>,
}

impl JwksCache {
    /// The cached set, unless it is older than `max_age`.
    pub(crate) fn get(&self, max_age: Duration) -> Option<Arc<JwkSet>> {
        let s = self.inner.lock().ok()?;
        let fresh = s.fetched_at.is_some_and(|at| at.elapsed() < max_age);
        if fresh { s.keys.clone() } else { None }
    }

    /// Replaces the cached set.
    pub(crate) fn put(&self, keys: Arc<JwkSet>) {
        if let Ok(mut s) = self.inner.lock() {
            s.keys = Some(keys);
            s.fetched_at = Some(Instant::now());
        }
    }

    /// Whether a refetch for an unknown `kid` is allowed now (at most one per
    /// `min_interval`, so garbage tokens cannot make the client hammer the
    /// server); records it when allowed.
    pub(crate) fn may_refetch(&self, min_interval: Duration) -> bool {
        let Ok(mut s) = self.inner.lock() else {
            return false;
        };
        let now = Instant::now();
        if s.last_refetch
            .is_some_and(|at| now.duration_since(at) < min_interval)
        {
            return false;
        }
        s.last_refetch = Some(now);
        true
    }
}

/// Whether the token's header names critical extensions (`crit`): Keyward
/// uses none, and RFC 7515 §4.1.11 says a verifier that does not
/// understand one must refuse the token. `jsonwebtoken` ignores the
/// member, so it is looked for here.
pub(crate) fn has_crit(token: &str) -> bool {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("crit").is_some())
}

/// The `kid` of a token's header, after checking its shape and algorithm.
pub(crate) fn token_kid(token: &str) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_LEN || token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|e| map_error(e.kind()))?;
    if has_crit(token) {
        return Err(TokenError::Malformed);
    }
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Algorithm);
    }
    // An event token (`secevent+jwt`) is not an approval.
    if header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(TokenError::Malformed);
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() {
        return Err(TokenError::Malformed);
    }
    match header.kid {
        Some(kid) if !kid.is_empty() => Ok(kid),
        _ => Err(TokenError::UnknownKey),
    }
}

/// The Ed25519 key named `kid` in `set`: exactly one, `OKP`/`Ed25519`, `alg`
/// absent or `EdDSA`, and a 32-byte `x`.
pub(crate) fn find_key(set: &JwkSet, kid: &str) -> Result<DecodingKey, TokenError> {
    let mut matching = set
        .keys
        .iter()
        .filter(|k| k.common.key_id.as_deref() == Some(kid));
    let jwk: &Jwk = matching.next().ok_or(TokenError::UnknownKey)?;
    if matching.next().is_some() {
        return Err(TokenError::Jwks);
    }
    if jwk
        .common
        .key_algorithm
        .is_some_and(|a| a != KeyAlgorithm::EdDSA)
    {
        return Err(TokenError::Jwks);
    }
    let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
        return Err(TokenError::Jwks);
    };
    if params.curve != EllipticCurve::Ed25519 {
        return Err(TokenError::Jwks);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(&params.x)
        .map_err(|_| TokenError::Jwks)?;
    if raw.len() != 32 {
        return Err(TokenError::Jwks);
    }
    DecodingKey::from_jwk(jwk).map_err(|_| TokenError::Jwks)
}

/// Verifies `token` against `set` with exactly the steps
/// [`verify_approval`](crate::KeywardClient::verify_approval) takes once it
/// has the key set (header, key choice, signature and claims), without any
/// fetching. For the fuzz target.
#[doc(hidden)]
pub fn verify_with_set(
    token: &str,
    set: &JwkSet,
    issuer: &str,
    leeway: u64,
) -> Result<ApprovalClaims, TokenError> {
    let key = find_key(set, &token_kid(token)?)?;
    decode(token, &key, issuer, leeway)
}

/// Verifies `token` with `key`: EdDSA only, exact issuer and audience,
/// `exp` in the future and `iat` not (both within `leeway` seconds).
pub(crate) fn decode(
    token: &str,
    key: &DecodingKey,
    issuer: &str,
    leeway: u64,
) -> Result<ApprovalClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[AUDIENCE]);
    let claims = jsonwebtoken::decode::<ApprovalClaims>(token, key, &validation)
        .map_err(|e| map_error(e.kind()))?
        .claims;
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != AUDIENCE {
        return Err(TokenError::WrongAudience);
    }
    let now = unix_now();
    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    if now >= claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => TokenError::Algorithm,
        ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => TokenError::Jwks,
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sid: Uuid, digest: &str) -> ApprovalClaims {
        ApprovalClaims {
            step_up_id: sid,
            sub: "u".into(),
            action: "withdrawal".into(),
            details_digest: digest.into(),
            credential_id: "c".into(),
            aaguid: None,
            uv: true,
            iat: 0,
            exp: 1,
            jti: Uuid::nil(),
            iss: "i".into(),
            aud: AUDIENCE.into(),
            chain_head: None,
        }
    }

    #[test]
    fn a_header_with_critical_extensions_is_refused() {
        use base64::Engine as _;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let plain = format!(
            "{}.e30.sig",
            b64(r#"{"alg":"EdDSA","typ":"JWT","kid":"k"}"#)
        );
        assert_eq!(token_kid(&plain), Ok("k".to_owned()));
        let crit = format!(
            "{}.e30.sig",
            b64(r#"{"alg":"EdDSA","typ":"JWT","kid":"k","crit":["exp"],"exp":1}"#)
        );
        assert_eq!(token_kid(&crit), Err(TokenError::Malformed));
    }

    #[test]
    fn matches_only_the_same_step_up_and_digest() {
        let sid = Uuid::new_v4();
        let c = claims(sid, "abcd");
        assert!(approval_matches(&c, "abcd", sid));
        assert!(approval_matches(&c, "ABCD", sid));
        assert!(!approval_matches(&c, "abce", sid));
        assert!(!approval_matches(&c, "abcd", Uuid::new_v4()));
        assert!(!approval_matches(&claims(sid, ""), "", sid));
    }

    /// A token signed by keyward-access's signer, and the set with its key.
    fn signed(
        edit: impl FnOnce(&mut keyward_access::approval::ApprovalClaims),
    ) -> (String, JwkSet) {
        use keyward_access::approval as ka;
        let key = ka::SigningKey::generate();
        let now = unix_now();
        let mut c = ka::ApprovalClaims {
            step_up_id: Uuid::new_v4(),
            sub: "u".into(),
            action: "withdrawal".into(),
            details_digest: "ab".into(),
            credential_id: "c".into(),
            aaguid: None,
            uv: true,
            iat: now - 10,
            exp: now + 300,
            jti: Uuid::new_v4(),
            iss: "http://localhost:8080".into(),
            aud: AUDIENCE.into(),
            chain_head: None,
        };
        edit(&mut c);
        let token = ka::sign(&key, &c).unwrap();
        let set = serde_json::from_value(ka::jwks([&key])).unwrap();
        (token, set)
    }

    fn check(token: &str, set: &JwkSet) -> Result<ApprovalClaims, TokenError> {
        let key = find_key(set, &token_kid(token)?)?;
        decode(token, &key, "http://localhost:8080", 0)
    }

    #[test]
    fn verifies_and_rejects_expired_early_and_misaddressed_tokens() {
        let (token, set) = signed(|_| {});
        assert!(check(&token, &set).is_ok());
        let now = unix_now();
        let (token, set) = signed(|c| {
            c.iat = now - 400;
            c.exp = now - 100;
        });
        assert_eq!(check(&token, &set), Err(TokenError::Expired));
        let (token, set) = signed(|c| {
            c.iat = now + 100;
            c.exp = now + 400;
        });
        assert_eq!(check(&token, &set), Err(TokenError::NotYetValid));
        let (token, set) = signed(|c| c.aud = "someone-else".into());
        assert_eq!(check(&token, &set), Err(TokenError::WrongAudience));
        let (token, set) = signed(|c| c.iss = "https://evil.example".into());
        assert_eq!(check(&token, &set), Err(TokenError::WrongIssuer));
        let (other, _) = signed(|_| {});
        let (_, set) = signed(|_| {});
        assert_eq!(check(&other, &set), Err(TokenError::UnknownKey));
    }

    #[test]
    fn refuses_malformed_and_other_algorithms() {
        assert_eq!(token_kid("a.b"), Err(TokenError::Malformed));
        let hs = format!(
            "{}.e30.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k"}"#)
        );
        assert_eq!(token_kid(&hs), Err(TokenError::Algorithm));
        let no_kid = format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA"}"#));
        assert_eq!(token_kid(&no_kid), Err(TokenError::UnknownKey));
    }
}
