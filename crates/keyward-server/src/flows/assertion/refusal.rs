//! Refused assertions: each is audited and counted against the account and
//! address before the error goes back, and a counter that did not move
//! flags the key as possibly cloned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Answerer;
use crate::domain::audit::AuditEvent;
use crate::error::ApiError;
use crate::flows::throttle;
use crate::state::AppState;
use crate::store::{audit, credentials};

/// Audits and counts a refused assertion; returns the error to send.
pub(super) async fn refuse(app: &AppState, who: &Answerer<'_>, err: ApiError) -> ApiError {
    let reason = match &err {
        ApiError::CeremonyRefused { reason } => *reason,
        _ => "error",
    };
    let result = async {
        let attempt = throttle::count_failure(app, who.username, who.via, who.ip).await?;
        let failure = attempt.failed(app).await?;
        let mut tx = app.db.begin().await?;
        throttle::audit_failure(app, &mut tx, failure, Some(who.user_id), who.ip).await?;
        let event = audit::Event {
            user_id: Some(who.user_id),
            event: AuditEvent::KeyAssertionRefused {
                reason: reason.into(),
            },
            ip: Some(&who.client.ip),
        };
        audit::append(&mut tx, &event, app.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A non-increasing counter: flag the key, audit, refuse.
pub(super) async fn possible_clone(
    app: &AppState,
    who: &Answerer<'_>,
    credential_id: &[u8],
) -> ApiError {
    let result = async {
        let attempt = throttle::count_failure(app, who.username, who.via, who.ip).await?;
        let failure = attempt.failed(app).await?;
        let mut tx = app.db.begin().await?;
        let key = credentials::mark_possibly_cloned(&mut tx, who.user_id, credential_id).await?;
        throttle::audit_failure(app, &mut tx, failure, Some(who.user_id), who.ip).await?;
        let event = audit::Event {
            user_id: Some(who.user_id),
            event: AuditEvent::KeyPossiblyCloned {
                key_id: key,
                credential_id: URL_SAFE_NO_PAD.encode(credential_id),
            },
            ip: Some(&who.client.ip),
        };
        audit::append(&mut tx, &event, app.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    tracing::warn!(user_id = %who.user_id, "signature counter did not increase: key flagged as possibly cloned");
    match result {
        Ok(()) => ApiError::CeremonyRefused {
            reason: "counter_regression",
        },
        Err(e) => e,
    }
}
