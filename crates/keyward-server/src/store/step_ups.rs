//! Step-ups: requests for key-approved actions and their approvals. Every
//! state change is one conditional UPDATE, so approvals happen once and
//! redemptions happen once, whatever the concurrency.

use sqlx::FromRow;
use uuid::Uuid;

use keyward_api::{PolicyReason, StepUpStatus};

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};

/// Constraint making a service's client reference an idempotency key.
pub const UNIQUE_CLIENT_REFERENCE: &str = "step_ups_client_reference_key";

/// A stored step-up.
#[derive(Debug, Clone, FromRow)]
pub struct StepUpRow {
    /// Id.
    pub id: Uuid,
    /// Whose approval it needs.
    pub user_id: Uuid,
    /// The service that asked (none when the user asked in the browser).
    pub service_key_id: Option<Uuid>,
    /// Action name.
    pub action: String,
    /// Canonical JSON of action and details.
    pub details: String,
    /// SHA-256 of `details`, hex.
    pub digest: String,
    /// Server nonce mixed into the challenge.
    pub nonce: Vec<u8>,
    /// The service's reference (idempotency key).
    pub client_reference: Option<String>,
    /// pending | approved | redeemed | held | denied | refused.
    pub status: String,
    /// Why held, denied or refused.
    pub reason: Option<String>,
    /// Held until.
    pub held_until: Option<Millis>,
    /// Withdrawal asset (for limits).
    pub asset: Option<String>,
    /// Withdrawal amount in base units, decimal text (u128 does not fit BIGINT).
    pub amount_units: Option<String>,
    /// Created.
    pub created_at: Millis,
    /// The user must approve before this.
    pub expires_at: Millis,
    /// Approved at.
    pub approved_at: Option<Millis>,
    /// The approval must be redeemed before this.
    pub approval_expires_at: Option<Millis>,
    /// The key that approved.
    pub credential_key_id: Option<Uuid>,
    /// Whether the approval had user verification.
    pub user_verified: Option<bool>,
    /// The signed assertion (JSON), for offline re-verification.
    pub evidence: Option<String>,
    /// The approval token's `jti`.
    pub token_jti: Option<Uuid>,
    /// The user's key-chain head when approved.
    pub chain_head: Option<String>,
    /// Redeemed at.
    pub redeemed_at: Option<Millis>,
    /// The service that redeemed.
    pub redeemed_by: Option<Uuid>,
    /// The risk signals that fired, with their effects (JSON array).
    pub risk: Option<String>,
}

impl StepUpRow {
    /// The stored status.
    pub fn status(&self) -> StepUpStatus {
        StepUpStatus::parse(&self.status)
    }

    /// Why held, denied or refused.
    pub fn reason(&self) -> Option<PolicyReason> {
        self.reason.as_deref().map(PolicyReason::parse_stored)
    }
}

const COLUMNS: &str = "id, user_id, service_key_id, action, details, digest, nonce, client_reference, status, reason, \
    held_until, asset, amount_units, created_at, expires_at, approved_at, approval_expires_at, credential_key_id, \
    user_verified, evidence, token_jti, chain_head, redeemed_at, redeemed_by, risk";

/// Stores a new step-up (any status).
pub async fn insert(tx: &mut Tx, s: &StepUpRow) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO step_ups (id, user_id, service_key_id, action, details, digest, nonce, client_reference, status, \
         reason, held_until, asset, amount_units, created_at, expires_at, risk) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)";
    on_tx!(tx, c => sqlx::query(sql)
        .bind(s.id).bind(s.user_id).bind(s.service_key_id).bind(&s.action).bind(&s.details).bind(&s.digest)
        .bind(&s.nonce).bind(&s.client_reference).bind(&s.status).bind(&s.reason).bind(s.held_until)
        .bind(&s.asset).bind(&s.amount_units).bind(s.created_at).bind(s.expires_at).bind(&s.risk)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A step-up by id.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<StepUpRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM step_ups WHERE id = $1");
    on_db!(db, c => sqlx::query_as::<_, StepUpRow>(&sql).bind(id).fetch_optional(c).await)
}

