//! What the audit log records: one variant per event, with the fields its
//! entry carries. The wire form is the event name (`event`) and the fields
//! as a JSON object (`detail`), which is what `store::audit` chains and the
//! activity page reads. Never a secret in a field.

use keyward_api::{PolicyReason, StepUpStatus};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::Millis;

/// An audit event.
#[derive(Debug, Clone, PartialEq, Serialize, strum::IntoStaticStr)]
#[serde(tag = "event", content = "detail")]
pub enum AuditEvent {
    /// A sign-up.
    #[serde(rename = "account.created")]
    #[strum(serialize = "account.created")]
    AccountCreated { username: String },
    /// The user froze their account.
    #[serde(rename = "account.frozen")]
    #[strum(serialize = "account.frozen")]
    AccountFrozen {},
    /// The user lifted their freeze; withdrawals are held until `hold_until`.
    #[serde(rename = "account.unfrozen")]
    #[strum(serialize = "account.unfrozen")]
    AccountUnfrozen { hold_until: Millis },
    /// Too many failures locked a scope, or the operator locked the account.
    #[serde(rename = "account.locked")]
    #[strum(serialize = "account.locked")]
    AccountLocked(Locked),
    /// The operator unlocked the account.
    #[serde(rename = "account.unlocked")]
    #[strum(serialize = "account.unlocked")]
    AccountUnlocked {
        by: String,
        lock_lifted: bool,
        throttles_cleared: u64,
    },
    /// `keyward import` loaded accounts.
    #[serde(rename = "accounts.imported")]
    #[strum(serialize = "accounts.imported")]
    AccountsImported {
        accounts: u64,
        keys: u64,
        by: String,
    },
    /// A wrong password.
    #[serde(rename = "signin.password_failed")]
    #[strum(serialize = "signin.password_failed")]
    SignInPasswordFailed { username: String },
    /// Signed in: `method` is `password_and_key`, `passkey` or
    /// `passkey_and_password`.
    #[serde(rename = "signin.succeeded")]
    #[strum(serialize = "signin.succeeded")]
    SignInSucceeded {
        key_id: Uuid,
        login_id: Uuid,
        user_verified: bool,
        method: String,
    },
    /// A session ended (`reason`: signed_out, idle_timeout, key_removed, …).
    #[serde(rename = "session.ended")]
    #[strum(serialize = "session.ended")]
    SessionEnded { login_id: Uuid, reason: String },
    /// A password change with a wrong current password.
    #[serde(rename = "password.change_refused")]
    #[strum(serialize = "password.change_refused")]
    PasswordChangeRefused {},
    /// The password changed.
    #[serde(rename = "password.changed")]
    #[strum(serialize = "password.changed")]
    PasswordChanged {
        sessions_ended: u64,
        api_keys_revoked: u64,
    },
    /// A new set of recovery codes replaced any earlier one.
    #[serde(rename = "recovery_codes.created")]
    #[strum(serialize = "recovery_codes.created")]
    RecoveryCodesCreated { count: u64 },
    /// A recovery was started with the password and a recovery code; it
    /// completes at `completes_at` (ms) unless a key cancels it.
    #[serde(rename = "recovery.started")]
    #[strum(serialize = "recovery.started")]
    RecoveryStarted {
        recovery_id: Uuid,
        completes_at: Millis,
        /// The two operators of an operator-assisted recovery.
        #[serde(skip_serializing_if = "Option::is_none")]
        assisted_by: Option<String>,
    },
    /// A recovery start was refused (right password, wrong or used code).
    #[serde(rename = "recovery.refused")]
    #[strum(serialize = "recovery.refused")]
    RecoveryRefused { reason: String },
    /// One of the account's keys cancelled a recovery.
    #[serde(rename = "recovery.cancelled")]
    #[strum(serialize = "recovery.cancelled")]
    RecoveryCancelled { recovery_id: Uuid },
    /// A recovery completed: every key, session and API key is gone and
    /// withdrawals are held; the account enrols a new first key.
    #[serde(rename = "recovery.completed")]
    #[strum(serialize = "recovery.completed")]
    RecoveryCompleted {
        recovery_id: Uuid,
        keys_removed: u64,
        sessions_ended: u64,
        api_keys_revoked: u64,
    },
    /// A fresh key assertion for sensitive changes.
    #[serde(rename = "reauth.succeeded")]
    #[strum(serialize = "reauth.succeeded")]
    ReauthSucceeded { key_id: Uuid },
    /// The anti-phishing phrase changed (never the phrase itself).
    #[serde(rename = "settings.phrase_changed")]
    #[strum(serialize = "settings.phrase_changed")]
    PhraseChanged {},
    /// A key was enrolled.
    #[serde(rename = "key.enrolled")]
    #[strum(serialize = "key.enrolled")]
    KeyEnrolled {
        key_id: Uuid,
        label: String,
        aaguid: Option<Uuid>,
        attestation_format: String,
        credential_id: String,
    },
    /// A key's attestation was refused.
    #[serde(rename = "key.enrolment_refused")]
    #[strum(serialize = "key.enrolment_refused")]
    KeyEnrolmentRefused { reason: String },
    /// A key's assertion was refused.
    #[serde(rename = "key.assertion_refused")]
    #[strum(serialize = "key.assertion_refused")]
    KeyAssertionRefused { reason: String },
    /// A key's counter went backwards: flagged as possibly cloned.
    #[serde(rename = "key.possibly_cloned")]
    #[strum(serialize = "key.possibly_cloned")]
    KeyPossiblyCloned {
        key_id: Option<Uuid>,
        credential_id: String,
    },
    /// FIDO metadata marked the key's model compromised: it approves
    /// nothing until metadata clears it (`status` is the metadata status).
    #[serde(rename = "key.suspended")]
    #[strum(serialize = "key.suspended")]
    KeySuspended {
        key_id: Uuid,
        aaguid: Uuid,
        status: String,
        metadata_no: u64,
    },
    /// A later metadata BLOB no longer marks the key's model compromised.
    #[serde(rename = "key.suspension_lifted")]
    #[strum(serialize = "key.suspension_lifted")]
    KeySuspensionLifted {
        key_id: Uuid,
        aaguid: Uuid,
        metadata_no: u64,
    },
    /// A FIDO metadata BLOB was verified and put in use.
    #[serde(rename = "metadata.imported")]
    #[strum(serialize = "metadata.imported")]
    MetadataImported {
        no: u64,
        next_update: String,
        models: u64,
        compromised_models: u64,
        by: String,
    },
    /// The user confirmed a flagged key.
    #[serde(rename = "key.confirmed")]
    #[strum(serialize = "key.confirmed")]
    KeyConfirmed { key_id: Uuid },
    /// A key was renamed.
    #[serde(rename = "key.renamed")]
    #[strum(serialize = "key.renamed")]
    KeyRenamed { key_id: Uuid, label: String },
    /// A key was removed.
    #[serde(rename = "key.removed")]
    #[strum(serialize = "key.removed")]
    KeyRemoved {
        key_id: Uuid,
        label: String,
        sessions_ended: u64,
    },
    /// The user asked for a security lock of `days` (from `before`): in
    /// force at once, or from `from` (a shortening waits).
    #[serde(rename = "security_lock.set")]
    #[strum(serialize = "security_lock.set")]
    SecurityLockSet {
        days: u32,
        before: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<Millis>,
    },
    /// A waiting shortening of the lock was cancelled with a key.
    #[serde(rename = "security_lock.cancelled")]
    #[strum(serialize = "security_lock.cancelled")]
    SecurityLockCancelled { days: u32 },
    /// The security lock delays a key's removal until `removable_from`.
    #[serde(rename = "key.removal_scheduled")]
    #[strum(serialize = "key.removal_scheduled")]
    KeyRemovalScheduled {
        key_id: Uuid,
        label: String,
        removable_from: Millis,
    },
    /// A scheduled key removal was cancelled with a key.
    #[serde(rename = "key.removal_cancelled")]
    #[strum(serialize = "key.removal_cancelled")]
    KeyRemovalCancelled { key_id: Uuid },
    /// A step-up was asked for and is waiting for the key.
    #[serde(rename = "stepup.pending")]
    #[strum(serialize = "stepup.pending")]
    StepUpPending(StepUpDecided),
    /// A step-up was asked for and held.
    #[serde(rename = "stepup.held")]
    #[strum(serialize = "stepup.held")]
    StepUpHeld(StepUpDecided),
    /// A step-up was asked for and denied.
    #[serde(rename = "stepup.denied")]
    #[strum(serialize = "stepup.denied")]
    StepUpDenied(StepUpDecided),
    /// The user approved a step-up with a key.
    #[serde(rename = "stepup.approved")]
    #[strum(serialize = "stepup.approved")]
    StepUpApproved {
        step_up_id: Uuid,
        action: String,
        key_id: Uuid,
        user_verified: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        what: Option<String>,
    },
    /// The user declined a step-up on the confirmation page.
    #[serde(rename = "stepup.declined")]
    #[strum(serialize = "stepup.declined")]
    StepUpDeclined {
        step_up_id: Uuid,
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        what: Option<String>,
    },
    /// The creating service redeemed an approval.
    #[serde(rename = "stepup.redeemed")]
    #[strum(serialize = "stepup.redeemed")]
    StepUpRedeemed {
        step_up_id: Uuid,
        action: String,
        digest: String,
        service_key_id: Uuid,
        #[serde(skip_serializing_if = "Option::is_none")]
        what: Option<String>,
    },
    /// The policy refused an approval at redeem.
    #[serde(rename = "stepup.redeem_refused")]
    #[strum(serialize = "stepup.redeem_refused")]
    StepUpRedeemRefused {
        step_up_id: Uuid,
        reason: PolicyReason,
    },
    /// An allow-list address was approved (usable after the cooling-off).
    #[serde(rename = "address.added")]
    #[strum(serialize = "address.added")]
    AddressAdded {
        address_id: Uuid,
        network: String,
        address: String,
        usable_from: Millis,
    },
    /// An allow-list address was removed.
    #[serde(rename = "address.removed")]
    #[strum(serialize = "address.removed")]
    AddressRemoved {
        address_id: Uuid,
        network: String,
        address: String,
        label: String,
    },
    /// The operator froze all withdrawals.
    #[serde(rename = "withdrawals.frozen")]
    #[strum(serialize = "withdrawals.frozen")]
    WithdrawalsFrozen { reason: Option<String>, by: String },
    /// An operator had a webhook endpoint sent the events after `after`
    /// again.
    #[serde(rename = "events.replayed")]
    #[strum(serialize = "events.replayed")]
    EventsReplayed {
        endpoint: String,
        after: i64,
        by: String,
    },
    /// An operator asked for an action that needs a second operator.
    #[serde(rename = "operator.requested")]
    #[strum(serialize = "operator.requested")]
    OperatorRequested {
        request_id: Uuid,
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        reason: String,
        by: String,
        expires_at: Millis,
    },
    /// A second operator approved a request; it was carried out.
    #[serde(rename = "operator.approved")]
    #[strum(serialize = "operator.approved")]
    OperatorApproved {
        request_id: Uuid,
        action: String,
        requested_by: String,
        by: String,
    },
    /// An operator cancelled a request.
    #[serde(rename = "operator.cancelled")]
    #[strum(serialize = "operator.cancelled")]
    OperatorCancelled {
        request_id: Uuid,
        action: String,
        by: String,
    },
    /// The operator lifted the freeze.
    #[serde(rename = "withdrawals.unfrozen")]
    #[strum(serialize = "withdrawals.unfrozen")]
    WithdrawalsUnfrozen { reason: Option<String>, by: String },
    /// A user API key was created.
    #[serde(rename = "api_key.created")]
    #[strum(serialize = "api_key.created")]
    ApiKeyCreated {
        key_id: Uuid,
        label: String,
        prefix: String,
        scopes: Vec<String>,
        ip_allowlist: Vec<String>,
        expires_at: Option<Millis>,
        step_up_id: Uuid,
    },
    /// User API keys were revoked.
    #[serde(rename = "api_key.revoked")]
    #[strum(serialize = "api_key.revoked")]
    ApiKeyRevoked(Revoked),
    /// A withdraw-scoped key was used (every use is recorded).
    #[serde(rename = "api_key.used_for_withdrawal")]
    #[strum(serialize = "api_key.used_for_withdrawal")]
    ApiKeyUsedForWithdrawal(KeyUse),
    /// A key was presented from an address off its allow-list.
    #[serde(rename = "api_key.refused_ip")]
    #[strum(serialize = "api_key.refused_ip")]
    ApiKeyRefusedIp(KeyUse),
    /// An expired key was presented.
    #[serde(rename = "api_key.expired")]
    #[strum(serialize = "api_key.expired")]
    ApiKeyExpired(KeyUse),
    /// The operator created a service key.
    #[serde(rename = "service_key.created")]
    #[strum(serialize = "service_key.created")]
    ServiceKeyCreated {
        id: Uuid,
        name: String,
        prefix: String,
        scopes: String,
        by: String,
    },
    /// The operator revoked a service key.
    #[serde(rename = "service_key.revoked")]
    #[strum(serialize = "service_key.revoked")]
    ServiceKeyRevoked { id: Uuid, by: String },
    /// Risk signals fired at a sign-in or a step-up, with what they did.
    #[serde(rename = "risk.decided")]
    #[strum(serialize = "risk.decided")]
    RiskDecided(RiskDecided),
    /// The operator rotated the approval-token signing key.
    #[serde(rename = "signing_key.rotated")]
    #[strum(serialize = "signing_key.rotated")]
    SigningKeyRotated { kid: String, by: String },
}

