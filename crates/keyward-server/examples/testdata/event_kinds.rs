//! The audit events the event vectors are made of: real kinds Keyward
//! sends (step-ups approved, declined, held, pending and redeemed, a risk
//! decision, a key enrolled and removed, a lock, an operator's freeze), with
//! the fields the server records for them.

use keyward_api::risk::{RiskEffect, RiskReason, RiskSignal};
use keyward_api::{PolicyReason, StepUpStatus};
use keyward_server::domain::audit::{AuditEvent, Locked, RiskDecided, StepUpDecided};
use uuid::Uuid;

use crate::events::NOW;
use crate::fixture::{alice, b64, fixed};

pub fn step_up() -> Uuid {
    Uuid::from_u128(0x0194_f2a1_7c00_7000_8000_0000_0000_1042)
}
pub fn key_id() -> Uuid {
    Uuid::from_u128(0x0194_f2a1_7c00_7000_8000_0000_0000_0b0b)
}

pub fn events() -> Vec<(&'static str, Option<Uuid>, AuditEvent)> {
    let what = Some("0.25 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh".to_owned());
    let decided = |status, reason| StepUpDecided {
        step_up_id: step_up(),
        action: "withdrawal".into(),
        digest: hex::encode(fixed("details digest")),
        status,
        reason,
        what: what.clone(),
    };
    let user = Some(alice());
    vec![
        (
            "ok/step-up-approved",
            user,
            AuditEvent::StepUpApproved {
                step_up_id: step_up(),
                action: "withdrawal".into(),
                key_id: key_id(),
                user_verified: true,
                what: what.clone(),
            },
        ),
        (
            "ok/step-up-declined",
            user,
            AuditEvent::StepUpDeclined {
                step_up_id: step_up(),
                action: "withdrawal".into(),
                what: what.clone(),
            },
        ),
        (
            "ok/step-up-held",
            user,
            AuditEvent::step_up_decided(decided(StepUpStatus::Held, Some(PolicyReason::KeyAdded))),
        ),
        (
            "ok/step-up-pending",
            user,
            AuditEvent::step_up_decided(decided(StepUpStatus::Pending, None)),
        ),
        (
            "ok/step-up-redeemed",
            user,
            AuditEvent::StepUpRedeemed {
                step_up_id: step_up(),
                action: "withdrawal".into(),
                digest: hex::encode(fixed("details digest")),
                service_key_id: Uuid::from_u128(0x5e),
                what,
            },
        ),
        (
            "ok/risk-level-change",
            user,
            AuditEvent::RiskDecided(RiskDecided {
                stage: "step_up.created",
                step_up_id: Some(step_up()),
                outcome: "held",
                held_until: Some(NOW + 86_400_000),
                reasons: vec![
                    RiskReason {
                        signal: RiskSignal::NewCountry,
                        effect: RiskEffect::Hold,
                        hold_hours: Some(24),
                        detail: Some("DE".into()),
                    },
                    RiskReason {
                        signal: RiskSignal::WithdrawalVelocity,
                        effect: RiskEffect::Notify,
                        hold_hours: None,
                        detail: Some("6 in an hour".into()),
                    },
                ],
            }),
        ),
        (
            "ok/key-enrolled",
            user,
            AuditEvent::KeyEnrolled {
                key_id: key_id(),
                label: "Clé de secours 🔑".into(),
                aaguid: Some(Uuid::from_u128(0xcb69_481e_8ff7_4039_93ec_0a27_29a1_54a8)),
                attestation_format: "packed".into(),
                credential_id: b64(&fixed("credential 2")),
            },
        ),
        (
            "ok/key-removed",
            user,
            AuditEvent::KeyRemoved {
                key_id: key_id(),
                label: "YubiKey 5C".into(),
                sessions_ended: 1,
            },
        ),
        (
            "ok/account-locked",
            user,
            AuditEvent::AccountLocked(Locked::Operator {
                by: "ops-anna".into(),
                sessions_ended: 2,
            }),
        ),
        (
            "ok/withdrawals-frozen-no-user",
            None,
            AuditEvent::WithdrawalsFrozen {
                reason: Some("incident 7".into()),
                by: "ops-anna".into(),
            },
        ),
    ]
}