/// A step-up by id inside `tx`.
pub async fn get_in(tx: &mut Tx, id: Uuid) -> Result<Option<StepUpRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM step_ups WHERE id = $1");
    on_tx!(tx, c => sqlx::query_as::<_, StepUpRow>(&sql).bind(id).fetch_optional(c).await)
}

/// The step-up a service created for this user with this reference.
pub async fn by_reference(
    db: &Db,
    service_key_id: Uuid,
    user_id: Uuid,
    reference: &str,
) -> Result<Option<StepUpRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM step_ups \
         WHERE service_key_id = $1 AND user_id = $2 AND client_reference = $3"
    );
    on_db!(db, c => sqlx::query_as::<_, StepUpRow>(&sql)
        .bind(service_key_id).bind(user_id).bind(reference).fetch_optional(c).await)
}

/// What an approval records.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Redeem before this.
    pub approval_expires_at: Millis,
    /// The approving key.
    pub credential_key_id: Uuid,
    /// UV flag.
    pub user_verified: bool,
    /// Evidence JSON.
    pub evidence: String,
    /// Token id.
    pub token_jti: Uuid,
    /// The user's key-chain head.
    pub chain_head: Option<String>,
}

/// Marks a pending, unexpired step-up approved. False if it was not pending
/// any more (approved by a concurrent request, or expired).
pub async fn approve(
    tx: &mut Tx,
    id: Uuid,
    now: Millis,
    a: &Approval,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE step_ups SET status = 'approved', approved_at = $1, approval_expires_at = $2, credential_key_id = $3, \
         user_verified = $4, evidence = $5, token_jti = $6, chain_head = $8 \
         WHERE id = $7 AND status = 'pending' AND expires_at > $1")
        .bind(now).bind(a.approval_expires_at).bind(a.credential_key_id).bind(a.user_verified).bind(&a.evidence)
        .bind(a.token_jti).bind(id).bind(&a.chain_head).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Marks a pending step-up declined by its user; false if it was not
/// pending any more.
pub async fn decline(tx: &mut Tx, id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE step_ups SET status = 'declined' WHERE id = $1 AND user_id = $2 AND status = 'pending'")
        .bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Redeems an approved, unexpired step-up in one statement. `None` means it
/// was not redeemable (already redeemed, not approved, or expired).
pub async fn redeem(
    tx: &mut Tx,
    id: Uuid,
    now: Millis,
    service_key_id: Uuid,
) -> Result<Option<StepUpRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE step_ups SET status = 'redeemed', redeemed_at = $1, redeemed_by = $2 \
         WHERE id = $3 AND status = 'approved' AND approval_expires_at > $1 RETURNING {COLUMNS}"
    );
    on_tx!(tx, c => sqlx::query_as::<_, StepUpRow>(&sql).bind(now).bind(service_key_id).bind(id).fetch_optional(c).await)
}

/// Refuses an approved step-up at redeem time (policy said no): it can never
/// be redeemed afterwards, even if the policy relaxes.
pub async fn refuse(tx: &mut Tx, id: Uuid, reason: PolicyReason) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE step_ups SET status = 'refused', reason = $1 WHERE id = $2 AND status = 'approved'")
        .bind(reason.as_str()).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

const REDEEMED_SINCE: &str = "SELECT redeemed_at, amount_units FROM step_ups \
     WHERE user_id = $1 AND action = 'withdrawal' AND asset = $2 \
     AND redeemed_at IS NOT NULL AND redeemed_at > $3 AND amount_units IS NOT NULL";

