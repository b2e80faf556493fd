//! Security events from Keyward (RFC 8417 Security Event Tokens): checking
//! one ([`KeywardClient::verify_event`](crate::KeywardClient::verify_event))
//! and keeping them in order ([`EventOrder`]). Delivery is at least once:
//! the same event may come twice (same `jti`, same `keyward_seq`).

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keyward_api::events::{KEYWARD_EVENT, SecurityEventClaims};
use tokio::time::Instant;
use uuid::Uuid;

use crate::KeywardClient;
use crate::approval::MAX_TOKEN_LEN;
use crate::error::{Error, TokenError};
use crate::types::{StepUp, StepUpStatus};

/// How long a waiter sleeps when it has read everything there is: short,
/// as an approval is what a user is looking at, but never a hot loop.
const IDLE_INTERVAL: Duration = Duration::from_millis(250);
/// Entries read per page while catching up.
const PAGE: u32 = 500;
/// How often a waiter looks at the step-up itself even without an event:
/// a step-up's window running out is read off the clock, not written to
/// the log, so no event says "expired".
const RECHECK: Duration = Duration::from_secs(30);

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
    if crate::approval::has_crit(token) {
        return Err(TokenError::Malformed);
    }
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

/// Verifies event `token` against `set` with exactly the steps
/// [`verify_event`](crate::KeywardClient::verify_event) takes once it has
/// the key set (header, key choice, signature, issuer, audience), without
/// any fetching. For the shared test vectors (`testdata/events.json`).
#[doc(hidden)]
pub fn verify_event_with_set(
    token: &str,
    set: &jsonwebtoken::jwk::JwkSet,
    issuer: &str,
    audience: &str,
) -> Result<SecurityEventClaims, TokenError> {
    let key = crate::approval::find_key(set, &event_kid(token)?)?;
    decode(token, &key, issuer, audience)
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

/// Whether `event` is one of Keyward's `stepup.*` events about step-up `id`
/// (asked for, held, denied, approved, declined, redeemed, refused).
fn about_step_up(event: &SecurityEventClaims, id: Uuid) -> bool {
    event.events.iter().any(|(uri, detail)| {
        uri.strip_prefix(KEYWARD_EVENT)
            .is_some_and(|name| name.starts_with("stepup."))
            && detail
                .get("step_up_id")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
                == Some(id)
    })
}

/// What both waits make of a step-up's state: approved is done, pending
/// goes on waiting (`None`), anything else ended it.
pub(crate) fn settled(step_up: StepUp) -> Option<Result<StepUp, Error>> {
    match step_up.status {
        StepUpStatus::Approved => Some(Ok(step_up)),
        StepUpStatus::Pending => None,
        status => Some(Err(Error::Ended {
            status,
            reason: step_up.reason,
        })),
    }
}

impl KeywardClient {
    /// The position of the newest entry in Keyward's event log (service
    /// key scope `events:read`). Take it *before* creating a step-up and
    /// pass it to [`wait_for_approval_by_events`](Self::wait_for_approval_by_events):
    /// everything that happens to the step-up comes after it, so nothing
    /// can slip between creating and starting to wait.
    pub async fn event_cursor(&self) -> Result<i64, Error> {
        let page = self.events(0, 1).await?;
        Ok(page.head.max(page.next))
    }

    /// Waits for step-up `id` to be approved by reading Keyward's security
    /// events from position `after` (from [`event_cursor`](Self::event_cursor),
    /// taken before the step-up was created, or the position your event
    /// reader has reached) rather than asking for the step-up over and
    /// over. `audience` is the events' `aud`: the service key's name.
    ///
    /// Returns like [`wait_for_approval`](Self::wait_for_approval): the
    /// step-up once approved, [`Error::Ended`] once it left `pending`
    /// otherwise (held, denied, declined, expired, …), [`Error::Timeout`]
    /// if it is still pending after `timeout`. Whatever an event says, the
    /// answer is the step-up as fetched afterwards (`GET
    /// /v1/step-ups/{id}`), so it is authoritative. Approval still has to be
    /// [`redeem`](Self::redeem)ed before paying.
    ///
    /// Why events: the log says at once when anything happens to the
    /// step-up (an approval, but also a decline, which polling the step-up
    /// sees only at its next poll), and a read of it when nothing happened
    /// is an empty page. A service with many step-ups in flight can read
    /// the stream once for all of them — one request every interval
    /// however many it waits for — with [`events`](Self::events),
    /// [`verify_event`](Self::verify_event) and [`EventOrder`], dispatching
    /// `stepup.*` events by their `step_up_id`; this is that loop for one
    /// step-up. The service key needs the `events:read` scope besides
    /// `stepup:read`.
    ///
    /// Every event read is verified (signature against Keyward's JWKS,
    /// `typ`, issuer, `audience`); one that does not verify ends the wait
    /// with [`Error::Token`] rather than being skipped, as it means the
    /// stream is not Keyward's. Repeats are dropped ([`EventOrder`]). An
    /// empty read sleeps a quarter of a second; the step-up itself is also
    /// looked at every 30 seconds and at the deadline, as expiry writes no
    /// event.
    pub async fn wait_for_approval_by_events(
        &self,
        id: Uuid,
        audience: &str,
        after: i64,
        timeout: Duration,
    ) -> Result<StepUp, Error> {
        let deadline = Instant::now() + timeout;
        // Already decided (or no such step-up): no need to read anything.
        if let Some(done) = settled(self.step_up(id).await?) {
            return done;
        }
        let mut order = EventOrder::after(after);
        let mut cursor = after;
        let mut checked = Instant::now();
        loop {
            let page = self.events(cursor, PAGE).await?;
            let mut seen = false;
            for polled in &page.events {
                let event = self.verify_event(&polled.set, audience).await?;
                if order.accept(&event) && about_step_up(&event, id) {
                    seen = true;
                }
            }
            // A page never moves the cursor back, whatever it says.
            let moved = page.next > cursor;
            cursor = cursor.max(page.next);
            let now = Instant::now();
            if seen || now >= deadline || now.duration_since(checked) >= RECHECK {
                checked = now;
                if let Some(done) = settled(self.step_up(id).await?) {
                    return done;
                }
                if now >= deadline {
                    return Err(Error::Timeout);
                }
            }
            // More to read: read on at once; caught up: sleep.
            if !moved {
                tokio::time::sleep(IDLE_INTERVAL.min(deadline - now)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_api::events::SubjectId;
    use serde_json::{Map, json};

    fn event(name: &str, detail: serde_json::Value) -> SecurityEventClaims {
        let mut events = Map::new();
        events.insert(format!("{KEYWARD_EVENT}{name}"), detail);
        SecurityEventClaims {
            iss: "i".into(),
            aud: "a".into(),
            iat: 0,
            jti: "j".into(),
            toe: 0,
            sub_id: SubjectId {
                format: "opaque".into(),
                id: "u".into(),
            },
            events,
            keyward_seq: 1,
        }
    }

    #[test]
    fn only_step_up_events_naming_the_step_up_count() {
        let id = Uuid::new_v4();
        let detail = json!({ "step_up_id": id.to_string() });
        assert!(about_step_up(&event("stepup.approved", detail.clone()), id));
        assert!(about_step_up(&event("stepup.declined", detail.clone()), id));
        assert!(!about_step_up(
            &event("stepup.approved", detail.clone()),
            Uuid::new_v4()
        ));
        // Another kind of event that happens to carry the field.
        assert!(!about_step_up(&event("key.enrolled", detail), id));
        assert!(!about_step_up(&event("stepup.approved", json!({})), id));
    }
}
