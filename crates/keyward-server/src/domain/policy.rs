//! Withdrawal policy: pure decisions over loaded state and `now`, evaluated
//! when a step-up is created and again when it is redeemed. The checks run
//! from the broadest stop (operator freeze) to the narrowest (daily limit),
//! and each can only take permission away: adding a freeze or hold never
//! turns a refusal into an approval.

use keyward_api::PolicyReason;

use crate::clock::Millis;
use crate::domain::details::Action;
use crate::domain::risk::Verdict;

/// Account-wide state that bears on every action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    /// The operator's emergency freeze, with its reason.
    pub global_freeze: Option<String>,
    /// The user froze their own account.
    pub user_frozen: bool,
    /// Withdrawals held until this instant, and why (after a security change).
    pub hold: Option<(Millis, PolicyReason)>,
}

/// What a withdrawal decision needs beyond the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalFacts {
    /// When the destination becomes usable; `None` if not on the allow-list.
    pub address_usable_from: Option<Millis>,
    /// Amount of this asset already redeemed in the last 24 hours, base units.
    pub redeemed_last_24h: u128,
    /// The per-user daily limit for this asset, base units.
    pub daily_limit: Option<u128>,
    /// This withdrawal's amount, base units.
    pub amount: u128,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// May proceed.
    Allow,
    /// Not now: held until the instant, for the reason.
    Held {
        /// When the hold ends.
        until: Millis,
        /// Why.
        reason: PolicyReason,
    },
    /// Refused.
    Denied {
        /// Why.
        reason: PolicyReason,
    },
}

/// Decides whether `action` may go ahead now. `withdrawal` must be given for
/// withdrawals; without it a withdrawal is denied (fail closed).
pub fn decide(
    action: Action,
    account: &AccountFacts,
    withdrawal: Option<&WithdrawalFacts>,
    now: Millis,
) -> Decision {
    if account.user_frozen {
        return Decision::Denied {
            reason: PolicyReason::AccountFrozen,
        };
    }
    if action != Action::Withdrawal {
        return Decision::Allow;
    }
    if account.global_freeze.is_some() {
        return Decision::Denied {
            reason: PolicyReason::WithdrawalsFrozen,
        };
    }
    let Some(w) = withdrawal else {
        return Decision::Denied {
            reason: PolicyReason::PolicyUnavailable,
        };
    };
    if let Some((until, reason)) = &account.hold
        && *until > now
    {
        return Decision::Held {
            until: *until,
            reason: *reason,
        };
    }
    match w.address_usable_from {
        None => {
            return Decision::Denied {
                reason: PolicyReason::AddressNotAllowed,
            };
        }
        Some(from) if from > now => {
            return Decision::Denied {
                reason: PolicyReason::AddressCoolingOff,
            };
        }
        Some(_) => {}
    }
    if let Some(limit) = w.daily_limit
        && w.redeemed_last_24h.saturating_add(w.amount) > limit
    {
        return Decision::Denied {
            reason: PolicyReason::DailyLimitExceeded,
        };
    }
    Decision::Allow
}

