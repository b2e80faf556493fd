//! Which audit events the exchange is told about, and as what. The audit
//! log is the outbox: every change appends its entry in the change's own
//! transaction, so an event is never lost nor told about a change that
//! rolled back. Every audit event is a security event except the few
//! below that say nothing an exchange acts on; each goes out under
//! Keyward's own type, with a CAEP or RISC type beside it where one fits.

use keyward_api::events::{
    CAEP_CREDENTIAL_CHANGE, CAEP_RISK_LEVEL_CHANGE, CAEP_SESSION_REVOKED, KEYWARD_EVENT,
    RISC_ACCOUNT_DISABLED, RISC_ACCOUNT_ENABLED,
};
use serde_json::{Map, Value, json};

/// Audit events that are not sent: bulk loads, routine re-authentication,
/// metadata refreshes.
const NOT_SENT: [&str; 3] = ["accounts.imported", "reauth.succeeded", "metadata.imported"];

/// The `events` claim of the Security Event Token for audit event `name`
/// with `detail`; `None` if it is not sent.
pub fn events_of(name: &str, detail: &Value) -> Option<Map<String, Value>> {
    if NOT_SENT.contains(&name) {
        return None;
    }
    let mut events = Map::new();
    events.insert(format!("{KEYWARD_EVENT}{name}"), detail.clone());
    if let Some((uri, payload)) = standard(name, detail) {
        events.insert(uri.to_owned(), payload);
    }
    Some(events)
}

/// The CAEP or RISC event that fits, if one does.
fn standard(name: &str, detail: &Value) -> Option<(&'static str, Value)> {
    let label = detail.get("label").cloned().unwrap_or(Value::Null);
    Some(match name {
        "key.enrolled" => (
            CAEP_CREDENTIAL_CHANGE,
            json!({ "credential_type": "fido2-roaming", "change_type": "create", "friendly_name": label }),
        ),
        "key.removed" => (
            CAEP_CREDENTIAL_CHANGE,
            json!({ "credential_type": "fido2-roaming", "change_type": "delete", "friendly_name": label }),
        ),
        "password.changed" => (
            CAEP_CREDENTIAL_CHANGE,
            json!({ "credential_type": "password", "change_type": "update" }),
        ),
        "session.ended" => (
            CAEP_SESSION_REVOKED,
            json!({ "reason_admin": { "en": detail.get("reason").cloned().unwrap_or(Value::Null) } }),
        ),
        "account.locked" => (RISC_ACCOUNT_DISABLED, json!({})),
        "risk.decided" => (CAEP_RISK_LEVEL_CHANGE, risk_level(detail)),
        "account.unlocked" => (RISC_ACCOUNT_ENABLED, json!({})),
        _ => return None,
    })
}

/// The CAEP risk-level change of a risk decision: `high` when it held or
/// denied, `medium` when it only noted; the reason names the signals.
fn risk_level(detail: &Value) -> Value {
    let level = match detail.get("outcome").and_then(Value::as_str) {
        Some("held" | "denied") => "high",
        _ => "medium",
    };
    let signals: Vec<&str> = detail
        .get("reasons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("signal").and_then(Value::as_str))
        .collect();
    json!({ "principal": "USER", "current_level": level, "risk_reason": signals.join(",") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_added_is_a_caep_credential_change_too() {
        let events = events_of("key.enrolled", &json!({ "label": "Desk key" })).unwrap();
        assert_eq!(
            events[&format!("{KEYWARD_EVENT}key.enrolled")],
            json!({ "label": "Desk key" })
        );
        assert_eq!(events[CAEP_CREDENTIAL_CHANGE]["change_type"], "create");
        assert_eq!(events[CAEP_CREDENTIAL_CHANGE]["friendly_name"], "Desk key");
        let started = events_of("recovery.started", &json!({})).unwrap();
        assert_eq!(started.len(), 1, "Keyward's own type only");
        assert_eq!(events_of("reauth.succeeded", &json!({})), None);
        let risk = json!({ "outcome": "held", "reasons": [{ "signal": "new_country" }, { "signal": "impossible_travel" }] });
        let events = events_of("risk.decided", &risk).unwrap();
        assert_eq!(
            events[CAEP_RISK_LEVEL_CHANGE],
            json!({ "principal": "USER", "current_level": "high", "risk_reason": "new_country,impossible_travel" })
        );
    }
}
