//! The two-person rule for operators. An action that loosens protection —
//! lifting the global withdrawal freeze, unlocking an account, an
//! operator-assisted recovery — is first a request by one operator (an
//! admin service key); it is carried out only when a second operator,
//! with another admin key by another name, approves it before it expires.
//! Approving and carrying out happen in one transaction, so a request is
//! carried out exactly once. Tightening actions stay immediate (see
//! `admin`). The same functions serve the admin API and the `keyward`
//! command line.

use keyward_api::operators::{
    AssistedRecovery, OperatorAction, OperatorDecision, OperatorRequest, OperatorRequestStatus,
};
use uuid::Uuid;

use crate::clock::{Millis, millis, rfc3339};
use crate::config::Config;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::audit::AuditEvent;
use crate::domain::names::freeze_reason;
use crate::error::{ApiError, ApiResult};
use crate::flows::{admin, recovery};
use crate::store::operator_requests::{self, ONE_PENDING, RequestRow};
use crate::store::{audit, users, withdrawal_controls};

/// An operator: an admin service key, known by its id and name.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The key's id.
    pub id: Uuid,
    /// The key's name.
    pub name: String,
}

impl Operator {
    /// How audit entries name this operator.
    fn by(&self) -> String {
        format!("service:{}", self.name)
    }

    /// Whether `other` is someone else: another key, by another name (one
    /// person holding two keys named alike is still one operator).
    fn is_other_than(&self, id: Uuid, name: &str) -> bool {
        self.id != id && !self.name.eq_ignore_ascii_case(name)
    }
}

/// Where the request comes from (for the audit log).
pub struct Origin<'a> {
    /// The operator.
    pub operator: &'a Operator,
    /// The client address, if over HTTP.
    pub ip: Option<&'a str>,
    /// Now.
    pub now: Millis,
}

fn action_of(name: &str) -> ApiResult<OperatorAction> {
    name.parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("unknown operator action `{name}` stored")))
}

/// Asks for `action` (about the account `username`, for the account
/// actions). Waits for a second operator until the window passes.
pub async fn ask(
    db: &Db,
    config: &Config,
    origin: &Origin<'_>,
    action: OperatorAction,
    username: Option<&str>,
    reason: &str,
) -> ApiResult<OperatorRequest> {
    let reason = freeze_reason(reason)?;
    let subject = match (action, username) {
        (OperatorAction::GlobalUnfreeze, _) => None,
        (_, Some(name)) => Some(admin::user_named(db, name).await?),
        (_, None) => return Err(ApiError::invalid("username", "an account is needed")),
    };
    let now = origin.now;
    let row = RequestRow {
        id: Uuid::new_v4(),
        action: action.as_str().into(),
        subject: subject.as_ref().map(|u| u.id),
        reason: reason.into(),
        requested_by: origin.operator.id,
        requested_by_name: origin.operator.name.clone(),
        requested_at: now,
        expires_at: now + millis(config.operators.approval_window),
        status: "pending".into(),
        decided_by: None,
        decided_by_name: None,
        decided_at: None,
    };
    let mut tx = db.begin().await?;
    operator_requests::expire(&mut tx, now).await?;
    if let Some(pending) = operator_requests::pending_for(&mut tx, &row.action, row.subject).await?
    {
        return Err(ApiError::OperatorRequestPending(format!(
            "request {}",
            pending.id
        )));
    }
    // Two operators asking at once on PostgreSQL: the unique index decides.
    if let Err(e) = operator_requests::insert(&mut tx, &row).await {
        return Err(if is_unique_violation(&e, ONE_PENDING) {
            ApiError::OperatorRequestPending("another request".into())
        } else {
            e.into()
        });
    }
    let event = AuditEvent::OperatorRequested {
        request_id: row.id,
        action: row.action.clone(),
        username: subject.as_ref().map(|u| u.username.clone()),
        reason: row.reason.clone(),
        by: origin.operator.by(),
        expires_at: row.expires_at,
    };
    append(&mut tx, origin, None, event).await?;
    tx.commit().await?;
    view(db, row, now).await
}

/// A second operator approves a pending request, which is carried out in
/// the same transaction.
pub async fn approve(
    db: &Db,
    config: &Config,
    origin: &Origin<'_>,
    id: Uuid,
) -> ApiResult<OperatorDecision> {
    let row = open(db, id, origin.now).await?;
    if !origin
        .operator
        .is_other_than(row.requested_by, &row.requested_by_name)
    {
        return Err(ApiError::SameOperator);
    }
    let action = action_of(&row.action)?;
    let mut tx = db.begin().await?;
    let by = (origin.operator.id, origin.operator.name.as_str());
    if !operator_requests::decide(&mut tx, id, "approved", by, origin.now).await? {
        drop(tx);
        return Err(closed(db, id, origin.now).await);
    }
    let approved = AuditEvent::OperatorApproved {
        request_id: id,
        action: row.action.clone(),
        requested_by: format!("service:{}", row.requested_by_name),
        by: origin.operator.by(),
    };
    append(&mut tx, origin, None, approved).await?;
    let recovery = carry_out(&mut tx, config, origin, &row, action).await?;
    tx.commit().await?;
    let request = view(db, reread(db, id).await?, origin.now).await?;
    Ok(OperatorDecision { request, recovery })
}