/// `decision` with a risk verdict's effects added: a denial denies; a hold
/// holds until the later of its end and any hold already there; a denial
/// by the policy stays. Only ever tightens (tested below).
pub fn tighten(decision: Decision, verdict: &Verdict, now: Millis) -> Decision {
    if matches!(decision, Decision::Denied { .. }) {
        return decision;
    }
    if let Some(signal) = verdict.deny {
        return Decision::Denied {
            reason: signal.into(),
        };
    }
    let Some((hours, signal)) = verdict.hold else {
        return decision;
    };
    let until = now + i64::from(hours) * 3_600_000;
    match decision {
        Decision::Held { until: held, .. } if held >= until => decision,
        _ => Decision::Held {
            until,
            reason: signal.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(d: &Decision) -> (u8, Millis) {
        match d {
            Decision::Allow => (0, 0),
            Decision::Held { until, .. } => (1, *until),
            Decision::Denied { .. } => (2, 0),
        }
    }

    /// Every combination of a decision and a verdict: the tightened
    /// decision is never looser than either.
    #[test]
    fn risk_only_tightens() {
        use keyward_api::risk::RiskSignal;
        let decisions = [
            Decision::Allow,
            Decision::Held {
                until: NOW + 1,
                reason: PolicyReason::KeyAdded,
            },
            Decision::Held {
                until: NOW + 100 * 3_600_000,
                reason: PolicyReason::KeyAdded,
            },
            Decision::Denied {
                reason: PolicyReason::AddressNotAllowed,
            },
        ];
        for d in decisions {
            for deny in [None, Some(RiskSignal::NewDevice)] {
                for hold in [
                    None,
                    Some((1, RiskSignal::NewCountry)),
                    Some((48, RiskSignal::ImpossibleTravel)),
                ] {
                    let v = Verdict {
                        deny,
                        hold,
                        ..Verdict::default()
                    };
                    let t = tighten(d.clone(), &v, NOW);
                    assert!(rank(&t) >= rank(&d), "{d:?} {v:?} -> {t:?}");
                    if deny.is_some() {
                        assert_eq!(rank(&t).0, 2);
                    } else if let Some((h, _)) = hold {
                        assert!(rank(&t).0 >= 1);
                        if rank(&t).0 == 1 {
                            assert!(rank(&t).1 >= NOW + i64::from(h) * 3_600_000);
                        }
                    }
                }
            }
        }
    }

    const NOW: Millis = 1_000_000;

    fn ok_withdrawal() -> WithdrawalFacts {
        WithdrawalFacts {
            address_usable_from: Some(0),
            redeemed_last_24h: 0,
            daily_limit: Some(100),
            amount: 10,
        }
    }

    #[test]
    fn a_clean_withdrawal_is_allowed() {
        assert_eq!(
            decide(
                Action::Withdrawal,
                &AccountFacts::default(),
                Some(&ok_withdrawal()),
                NOW
            ),
            Decision::Allow
        );
    }

    #[test]
    fn each_rule_refuses() {
        let frozen = AccountFacts {
            global_freeze: Some("incident".into()),
            ..Default::default()
        };
        assert_eq!(
            decide(Action::Withdrawal, &frozen, Some(&ok_withdrawal()), NOW),
            Decision::Denied {
                reason: PolicyReason::WithdrawalsFrozen
            }
        );
        let self_frozen = AccountFacts {
            user_frozen: true,
            ..Default::default()
        };
        assert_eq!(
            decide(
                Action::Withdrawal,
                &self_frozen,
                Some(&ok_withdrawal()),
                NOW
            ),
            Decision::Denied {
                reason: PolicyReason::AccountFrozen
            }
        );
        let held = AccountFacts {
            hold: Some((NOW + 1, PolicyReason::KeyAdded)),
            ..Default::default()
        };
        assert_eq!(
            decide(Action::Withdrawal, &held, Some(&ok_withdrawal()), NOW),
            Decision::Held {
                until: NOW + 1,
                reason: PolicyReason::KeyAdded
            }
        );
        let expired_hold = AccountFacts {
            hold: Some((NOW, PolicyReason::KeyAdded)),
            ..Default::default()
        };
        assert_eq!(
            decide(
                Action::Withdrawal,
                &expired_hold,
                Some(&ok_withdrawal()),
                NOW
            ),
            Decision::Allow
        );
        let unknown = WithdrawalFacts {
            address_usable_from: None,
            ..ok_withdrawal()
        };
        assert_eq!(
            decide(
                Action::Withdrawal,
                &AccountFacts::default(),
                Some(&unknown),
                NOW
            ),
            Decision::Denied {
                reason: PolicyReason::AddressNotAllowed
            }
        );
        let cooling = WithdrawalFacts {
            address_usable_from: Some(NOW + 1),
            ..ok_withdrawal()
        };
        assert_eq!(
            decide(
                Action::Withdrawal,
                &AccountFacts::default(),
                Some(&cooling),
                NOW
            ),
            Decision::Denied {
                reason: PolicyReason::AddressCoolingOff
            }
        );
        let over = WithdrawalFacts {
            redeemed_last_24h: 95,
            ..ok_withdrawal()
        };
        assert_eq!(
            decide(
                Action::Withdrawal,
                &AccountFacts::default(),
                Some(&over),
                NOW
            ),
            Decision::Denied {
                reason: PolicyReason::DailyLimitExceeded
            }
        );
        assert_eq!(
            decide(Action::Withdrawal, &AccountFacts::default(), None, NOW),
            Decision::Denied {
                reason: PolicyReason::PolicyUnavailable
            }
        );
    }

    #[test]
    fn global_freeze_spares_other_actions_but_self_freeze_does_not() {
        let frozen = AccountFacts {
            global_freeze: Some("incident".into()),
            ..Default::default()
        };
        assert_eq!(
            decide(Action::AddressAdd, &frozen, None, NOW),
            Decision::Allow
        );
        let self_frozen = AccountFacts {
            user_frozen: true,
            ..Default::default()
        };
        assert_eq!(
            decide(Action::ApiKeyCreate, &self_frozen, None, NOW),
            Decision::Denied {
                reason: PolicyReason::AccountFrozen
            }
        );
    }

    /// Monotonicity over every combination: adding a freeze or a hold to a
    /// state never turns a refusal (denied or held) into an approval.
    #[test]
    fn restrictions_never_loosen() {
        let holds = [
            None,
            Some((NOW - 1, PolicyReason::Unfrozen)),
            Some((NOW + 5, PolicyReason::KeyAdded)),
        ];
        let addrs = [None, Some(0), Some(NOW + 1)];
        let useds = [0u128, 95];
        for global in [false, true] {
            for user in [false, true] {
                for hold in &holds {
                    for addr in addrs {
                        for used in useds {
                            let base = AccountFacts {
                                global_freeze: global.then(|| "x".into()),
                                user_frozen: user,
                                hold: *hold,
                            };
                            let w = WithdrawalFacts {
                                address_usable_from: addr,
                                redeemed_last_24h: used,
                                ..ok_withdrawal()
                            };
                            let before = decide(Action::Withdrawal, &base, Some(&w), NOW);
                            let tighter = [
                                AccountFacts {
                                    global_freeze: Some("y".into()),
                                    ..base.clone()
                                },
                                AccountFacts {
                                    user_frozen: true,
                                    ..base.clone()
                                },
                                AccountFacts {
                                    hold: Some((NOW + 10, PolicyReason::KeyRemoved)),
                                    ..base.clone()
                                },
                            ];
                            for t in tighter {
                                let after = decide(Action::Withdrawal, &t, Some(&w), NOW);
                                assert!(
                                    before == Decision::Allow || after != Decision::Allow,
                                    "{base:?} {w:?}: {before:?} -> {after:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