/// Who locked an account, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Locked {
    /// Too many failed attempts on a scope, refused for `minutes`.
    Throttle {
        failures: i64,
        scope: String,
        minutes: u64,
    },
    /// The operator (`keyward user lock`).
    Operator { by: String, sessions_ended: u64 },
}

/// What was revoked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Revoked {
    /// One key.
    One {
        key_id: Uuid,
        prefix: String,
        label: String,
    },
    /// All of the user's keys.
    All { all: bool, count: u64 },
}

/// A step-up as decided when it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepUpDecided {
    pub step_up_id: Uuid,
    pub action: String,
    pub digest: String,
    pub status: StepUpStatus,
    pub reason: Option<PolicyReason>,
    /// What it is about, in plain words (`details::summary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// What the risk signals decided, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskDecided {
    /// `sign_in`, `step_up.created`, `step_up.approved` or `step_up.redeemed`.
    pub stage: &'static str,
    /// The step-up, for the step-up stages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up_id: Option<Uuid>,
    /// `allowed`, `held` or `denied`.
    pub outcome: &'static str,
    /// For `held`: until when withdrawals (or this step-up) are held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<Millis>,
    /// Each signal that fired, with its effect and facts.
    pub reasons: Vec<keyward_api::risk::RiskReason>,
}

/// A use of a user API key, as the gateway reported it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyUse {
    pub key_id: Uuid,
    pub prefix: String,
    pub client_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl AuditEvent {
    /// The event name, e.g. `signin.succeeded`.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// The step-up event for a fresh decision (`stepup.pending`, `.held`
    /// or `.denied`).
    pub fn step_up_decided(d: StepUpDecided) -> Self {
        match d.status {
            StepUpStatus::Held => Self::StepUpHeld(d),
            StepUpStatus::Denied => Self::StepUpDenied(d),
            _ => Self::StepUpPending(d),
        }
    }

    /// The entry's `detail`: the fields as a JSON object.
    pub fn detail(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .ok()
            .and_then(|mut v| v.get_mut("detail").map(serde_json::Value::take))
            .unwrap_or_else(|| serde_json::json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_and_detail_are_the_wire_form() {
        let e = AuditEvent::KeyRenamed {
            key_id: Uuid::nil(),
            label: "spare".into(),
        };
        assert_eq!(e.name(), "key.renamed");
        assert_eq!(
            e.detail(),
            serde_json::json!({ "key_id": Uuid::nil(), "label": "spare" })
        );
        assert_eq!(AuditEvent::PhraseChanged {}.detail(), serde_json::json!({}));
    }
}
