//! The daily limit as the confirmation page shows it beside a withdrawal
//! refused for going over it: what is left now, and when the amount fits.

use keyward_api::PolicyReason;
use keyward_api::step_ups::DailyLimitLeft;

use crate::clock::{Millis, rfc3339};
use crate::domain::{amount, daily_limit};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::step_ups::{self, StepUpRow};

/// Stored `(redeemed_at, amount_units)` as numbers. An unparseable stored
/// amount would hide spending: it fails (closed) rather than count as 0.
pub fn parse_redeemed(rows: Vec<(Millis, String)>) -> ApiResult<Vec<(Millis, u128)>> {
    rows.into_iter()
        .map(|(at, units)| {
            let units = units
                .parse()
                .map_err(|_| ApiError::Internal(anyhow::anyhow!("bad stored amount")))?;
            Ok((at, units))
        })
        .collect()
}

/// For a withdrawal refused (at creation or at redeem) for the daily limit:
/// the limit as it stands now. `None` for any other step-up, or when the
/// asset has no limit (any more).
pub async fn left_for(app: &AppState, row: &StepUpRow) -> ApiResult<Option<DailyLimitLeft>> {
    if row.reason() != Some(PolicyReason::DailyLimitExceeded) {
        return Ok(None);
    }
    let (Some(asset), Some(amount)) = (&row.asset, &row.amount_units) else {
        return Ok(None);
    };
    let (Some(config), Some(limit)) = (
        app.config.assets.get(asset),
        app.config.daily_limit_units(asset),
    ) else {
        return Ok(None);
    };
    let amount: u128 = amount
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("bad stored amount")))?;
    let now = app.clock.now();
    let since = now - daily_limit::WINDOW_MS;
    let rows = step_ups::redeemed_amounts_now(&app.db, row.user_id, asset, since).await?;
    let left = daily_limit::left(limit, &parse_redeemed(rows)?, amount, now);
    let text = |units| amount::text(units, config.decimals);
    Ok(Some(DailyLimitLeft {
        asset: asset.clone(),
        limit: text(limit),
        used: text(left.used),
        left: text(left.left),
        fits_from: left.fits_from.map(rfc3339),
    }))
}
