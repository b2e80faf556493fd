//! Security events out. The audit log is the outbox (each change appends
//! its entry in its own transaction); this turns entries into signed
//! Security Event Tokens (`domain::security_events` says which and as
//! what), serves them to polling services, and pushes them to the
//! operator's webhooks: at least once, in order, each with the same `jti`
//! however often it is sent, resumed after a restart from the position
//! stored per endpoint.

use std::time::Duration;

use keyward_api::events::{EventPage, PolledEvent, SecurityEventClaims, SubjectId};
use uuid::Uuid;

use crate::clock::Millis;
use crate::config::Webhook;
use crate::custody::Signer;
use crate::domain::security_events::events_of;
use crate::error::{ApiError, ApiResult};
use crate::signing;
use crate::state::AppState;
use crate::store::audit::{self, AuditRow};
use crate::store::event_deliveries;

/// Entries read per page.
const PAGE: i64 = 100;
/// How long an instance holds an endpoint after it last took or renewed it
/// (every delivery renews it). An instance that dies holds it this long,
/// then another (or its next incarnation) takes over.
const LEASE_MS: Millis = 15_000;
/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// A round stops sending after this long, well inside the lease.
const ROUND_MS: Millis = 5_000;

/// The signed event for one audit entry, for `audience`; `None` if the
/// entry is not a security event.
pub fn token_for(
    row: &AuditRow,
    issuer: &str,
    audience: &str,
    signer: &Signer,
    now: Millis,
) -> ApiResult<Option<PolledEvent>> {
    let detail = serde_json::from_str(&row.detail).map_err(|e| ApiError::Internal(e.into()))?;
    let Some(events) = events_of(&row.event, &detail) else {
        return Ok(None);
    };
    // The entry's chain hash names it for good: the same id on every
    // delivery, from any instance.
    let jti = row.hash.get(..32).unwrap_or(&row.hash).to_owned();
    let claims = SecurityEventClaims {
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        iat: now / 1_000,
        jti: jti.clone(),
        toe: row.at / 1_000,
        sub_id: SubjectId {
            format: "opaque".into(),
            id: row
                .user_id
                .map_or_else(|| "keyward".to_owned(), |u| u.to_string()),
        },
        events,
        keyward_seq: row.seq,
    };
    let set = signing::sign_event(signer, &claims)?;
    Ok(Some(PolledEvent {
        seq: row.seq,
        jti,
        set,
    }))
}

/// Up to `limit` events after position `after`, for `audience`.
pub async fn poll(app: &AppState, after: i64, limit: i64, audience: &str) -> ApiResult<EventPage> {
    let rows = audit::page(&app.db, after.saturating_add(1), limit).await?;
    let next = rows.last().map_or(after, |r| r.seq);
    let mut events = Vec::new();
    if !rows.is_empty() {
        let signer = signing::active(app).await?;
        let (issuer, now) = (app.config.issuer(), app.clock.now());
        for row in &rows {
            events.extend(token_for(row, &issuer, audience, &signer, now)?);
        }
    }
    // Read after the page, so it is never behind `next`.
    let head = audit::last_seq(&app.db).await?.max(next);
    Ok(EventPage { events, next, head })
}

/// Pushes events to every configured webhook until the task is dropped.
/// A new endpoint starts at the log's head (history goes out only by
/// `keyward events replay`).
pub async fn deliver_forever(app: AppState) {
    let hooks = app.config.events.webhooks.clone();
    if hooks.is_empty() {
        return;
    }
    let owner = Uuid::new_v4().to_string();
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "event delivery not started");
            return;
        }
    };
    let mut tick = tokio::time::interval(app.config.events.deliver_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tracked = vec![false; hooks.len()];
    loop {
        tick.tick().await;
        for (hook, tracked) in hooks.iter().zip(tracked.iter_mut()) {
            let round = async {
                if !*tracked {
                    let head = audit::last_seq(&app.db).await?;
                    event_deliveries::ensure(&app.db, hook.url.as_str(), head).await?;
                    *tracked = true;
                }
                deliver_round(&app, hook, &owner, &client).await
            };
            if let Err(e) = round.await {
                tracing::warn!(endpoint = %hook.url, error = %e, "event delivery round failed");
            }
        }
    }
}

