//! Step-ups: a service asks for a key-approved action, the user approves it
//! with an assertion whose challenge commits to the exact details, Keyward
//! issues a signed approval, and the service redeems it exactly once after
//! the withdrawal policy agrees again.

pub mod approval;
mod limit;

use keyward_api::step_ups::{StepUp, StepUpSummary};
use keyward_api::{PolicyReason, StepUpStatus};
use uuid::Uuid;

use crate::clock::{Millis, rfc3339};
use crate::db::{Tx, is_unique_violation};
use crate::domain::audit::{AuditEvent, RiskDecided, StepUpDecided};
use crate::domain::details::{Action, Canonical, Details, canonicalise, stored_details};
use crate::domain::names::Username;
use crate::domain::policy::{self, AccountFacts, Decision, WithdrawalFacts};
use crate::domain::risk::Verdict;
use crate::error::{ApiError, ApiResult};
use crate::flows::risk;
use crate::state::AppState;
use crate::store::step_ups::{self, StepUpRow, UNIQUE_CLIENT_REFERENCE};
use crate::store::{audit, users, withdrawal_controls};

/// Who asked for a step-up.
#[derive(Debug, Clone, Copy)]
pub enum Requester {
    /// An exchange service (its key id).
    Service(Uuid),
    /// The user, from the browser.
    User,
}

/// Who acts on an existing step-up: its user (in the browser), or a service
/// key. A service sees only the step-ups it created itself; a user only
/// their own. To anyone else a step-up does not exist (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The signed-in user.
    User(Uuid),
    /// A service key.
    Service(Uuid),
}

impl Party {
    /// Whether this party may see and act on `row`.
    pub fn may_act_on(self, row: &StepUpRow) -> bool {
        match self {
            Self::User(id) => row.user_id == id,
            Self::Service(id) => row.service_key_id == Some(id),
        }
    }
}

/// The step-up `id` as `party` may see it.
pub async fn get_for(app: &AppState, id: Uuid, party: Party) -> ApiResult<StepUpRow> {
    step_ups::get(&app.db, id)
        .await?
        .filter(|row| party.may_act_on(row))
        .ok_or(ApiError::NotFound("step-up"))
}

/// Finds the user a service names, by id or username.
pub async fn resolve_user(app: &AppState, user: &str) -> ApiResult<Uuid> {
    let found = match Uuid::parse_str(user) {
        Ok(id) => users::by_id(&app.db, id).await?,
        Err(_) => match Username::parse(user) {
            Ok(name) => users::by_name(&app.db, name.as_str()).await?,
            Err(_) => None,
        },
    };
    found.map(|u| u.id).ok_or(ApiError::NotFound("user"))
}

/// Locks the user row and decides `c` inside `tx`: the withdrawal policy,
/// tightened by the step-up's risk signals (`this`: the step-up being
/// redeemed). The lock serialises this user's step-up creations and
/// redeems, so the totals read here cannot go stale before the commit.
async fn decide(
    app: &AppState,
    tx: &mut Tx,
    user_id: Uuid,
    c: &Canonical,
    now: Millis,
    this: Option<Uuid>,
) -> ApiResult<(Decision, Verdict)> {
    let (account, withdrawal, changed_at) = facts(app, tx, user_id, c, now).await?;
    let decision = policy::decide(c.action, &account, withdrawal.as_ref(), now);
    let verdict = risk::at_step_up(app, tx, user_id, c, changed_at, now, this).await?;
    Ok((policy::tighten(decision, &verdict, now), verdict))
}

