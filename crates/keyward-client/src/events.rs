//! Security events from Keyward (RFC 8417 Security Event Tokens): checking
//! one ([`KeywardClient::verify_event`](crate::KeywardClient::verify_event))
//! and keeping them in order ([`EventOrder`]). Delivery is at least once:
//! the same event may come twice (same `jti`, same `keyward_seq`).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keyward_api::events::SecurityEventClaims;

use crate::approval::MAX_TOKEN_LEN;
use crate::error::TokenError;

/// The `typ` every Keyward event token carries.
pub const SET_TYP: &str = "secevent+jwt";

/// The `kid` of an event token, its header checked: three parts, `typ`
/// exactly `secevent+jwt` (an approval token is not an event), `alg`
/// EdDSA, no key named or embedded in it.
pub(crate) fn event_kid(token: &str) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_LEN || token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.typ.as_deref() != Some(SET_TYP) {
        return Err(TokenError::Malformed);
    }
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Algorithm);
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() {
        return Err(TokenError::Malformed);
    }
    match header.kid {
        Some(kid) if !kid.is_empty() => Ok(kid),
        _ => Err(TokenError::UnknownKey),
    }
}

/// The claims of `token` verified with `key`: signature, exact issuer and
/// audience (events do not expire: they say what happened).
pub(crate) fn decode(
    token: &str,
    key: &DecodingKey,
    issuer: &str,
    audience: &str,
) -> Result<SecurityEventClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "jti"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let claims = jsonwebtoken::decode::<SecurityEventClaims>(token, key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            jsonwebtoken::errors::ErrorKind::InvalidAudience => TokenError::WrongAudience,
            _ => TokenError::Malformed,
        })?
        .claims;
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != audience {
        return Err(TokenError::WrongAudience);
    }
    if claims.events.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(claims)
}

/// A receiver's place in Keyward's event order. Keyward sends each
/// endpoint its events in order, a later one only after the earlier ones
/// were accepted, so an event at or before the last one accepted was seen
/// already: a repeat (keep the position durably, as you keep pins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventOrder {
    last: i64,
}

impl EventOrder {
    /// Starting after position `last` (0: nothing seen).
    pub fn after(last: i64) -> Self {
        Self { last }
    }

    /// Whether `event` is new (act on it); false for a repeat.
    pub fn accept(&mut self, event: &SecurityEventClaims) -> bool {
        if event.keyward_seq <= self.last {
            return false;
        }
        self.last = event.keyward_seq;
        true
    }

    /// The last position accepted.
    pub fn last(&self) -> i64 {
        self.last
    }
}
