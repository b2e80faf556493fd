//! Approving a step-up: assertion options whose challenge commits to the
//! step-up's details, then verification, evidence, the signed approval
//! token, and (for `address.add`) the allow-list entry — one transaction.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_access::approval::ApprovalClaims;
use keyward_api::step_ups::{Approved, StepUpOptions};
use keyward_api::{PolicyReason, StepUpStatus};
use keyward_fido::step_up_challenge;
use serde_json::Value;
use uuid::Uuid;

use crate::caller::Client;
use crate::clock::rfc3339;
use crate::domain::audit::{AuditEvent, RiskDecided};
use crate::domain::details::{Action, Details};
use crate::domain::policy::{self, Decision};
use crate::domain::risk::Verdict;
use crate::error::{ApiError, ApiResult};
use crate::flows::assertion::{self, Bound};
use crate::flows::risk;
use crate::flows::step_ups::{self as step_up_flow, Party, action_of};
use crate::signing;
use crate::state::AppState;
use crate::store::step_ups::{self, StepUpRow};
use crate::store::withdrawal_controls::{self, AddressRow};
use crate::store::{audit, users};

/// The challenge a step-up's assertion must sign: SHA-256(tag ‖ nonce ‖ digest).
pub fn challenge_of(row: &StepUpRow) -> ApiResult<[u8; 32]> {
    let corrupt =
        || ApiError::Internal(anyhow::anyhow!("stored step-up nonce or digest malformed"));
    let nonce: [u8; 32] = row.nonce.as_slice().try_into().map_err(|_| corrupt())?;
    let digest: [u8; 32] = hex::decode(&row.digest)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or_else(corrupt)?;
    Ok(step_up_challenge(&nonce, &digest))
}

/// Assertion options for a pending step-up, plus the step-up itself so the
/// page can show exactly what is being approved.
pub async fn options(app: &AppState, id: Uuid, party: Party) -> ApiResult<StepUpOptions> {
    let row = step_up_flow::pending(app, id, party).await?;
    let action = action_of(&row)?;
    let keys = assertion::user_keys(app, row.user_id).await?;
    let uv = risk::approval_uv(app, &row, app.config.uv_for(action), &keys);
    let bound = Bound::step_up(row.id, action);
    let challenge = challenge_of(&row)?;
    let options = assertion::start_bound(app, row.user_id, &keys, bound, uv, challenge).await?;
    Ok(StepUpOptions {
        ceremony: options.ceremony,
        public_key: options.public_key,
        step_up: step_up_flow::view(app, &row),
    })
}

/// Verifies the assertion for a step-up and approves it.
pub async fn approve(
    app: &AppState,
    id: Uuid,
    party: Party,
    ceremony: Uuid,
    credential: Value,
    client: &Client,
    sender: assertion::Sender<'_>,
) -> ApiResult<Approved> {
    let row = step_up_flow::pending(app, id, party).await?;
    let action = action_of(&row)?;
    // Before the assertion opens its transaction: no pool reads while it is
    // held (fail closed: no key, nothing approved).
    let signer = signing::active(app).await?;
    // The chain the evidence carries: the user's as it stands now (an
    // exchange follows it from its pin and finds the approving key in it).
    let all = crate::store::key_chain::all(&app.db, row.user_id).await?;
    let key_chain = crate::flows::key_chain::current(&all).to_vec();
    let chain_head = key_chain.last().map(|e| e.hash.clone());
    let bound = Bound::step_up(id, action);
    // What the options asked for (Keyward enforces it itself, see
    // `Fido::finish_authentication`); the answering key's own age is
    // judged just below, once it is known.
    let keys = assertion::user_keys(app, row.user_id).await?;
    let uv = risk::approval_uv(app, &row, app.config.uv_for(action), &keys);
    let mut done = assertion::finish(
        app,
        row.user_id,
        client,
        sender,
        bound,
        ceremony,
        credential,
        uv,
        keys,
    )
    .await?;
    let now = app.clock.now();
    let verdict = risk::at_approval(app, action, done.credential.created_at, now);
    if verdict.require_uv && !done.user_verified {
        return Err(ApiError::CeremonyRefused {
            reason: "user_verification_required",
        });
    }
    if let Some(refusal) = refuse_by_risk(&mut done.tx, &row, &verdict, &client.ip, now).await? {
        done.tx.commit().await?;
        return Err(refusal);
    }
    let evidence = keyward_fido::capture(&done.response, &done.key)?;
    let evidence = serde_json::to_string(&evidence).map_err(|e| ApiError::Internal(e.into()))?;
    let ttl = crate::clock::millis(app.config.withdrawals.approval_ttl);
    let approval = step_ups::Approval {
        approval_expires_at: now + ttl,
        credential_key_id: done.credential.id,
        user_verified: done.user_verified,
        evidence,
        token_jti: Uuid::new_v4(),
        chain_head: chain_head.clone(),
    };
    let claims = ApprovalClaims {
        step_up_id: id,
        sub: row.user_id.to_string(),
        action: row.action.clone(),
        details_digest: row.digest.clone(),
        credential_id: URL_SAFE_NO_PAD.encode(&done.credential.credential_id),
        aaguid: done.credential.aaguid,
        uv: done.user_verified,
        iat: now / 1000,
        exp: approval.approval_expires_at / 1000,
        jti: approval.token_jti,
        iss: app.config.issuer(),
        aud: "keyward-step-up".into(),
        chain_head,
    };
    // Sign before committing: if signing is unavailable nothing is approved.
    let token = signing::sign_with(&signer, &claims)?;
    if !step_ups::approve(&mut done.tx, id, now, &approval).await? {
        return Err(ApiError::StepUpNotPending(
            "approved or expired meanwhile".into(),
        ));
    }
    if action == Action::AddressAdd {
        add_address(app, &mut done.tx, &row, &client.ip).await?;
    }
    let mut events = Vec::with_capacity(2);
    if !verdict.reasons.is_empty() {
        let stored = risk::stored_with(&row, &verdict);
        step_ups::set_risk(&mut done.tx, id, &stored).await?;
        let decided = RiskDecided {
            stage: "step_up.approved",
            step_up_id: Some(id),
            outcome: "allowed",
            held_until: None,
            reasons: verdict.reasons,
        };
        events.extend(risk::notice(
            row.user_id,
            decided,
            &client.ip,
            verdict.notify,
        ));
    }
    events.push(audit::Event {
        user_id: Some(row.user_id),
        event: AuditEvent::StepUpApproved {
            step_up_id: id,
            action: row.action.clone(),
            key_id: done.credential.id,
            user_verified: done.user_verified,
            what: crate::domain::details::summary(&row.details),
        },
        ip: Some(&client.ip),
    });
    audit::append_all(&mut done.tx, &events, now).await?;
    done.tx.commit().await?;
    crate::metrics::step_up(&row.action, "approved");
    let evidence = step_up_flow::evidence_from(&row, &approval.evidence, key_chain)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("evidence does not read back")))?;
    Ok(Approved {
        id,
        status: StepUpStatus::Approved,
        approval: token,
        approval_expires_at: rfc3339(approval.approval_expires_at),
        evidence,
    })
}