/// Locks the user row and loads the policy facts for `details` inside
/// `tx`, and when the account's last security change was.
async fn facts(
    app: &AppState,
    tx: &mut Tx,
    user_id: Uuid,
    c: &Canonical,
    now: Millis,
) -> ApiResult<(AccountFacts, Option<WithdrawalFacts>, Option<Millis>)> {
    let user = users::lock_with_policy(tx, user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let changed_at = user.security_changed_at;
    let global_freeze = withdrawal_controls::global_freeze(tx).await?;
    let account = AccountFacts {
        global_freeze,
        user_frozen: user.stopped(),
        hold: user.hold_until.map(|until| {
            let reason = user.hold_reason.as_deref().map(PolicyReason::parse);
            (until, reason.unwrap_or(PolicyReason::SecurityChange))
        }),
    };
    let Details::Withdrawal(w) = &c.details else {
        return Ok((account, None, changed_at));
    };
    // The entry allows this destination only with its memo (none: none).
    let entry = withdrawal_controls::address_for(tx, user_id, &w.network, &w.destination)
        .await?
        .filter(|e| e.memo == w.memo);
    let since = now - crate::domain::daily_limit::WINDOW_MS;
    let rows = step_ups::redeemed_amounts(tx, user_id, &w.asset, since).await?;
    let redeemed = limit::parse_redeemed(rows)?
        .into_iter()
        .fold(0u128, |sum, (_, units)| sum.saturating_add(units));
    let withdrawal = WithdrawalFacts {
        address_usable_from: entry.map(|e| e.usable_from),
        redeemed_last_24h: redeemed,
        daily_limit: app.config.daily_limit_units(&w.asset),
        amount: w.amount.units,
    };
    Ok((account, Some(withdrawal), changed_at))
}

/// Creates a step-up for `user_id`, deciding at once whether it is pending,
/// held or denied. A repeated client reference with the same details returns
/// the existing step-up (`true`); with other details it is a conflict.
pub async fn create(
    app: &AppState,
    requester: Requester,
    user_id: Uuid,
    c: &Canonical,
    ip: &str,
) -> ApiResult<(StepUpRow, bool)> {
    let service_key_id = match requester {
        Requester::Service(id) => Some(id),
        Requester::User => None,
    };
    if let (Some(service), Some(reference)) = (service_key_id, c.client_reference())
        && let Some(existing) = step_ups::by_reference(&app.db, service, user_id, reference).await?
    {
        return same_request(existing, c).map(|row| (row, true));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (decision, verdict) = decide(app, &mut tx, user_id, c, now, None).await?;
    let (outcome, outcome_until) = risk::outcome_of(&decision);
    let (status, reason, held_until) = match decision {
        Decision::Allow => (StepUpStatus::Pending, None, None),
        Decision::Held { until, reason } => (StepUpStatus::Held, Some(reason), Some(until)),
        Decision::Denied { reason } => (StepUpStatus::Denied, Some(reason), None),
    };
    let (asset, amount_units) = match &c.details {
        Details::Withdrawal(w) => (Some(w.asset.clone()), Some(w.amount.units.to_string())),
        _ => (None, None),
    };
    let ttl = crate::clock::millis(app.config.withdrawals.step_up_ttl);
    let row = StepUpRow {
        id: Uuid::new_v4(),
        user_id,
        service_key_id,
        action: c.action.as_str().into(),
        details: c.json.clone(),
        digest: c.digest_hex(),
        nonce: rand_nonce().to_vec(),
        client_reference: c.client_reference().map(str::to_owned),
        status: status.as_str().into(),
        reason: reason.map(|r| r.as_str().to_owned()),
        held_until,
        asset,
        amount_units,
        created_at: now,
        expires_at: now + ttl,
        approved_at: None,
        approval_expires_at: None,
        credential_key_id: None,
        user_verified: None,
        evidence: None,
        token_jti: None,
        chain_head: None,
        redeemed_at: None,
        redeemed_by: None,
        risk: risk::stored(&verdict.reasons),
    };
    if let Err(e) = step_ups::insert(&mut tx, &row).await {
        drop(tx);
        // A concurrent request with the same reference won the insert.
        if is_unique_violation(&e, UNIQUE_CLIENT_REFERENCE)
            && let (Some(service), Some(reference)) = (service_key_id, c.client_reference())
            && let Some(existing) =
                step_ups::by_reference(&app.db, service, user_id, reference).await?
        {
            return same_request(existing, c).map(|row| (row, true));
        }
        return Err(e.into());
    }
    let decided = StepUpDecided {
        step_up_id: row.id,
        action: row.action.clone(),
        digest: row.digest.clone(),
        status,
        reason,
        what: crate::domain::details::summary(&row.details),
    };
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::step_up_decided(decided),
        ip: Some(ip),
    };
    let decided = RiskDecided {
        stage: "step_up.created",
        step_up_id: Some(row.id),
        outcome,
        held_until: outcome_until,
        reasons: verdict.reasons,
    };
    // The decision and its risk notice: one append.
    let mut events = vec![event];
    events.extend(risk::notice(user_id, decided, ip, verdict.notify));
    audit::append_all(&mut tx, &events, now).await?;
    tx.commit().await?;
    crate::metrics::step_up(&row.action, status.as_str());
    Ok((row, false))
}

/// A step-up the user asks for in the browser (an allow-list addition, an
/// API key): created only to be approved now, so one the policy would hold
/// or deny is refused with its reason.
pub async fn create_for_user(
    app: &AppState,
    user_id: Uuid,
    c: &Canonical,
    ip: &str,
) -> ApiResult<StepUpRow> {
    let (row, _) = create(app, Requester::User, user_id, c, ip).await?;
    if row.status() != StepUpStatus::Pending {
        return Err(ApiError::PolicyRefused {
            reason: row.reason().unwrap_or(PolicyReason::PolicyUnavailable),
        });
    }
    Ok(row)
}

fn same_request(existing: StepUpRow, c: &Canonical) -> ApiResult<StepUpRow> {
    if existing.digest == c.digest_hex() {
        Ok(existing)
    } else {
        Err(ApiError::IdempotencyConflict)
    }
}

fn rand_nonce() -> [u8; 32] {
    let mut nonce = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    nonce
}

/// The status as callers see it: a pending step-up past its window, or an
/// approval past its redeem window, is `expired`.
pub fn effective_status(row: &StepUpRow, now: Millis) -> StepUpStatus {
    match row.status() {
        StepUpStatus::Pending if row.expires_at <= now => StepUpStatus::Expired,
        StepUpStatus::Approved if row.approval_expires_at.is_some_and(|t| t <= now) => {
            StepUpStatus::Expired
        }
        other => other,
    }
}

/// The API view of a step-up.
pub fn view(app: &AppState, row: &StepUpRow) -> StepUp {
    StepUp {
        id: row.id,
        user_id: row.user_id,
        action: row.action.clone(),
        details: stored_details(&row.details),
        digest: row.digest.clone(),
        status: effective_status(row, app.clock.now()),
        reason: row.reason(),
        held_until: row.held_until.map(rfc3339),
        reasons: risk::reasons_of(row),
        created_at: rfc3339(row.created_at),
        expires_at: rfc3339(row.expires_at),
        approved_at: row.approved_at.map(rfc3339),
        approval_expires_at: row.approval_expires_at.map(rfc3339),
        redeemed_at: row.redeemed_at.map(rfc3339),
        confirm_url: format!("{}/confirm/{}", app.config.origin_header(), row.id),
    }
}

/// The owner declines a pending step-up on the confirmation page: it can
/// no longer be approved, and the exchange sees `declined`.
pub async fn decline(app: &AppState, id: Uuid, user_id: Uuid, ip: &str) -> ApiResult<StepUpRow> {
    let row = pending(app, id, Party::User(user_id)).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !step_ups::decline(&mut tx, id, user_id).await? {
        return Err(ApiError::StepUpNotPending(
            "approved or expired meanwhile".into(),
        ));
    }
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::StepUpDeclined {
            step_up_id: id,
            action: row.action.clone(),
            what: crate::domain::details::summary(&row.details),
        },
        ip: Some(ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    crate::metrics::step_up(&row.action, "declined");
    get_for(app, id, Party::User(user_id)).await
}

/// What the confirmation page shows the owner: the step-up, their
/// anti-phishing phrase, the seconds left to approve and, for a withdrawal
/// refused for the daily limit, what is left of it.
pub async fn summary(app: &AppState, id: Uuid, user_id: Uuid) -> ApiResult<StepUpSummary> {
    let row = get_for(app, id, Party::User(user_id)).await?;
    Ok(StepUpSummary {
        step_up: view(app, &row),
        anti_phishing_phrase: users::phrase(&app.db, user_id).await?,
        seconds_left: ((row.expires_at - app.clock.now()) / 1000).max(0),
        daily_limit: limit::left_for(app, &row).await?,
    })
}

/// Re-validates stored details (at redeem); a failure fails closed.
pub fn recanonicalise(app: &AppState, row: &StepUpRow) -> ApiResult<Canonical> {
    let c = canonicalise(
        &row.action,
        &stored_details(&row.details),
        &app.config.assets,
    )
    .map_err(|_| ApiError::PolicyRefused {
        reason: PolicyReason::DetailsInvalid,
    })?;
    if c.digest_hex() != row.digest {
        return Err(ApiError::PolicyRefused {
            reason: PolicyReason::DetailsInvalid,
        });
    }
    Ok(c)
}

/// Redeems an approved step-up once: re-checks policy at this moment (a
/// freeze or hold placed after approval wins), then flips the status in one
/// conditional UPDATE. Returns the redeemed row.
pub async fn redeem(
    app: &AppState,
    service_key_id: Uuid,
    id: Uuid,
    ip: &str,
) -> ApiResult<StepUpRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let row = step_ups::get_in(&mut tx, id)
        .await?
        .filter(|row| Party::Service(service_key_id).may_act_on(row))
        .ok_or(ApiError::NotFound("step-up"))?;
    match row.status() {
        StepUpStatus::Approved => {}
        StepUpStatus::Redeemed => return Err(ApiError::AlreadyRedeemed),
        StepUpStatus::Refused => {
            return Err(ApiError::PolicyRefused {
                reason: row.reason().unwrap_or(PolicyReason::PolicyUnavailable),
            });
        }
        other => return Err(ApiError::NotApproved(other.as_str().into())),
    }
    if row.approval_expires_at.is_none_or(|t| t <= now) {
        return Err(ApiError::ApprovalExpired);
    }
    // `decide` locks the user row: this user's redeems go one at a time.
    let (decision, verdict) = match recanonicalise(app, &row) {
        Ok(c) => decide(app, &mut tx, row.user_id, &c, now, Some(id)).await?,
        Err(_) => (
            Decision::Denied {
                reason: PolicyReason::DetailsInvalid,
            },
            Verdict::default(),
        ),
    };
    // A hold reason (`key_added`, …) says by itself that it is a hold.
    let refusal = match decision {
        Decision::Allow => None,
        Decision::Held { reason, .. } | Decision::Denied { reason } => Some(reason),
    };
    if let Some(reason) = refusal {
        step_ups::refuse(&mut tx, id, reason).await?;
        // Told only when a signal is what refused it (its notices were
        // told at creation).
        if verdict.deny.is_some() || verdict.hold.is_some() {
            let (outcome, held_until) = risk::outcome_of(&decision);
            let decided = RiskDecided {
                stage: "step_up.redeemed",
                step_up_id: Some(id),
                outcome,
                held_until,
                reasons: verdict.reasons,
            };
            risk::record(&mut tx, row.user_id, decided, ip, now, true).await?;
        }
        let event = audit::Event {
            user_id: Some(row.user_id),
            event: AuditEvent::StepUpRedeemRefused {
                step_up_id: id,
                reason,
            },
            ip: Some(ip),
        };
        audit::append(&mut tx, &event, now).await?;
        tx.commit().await?;
        return Err(ApiError::PolicyRefused { reason });
    }
    let Some(redeemed) = step_ups::redeem(&mut tx, id, now, service_key_id).await? else {
        return Err(ApiError::AlreadyRedeemed);
    };
    let event = audit::Event {
        user_id: Some(row.user_id),
        event: AuditEvent::StepUpRedeemed {
            step_up_id: id,
            action: redeemed.action.clone(),
            digest: redeemed.digest.clone(),
            service_key_id,
            what: crate::domain::details::summary(&redeemed.details),
        },
        ip: Some(ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(redeemed)
}

/// Loads a step-up that is waiting for approval, as `party` may see it.
pub async fn pending(app: &AppState, id: Uuid, party: Party) -> ApiResult<StepUpRow> {
    let row = get_for(app, id, party).await?;
    if row.status() != StepUpStatus::Pending {
        return Err(ApiError::StepUpNotPending(row.status));
    }
    if row.expires_at <= app.clock.now() {
        return Err(ApiError::StepUpExpired);
    }
    Ok(row)
}

/// The action of a stored step-up.
pub fn action_of(row: &StepUpRow) -> ApiResult<Action> {
    Action::parse(&row.action)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored action unknown")))
}

/// The raw evidence of an approved step-up (its stored assertion, nonce and
/// canonical details, and the user's key chain up to the head recorded at
/// approval), for the exchange to check itself. `None` before approval, or
/// if the stored assertion does not read (never for a row this server
/// wrote).
pub async fn evidence_of(
    app: &AppState,
    row: &StepUpRow,
) -> ApiResult<Option<keyward_api::step_ups::ApprovalEvidence>> {
    let Some(assertion) = row.evidence.as_deref() else {
        return Ok(None);
    };
    let chain = crate::flows::key_chain::at_approval(&app.db, row).await?;
    Ok(evidence_from(row, assertion, chain))
}

/// [`evidence_of`] with the assertion JSON and the chain given (at
/// approval, before the row has them).
pub fn evidence_from(
    row: &StepUpRow,
    assertion: &str,
    key_chain: Vec<keyward_proof::ChainEntry>,
) -> Option<keyward_api::step_ups::ApprovalEvidence> {
    use base64::Engine as _;
    Some(keyward_api::step_ups::ApprovalEvidence {
        details: row.details.clone(),
        nonce: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&row.nonce),
        assertion: serde_json::from_str(assertion).ok()?,
        key_chain,
    })
}