/// One round for one endpoint: if this instance holds it and no back-off
/// is running, sends the events after its position in order and records
/// how far it got; stops at the first failure and backs off.
async fn deliver_round(
    app: &AppState,
    hook: &Webhook,
    owner: &str,
    client: &reqwest::Client,
) -> anyhow::Result<()> {
    let endpoint = hook.url.as_str();
    let db = &app.db;
    let now = app.clock.now();
    // Reads first: an idle round (nothing new, or backing off) writes
    // nothing, so idle instances do not contend for the database.
    let head = audit::last_seq(db).await?;
    let idle = event_deliveries::get(db, endpoint)
        .await?
        .is_none_or(|d| d.delivered_seq >= head || d.next_attempt_at > now);
    if idle {
        return Ok(());
    }
    let Some(state) = event_deliveries::lease(db, endpoint, owner, now, now + LEASE_MS).await?
    else {
        return Ok(());
    };
    if state.next_attempt_at > now {
        return Ok(());
    }
    let rows = audit::page(db, state.delivered_seq + 1, PAGE).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let signer = signing::active_in(db, &app.custody).await?;
    let issuer = app.config.issuer();
    // The position is written once per round, not after every event: each
    // write is a durable commit, and per event they cost more than the
    // POSTs. Delivery stays at least once (after a crash the round's events
    // go again, with the same `jti`, which receivers drop); a round ends
    // well inside the lease, so no other instance sends them meanwhile.
    let mut sent = state.delivered_seq;
    let mut failure = None;
    for row in &rows {
        if app.clock.now() - now > ROUND_MS {
            break; // the next round goes on, lease renewed
        }
        if let Some(event) = token_for(row, &issuer, &hook.audience, &signer, app.clock.now())? {
            if let Err(why) = post(client, &hook.url, &event.set).await {
                failure = Some((row.seq, why));
                break;
            }
            crate::metrics::event_delivery("delivered");
        }
        // Entries that are not events move the position on too.
        sent = row.seq;
    }
    let at = app.clock.now();
    if sent > state.delivered_seq
        && !event_deliveries::delivered(db, endpoint, owner, sent, at, at + LEASE_MS).await?
    {
        return Ok(()); // another instance took over
    }
    if let Some((seq, why)) = failure {
        let attempts = if sent > state.delivered_seq {
            1
        } else {
            state.attempts + 1
        };
        let wait = backoff(attempts, app.config.events.retry_max);
        event_deliveries::failed(db, endpoint, owner, &why, at, at + wait).await?;
        crate::metrics::event_delivery("failed");
        tracing::warn!(%endpoint, seq, attempts, error = %why, "security event not delivered; retrying later");
    }
    Ok(())
}

/// RFC 8935 push: the token as the body; any 2xx is accepted.
async fn post(client: &reqwest::Client, url: &url::Url, set: &str) -> Result<(), String> {
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(set.to_owned())
        .send()
        .await
        .map_err(|e| format!("not reached: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

/// The wait after `attempts` consecutive failures: a second, doubling, at
/// most `max`.
fn backoff(attempts: i64, max: Duration) -> Millis {
    let max = crate::clock::millis(max);
    let exp = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    1_000_i64.saturating_mul(1_i64 << exp).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let max = Duration::from_secs(300);
        let waits: Vec<Millis> = (1..=11).map(|n| backoff(n, max)).collect();
        assert_eq!(&waits[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(waits[10], 300_000);
        assert_eq!(backoff(1_000, max), 300_000);
    }
}