/// Stops the step-up when the approving key's signals hold or deny it:
/// it becomes `held` or `denied` with the signal as its reason, recorded
/// and told. The refusal to return, if it was stopped.
async fn refuse_by_risk(
    tx: &mut crate::db::Tx,
    row: &StepUpRow,
    verdict: &Verdict,
    ip: &str,
    now: crate::clock::Millis,
) -> ApiResult<Option<ApiError>> {
    let decision = policy::tighten(Decision::Allow, verdict, now);
    let (status, reason, held_until) = match decision {
        Decision::Allow => return Ok(None),
        Decision::Held { until, reason } => (StepUpStatus::Held, reason, Some(until)),
        Decision::Denied { reason } => (StepUpStatus::Denied, reason, None),
    };
    let stored = risk::stored_with(row, verdict);
    if !step_ups::stop_pending(tx, row.id, status, reason, held_until, &stored).await? {
        return Ok(Some(ApiError::StepUpNotPending(
            "approved or expired meanwhile".into(),
        )));
    }
    let decided = RiskDecided {
        stage: "step_up.approved",
        step_up_id: Some(row.id),
        outcome: status.as_str(),
        held_until,
        reasons: verdict.reasons.clone(),
    };
    risk::record(tx, row.user_id, decided, ip, now, true).await?;
    crate::metrics::step_up(&row.action, status.as_str());
    Ok(Some(ApiError::PolicyRefused { reason }))
}

/// Lists the approved address, usable after the cooling-off.
async fn add_address(
    app: &AppState,
    tx: &mut crate::db::Tx,
    row: &StepUpRow,
    ip: &str,
) -> ApiResult<()> {
    let c = step_up_flow::recanonicalise(app, row)?;
    let Details::AddressAdd(a) = c.details else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "address.add without address details"
        )));
    };
    let now = app.clock.now();
    let cooling = crate::clock::millis(app.config.withdrawals.address_cooling);
    // The row lock orders this with the user's redeems and freezes; a hold
    // in force (after a security change) delays the cooling-off's start:
    // whoever just took the account cannot add an address and wait out
    // the cooling-off inside the hold.
    let policy = users::lock_with_policy(tx, row.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if policy.stopped() {
        return Err(ApiError::PolicyRefused {
            reason: PolicyReason::AccountFrozen,
        });
    }
    if withdrawal_controls::global_freeze(tx).await?.is_some() {
        return Err(ApiError::PolicyRefused {
            reason: PolicyReason::WithdrawalsFrozen,
        });
    }
    let starts = policy.hold_until.map_or(now, |hold| hold.max(now));
    let entry = AddressRow {
        id: Uuid::new_v4(),
        user_id: row.user_id,
        network: a.network,
        address: a.address,
        memo: a.memo,
        label: a.label,
        created_at: now,
        // A new address loosens: usable after the cooling-off, or the
        // user's security lock if that ends later.
        usable_from: (starts + cooling).max(policy.security_lock().loosening_from(now)),
    };
    let stored = withdrawal_controls::add_address(tx, &entry).await?;
    let event = audit::Event {
        user_id: Some(row.user_id),
        event: AuditEvent::AddressAdded {
            address_id: stored.id,
            network: stored.network,
            address: stored.address,
            usable_from: stored.usable_from,
        },
        ip: Some(ip),
    };
    audit::append(tx, &event, now).await?;
    Ok(())
}