/// Any operator (the one who asked, too) cancels a pending request.
pub async fn cancel(db: &Db, origin: &Origin<'_>, id: Uuid) -> ApiResult<OperatorDecision> {
    let row = open(db, id, origin.now).await?;
    let mut tx = db.begin().await?;
    let by = (origin.operator.id, origin.operator.name.as_str());
    if !operator_requests::decide(&mut tx, id, "cancelled", by, origin.now).await? {
        drop(tx);
        return Err(closed(db, id, origin.now).await);
    }
    let cancelled = AuditEvent::OperatorCancelled {
        request_id: id,
        action: row.action,
        by: origin.operator.by(),
    };
    append(&mut tx, origin, None, cancelled).await?;
    tx.commit().await?;
    let request = view(db, reread(db, id).await?, origin.now).await?;
    Ok(OperatorDecision {
        request,
        recovery: None,
    })
}

/// One request as the API shows it.
pub async fn get(db: &Db, id: Uuid, now: Millis) -> ApiResult<OperatorRequest> {
    view(db, reread(db, id).await?, now).await
}

/// Pending requests and those of the last seven days, newest first.
pub async fn list(db: &Db, now: Millis) -> ApiResult<Vec<OperatorRequest>> {
    const WEEK: Millis = 7 * 24 * 3_600 * 1_000;
    let mut out = Vec::new();
    for row in operator_requests::recent(db, now - WEEK).await? {
        out.push(view(db, row, now).await?);
    }
    Ok(out)
}

/// Carries out an approved request inside its transaction.
async fn carry_out(
    tx: &mut Tx,
    config: &Config,
    origin: &Origin<'_>,
    row: &RequestRow,
    action: OperatorAction,
) -> ApiResult<Option<AssistedRecovery>> {
    let by = format!(
        "service:{} approved by {}",
        row.requested_by_name,
        origin.operator.by()
    );
    match (action, row.subject) {
        (OperatorAction::GlobalUnfreeze, _) => {
            if withdrawal_controls::set_global_freeze(tx, false, None, origin.now).await? {
                let reason = Some(row.reason.clone());
                let event = AuditEvent::WithdrawalsUnfrozen { reason, by };
                append(tx, origin, None, event).await?;
            }
            Ok(None)
        }
        (OperatorAction::UserUnlock, Some(user_id)) => {
            admin::unlock_in(tx, user_id, &by, origin.now).await?;
            Ok(None)
        }
        (OperatorAction::AssistedRecovery, Some(user_id)) => {
            users::lock(tx, user_id).await?;
            let delay = config.recovery.delay;
            let started =
                recovery::begin(tx, user_id, origin.now, delay, Some(&by), origin.ip).await?;
            Ok(Some(AssistedRecovery {
                token: started.token,
                completes_at: started.completes_at,
            }))
        }
        (_, None) => Err(ApiError::Internal(anyhow::anyhow!(
            "operator request {} names no account",
            row.id
        ))),
    }
}

/// The request, if it can still be decided.
async fn open(db: &Db, id: Uuid, now: Millis) -> ApiResult<RequestRow> {
    let row = reread(db, id).await?;
    if row.status != "pending" || row.expires_at <= now {
        return Err(closed(db, id, now).await);
    }
    Ok(row)
}

async fn reread(db: &Db, id: Uuid) -> ApiResult<RequestRow> {
    operator_requests::get(db, id)
        .await?
        .ok_or(ApiError::NotFound("operator request"))
}

/// Why a request can no longer be decided.
async fn closed(db: &Db, id: Uuid, now: Millis) -> ApiError {
    match get(db, id, now).await {
        Ok(request) => ApiError::OperatorRequestClosed(request.status.as_str()),
        Err(e) => e,
    }
}

/// The request as the API shows it; a pending one past its window shows
/// as expired even before a write marks it so.
async fn view(db: &Db, row: RequestRow, now: Millis) -> ApiResult<OperatorRequest> {
    let username = match row.subject {
        Some(id) => users::by_id(db, id).await?.map(|u| u.username),
        None => None,
    };
    let status = match row.status.parse() {
        Ok(OperatorRequestStatus::Pending) if row.expires_at <= now => {
            OperatorRequestStatus::Expired
        }
        Ok(status) => status,
        Err(_) => OperatorRequestStatus::Expired,
    };
    Ok(OperatorRequest {
        id: row.id,
        action: action_of(&row.action)?,
        username,
        reason: row.reason,
        requested_by: row.requested_by_name,
        requested_at: rfc3339(row.requested_at),
        expires_at: rfc3339(row.expires_at),
        status,
        decided_by: row.decided_by_name,
        decided_at: row.decided_at.map(rfc3339),
    })
}

async fn append(
    tx: &mut Tx,
    origin: &Origin<'_>,
    user_id: Option<Uuid>,
    event: AuditEvent,
) -> ApiResult<()> {
    let event = audit::Event {
        user_id,
        event,
        ip: origin.ip,
    };
    Ok(audit::append(tx, &event, origin.now).await?)
}
