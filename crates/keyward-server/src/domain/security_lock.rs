//! The user's security lock: a period (0–30 days) the user chooses, during
//! which a change that loosens protection takes effect only after the lock
//! period — adding an allow-list address, a withdraw-scoped API key,
//! unfreezing, removing a key, and shortening or removing the lock itself —
//! while changes that tighten take effect at once. Someone who takes over a
//! session (or the password and a key) then cannot quickly open the doors;
//! the owner sees the change coming and cancels it with a key.
//!
//! Pure: time is passed in. The lock protects itself: a shortening asked
//! for at `t` takes effect at `t` + the lock in force at `t`.

use crate::clock::Millis;

/// The longest lock, in days.
pub const MAX_DAYS: u32 = 30;
/// One day in milliseconds.
pub const DAY: Millis = 86_400_000;

/// A user's lock as stored: the days in force, and a shortening waiting
/// to take effect (its days, and from when).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecurityLock {
    /// Days in force (until `next` is due).
    pub days: u32,
    /// A shortening asked for: the new days, in force from that instant.
    pub next: Option<(u32, Millis)>,
}

/// What asking for a lock period did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// In force now (a longer or equal lock: tightening).
    Now,
    /// A shorter lock: in force from this instant, cancellable until then.
    From(Millis),
}

impl SecurityLock {
    /// The lock as it stands at `now`: a due shortening has taken effect.
    pub fn at(self, now: Millis) -> Self {
        match self.next {
            Some((days, from)) if from <= now => Self { days, next: None },
            _ => self,
        }
    }

    /// The days in force at `now`.
    pub fn days_at(self, now: Millis) -> u32 {
        self.at(now).days
    }

    /// The earliest a loosening change asked for at `now` may take effect.
    pub fn loosening_from(self, now: Millis) -> Millis {
        now + Millis::from(self.days_at(now)) * DAY
    }

    /// Asks for a lock of `days` (at most [`MAX_DAYS`]) at `now`: a longer
    /// or equal one is in force at once (and drops a waiting shortening); a
    /// shorter one waits for the lock in force now to pass.
    pub fn set(self, days: u32, now: Millis) -> (Self, Set) {
        let current = self.at(now);
        if days >= current.days {
            (Self { days, next: None }, Set::Now)
        } else {
            let from = current.loosening_from(now);
            let next = Some((days, from));
            let days = current.days;
            (Self { days, next }, Set::From(from))
        }
    }

    /// Drops a waiting shortening; `None` if none is waiting at `now`.
    pub fn cancel(self, now: Millis) -> Option<Self> {
        let current = self.at(now);
        current.next.map(|_| Self {
            days: current.days,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What a user (or whoever holds their session and a key) can do.
    #[derive(Debug, Clone)]
    enum Op {
        Set(u32),
        Cancel,
        Wait(Millis),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..=MAX_DAYS).prop_map(Op::Set),
            Just(Op::Cancel),
            // From a second to 40 days.
            (1_000i64..40 * DAY).prop_map(Op::Wait),
        ]
    }

    proptest! {
        /// No sequence of requests loosens the lock sooner than it allows:
        /// after any request at `r`, for the length of the lock in force at
        /// `r`, the lock in force is never shorter (whatever is asked in
        /// between). A shortening asked for earlier cannot undercut it: every
        /// request either drops a waiting shortening or replaces it.
        #[test]
        fn the_lock_is_never_shortened_sooner_than_it_allows(
            ops in proptest::collection::vec(op(), 1..40),
        ) {
            let mut lock = SecurityLock::default();
            let mut now: Millis = 1_000_000;
            // The lock in force over time, in the order things happened:
            // after each request, and within each wait just before and at
            // a waiting shortening's start and at the wait's end.
            // (instant, days in force, right after a request)
            let mut timeline: Vec<(Millis, u32, bool)> = vec![(now, 0, true)];
            for op in ops {
                match op.clone() {
                    Op::Set(days) => lock = lock.set(days, now).0,
                    Op::Cancel => lock = lock.cancel(now).unwrap_or(lock),
                    Op::Wait(ms) => {
                        if let Some((_, from)) = lock.next {
                            for t in [from - 1, from] {
                                if t > now && t < now + ms {
                                    timeline.push((t, lock.days_at(t), false));
                                }
                            }
                        }
                        now += ms;
                    }
                }
                let request = !matches!(op, Op::Wait(_));
                timeline.push((now, lock.days_at(now), request));
            }
            for (i, &(s, days, request)) in timeline.iter().enumerate() {
                if !request {
                    continue;
                }
                for &(t, later, _) in &timeline[i..] {
                    if t < s + Millis::from(days) * DAY {
                        prop_assert!(later >= days, "lock {days} d at {s}, only {later} d at {t}");
                    }
                }
            }
        }

        /// Tightening is immediate: asking for at least the lock in force
        /// is in force at once.
        #[test]
        fn a_longer_lock_is_in_force_at_once(start in 0..=MAX_DAYS, more in 0..=MAX_DAYS) {
            let lock = SecurityLock::default().set(start, 0).0;
            let days = start.max(more);
            let (after, how) = lock.set(days, 5);
            prop_assert_eq!(how, Set::Now);
            prop_assert_eq!(after.days_at(5), days);
        }
    }

    #[test]
    fn a_shorter_lock_waits_for_the_one_in_force() {
        let lock = SecurityLock::default().set(7, 0).0;
        let (lock, how) = lock.set(0, 10);
        assert_eq!(how, Set::From(10 + 7 * DAY));
        assert_eq!(lock.days_at(10 + 7 * DAY - 1), 7);
        assert_eq!(lock.days_at(10 + 7 * DAY), 0);
        assert_eq!(lock.loosening_from(20), 20 + 7 * DAY);
        // Cancelled with a key before it is due, it never happens.
        let kept = lock.cancel(11).unwrap();
        assert_eq!(kept.days_at(100 * DAY), 7);
        assert_eq!(kept.cancel(12), None);
    }
}