/// When each of the user's withdrawals of `asset` redeemed since `since`
/// was redeemed, and its amount (base units, decimal text). Inside the
/// transaction that decides a step-up (its user row locked).
pub async fn redeemed_amounts(
    tx: &mut Tx,
    user_id: Uuid,
    asset: &str,
    since: Millis,
) -> Result<Vec<(Millis, String)>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, (Millis, String)>(REDEEMED_SINCE)
        .bind(user_id).bind(asset).bind(since).fetch_all(c).await)
}

/// [`redeemed_amounts`] outside a transaction: for showing the limit, not
/// for deciding (a write transaction would queue behind SQLite's writer).
pub async fn redeemed_amounts_now(
    db: &Db,
    user_id: Uuid,
    asset: &str,
    since: Millis,
) -> Result<Vec<(Millis, String)>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, (Millis, String)>(REDEEMED_SINCE)
        .bind(user_id).bind(asset).bind(since).fetch_all(c).await)
}

/// A recent withdrawal step-up, for the velocity signal.
#[derive(Debug, Clone, FromRow)]
pub struct RecentWithdrawal {
    /// Asset.
    pub asset: Option<String>,
    /// Amount, base units, decimal text.
    pub amount_units: Option<String>,
}

/// The filter both velocity reads share: the user's withdrawal step-ups
/// created after `$2`, other than `$3`, not denied or declined.
const OTHER_LIVE_WITHDRAWALS: &str = "FROM step_ups WHERE user_id = $1 AND action = 'withdrawal' \
     AND created_at > $2 AND id <> $3 AND status NOT IN ('denied', 'declined')";

/// The user's other live withdrawal step-ups created after `since`, newest
/// first, at most `limit` of them, inside the transaction that decides one
/// (its user row locked). Bounded, so a user with thousands of
/// withdrawals costs no more than one with a few.
pub async fn recent_withdrawals(
    tx: &mut Tx,
    user_id: Uuid,
    except: Uuid,
    since: Millis,
    limit: i64,
) -> Result<Vec<RecentWithdrawal>, sqlx::Error> {
    let sql = format!(
        "SELECT asset, amount_units {OTHER_LIVE_WITHDRAWALS} ORDER BY created_at DESC LIMIT $4"
    );
    on_tx!(tx, c => sqlx::query_as::<_, RecentWithdrawal>(&sql)
        .bind(user_id).bind(since).bind(except).bind(limit).fetch_all(c).await)
}

/// How many of the user's other live withdrawal step-ups were created
/// after `since`, counted up to `limit`.
pub async fn count_withdrawals(
    tx: &mut Tx,
    user_id: Uuid,
    except: Uuid,
    since: Millis,
    limit: i64,
) -> Result<i64, sqlx::Error> {
    let sql =
        format!("SELECT COUNT(*) FROM (SELECT 1 {OTHER_LIVE_WITHDRAWALS} LIMIT $4) AS recent");
    on_tx!(tx, c => sqlx::query_scalar::<_, i64>(&sql)
        .bind(user_id).bind(since).bind(except).bind(limit).fetch_one(c).await)
}

/// Records the risk reasons of a step-up (JSON array).
pub async fn set_risk(tx: &mut Tx, id: Uuid, risk: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE step_ups SET risk = $1 WHERE id = $2")
        .bind(risk).bind(id).execute(c).await.map(|_| ()))
}

/// Stops a pending step-up at approval because a risk signal holds or
/// denies it: `held` (until `held_until`) or `denied`, with the reason and
/// the risk reasons. False if it was not pending any more.
pub async fn stop_pending(
    tx: &mut Tx,
    id: Uuid,
    status: StepUpStatus,
    reason: PolicyReason,
    held_until: Option<Millis>,
    risk: &str,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE step_ups SET status = $1, reason = $2, held_until = $3, risk = $4 \
         WHERE id = $5 AND status = 'pending'")
        .bind(status.as_str()).bind(reason.as_str()).bind(held_until).bind(risk).bind(id)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
