//! What is left of a user's daily withdrawal limit, and when a refused
//! amount would fit. The limit covers any 24 hours (a rolling window, not a
//! calendar day): a redeemed withdrawal counts against it until 24 hours
//! after it was redeemed, so room comes back withdrawal by withdrawal.

use crate::clock::Millis;

/// How long a redeemed withdrawal counts against the limit.
pub const WINDOW_MS: Millis = 24 * 3_600_000;

/// The limit as it stands at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitLeft {
    /// Redeemed in the window, base units.
    pub used: u128,
    /// What may still be sent: `limit - used`, never below zero.
    pub left: u128,
    /// When `amount` fits (now, if it already does); `None` if it never
    /// can (it is over the limit by itself).
    pub fits_from: Option<Millis>,
}

/// The limit at `now`, given the withdrawals redeemed in the window ending
/// at `now` as `(redeemed_at, units)`, in any order. `fits_from` follows the
/// policy's rule (`used + amount <= limit`) as each one leaves the window.
pub fn left(limit: u128, redeemed: &[(Millis, u128)], amount: u128, now: Millis) -> LimitLeft {
    let mut window: Vec<(Millis, u128)> = redeemed.to_vec();
    window.sort_unstable();
    let used = window
        .iter()
        .fold(0u128, |sum, (_, units)| sum.saturating_add(*units));
    let fits = |used: u128| used.saturating_add(amount) <= limit;
    let fits_from = if amount > limit {
        None
    } else if fits(used) {
        Some(now)
    } else {
        let mut still = used;
        window.iter().find_map(|&(at, units)| {
            still = still.saturating_sub(units);
            fits(still).then_some(at + WINDOW_MS)
        })
    };
    LimitLeft {
        used,
        left: limit.saturating_sub(used),
        fits_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 100 * WINDOW_MS;
    const HOUR: Millis = 3_600_000;

    #[test]
    fn room_comes_back_as_the_oldest_withdrawals_leave_the_window() {
        // 6 redeemed 20 h ago, 3 redeemed 2 h ago; limit 10.
        let redeemed = [(NOW - 2 * HOUR, 3), (NOW - 20 * HOUR, 6)];
        let got = left(10, &redeemed, 5, NOW);
        assert_eq!((got.used, got.left), (9, 1));
        // 5 fits once the 6 leaves: 4 hours from now.
        assert_eq!(got.fits_from, Some(NOW + 4 * HOUR));
        // 8 fits only once both have left: 22 hours from now.
        assert_eq!(left(10, &redeemed, 8, NOW).fits_from, Some(NOW + 22 * HOUR));
        // 1 fits now; 11 never does.
        assert_eq!(left(10, &redeemed, 1, NOW).fits_from, Some(NOW));
        assert_eq!(left(10, &redeemed, 11, NOW).fits_from, None);
    }

    #[test]
    fn nothing_used_leaves_the_whole_limit_and_over_use_leaves_none() {
        assert_eq!(
            left(10, &[], 10, NOW),
            LimitLeft {
                used: 0,
                left: 10,
                fits_from: Some(NOW)
            }
        );
        // A lower limit configured after the withdrawals: nothing left,
        // never negative.
        let got = left(4, &[(NOW - HOUR, 6)], 1, NOW);
        assert_eq!((got.used, got.left), (6, 0));
        assert_eq!(got.fits_from, Some(NOW - HOUR + WINDOW_MS));
    }
}
