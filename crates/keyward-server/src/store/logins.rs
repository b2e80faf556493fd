//! Signed-in sessions ("logins"), the server-side half of a session cookie.
//! A login can be ended from anywhere; every request checks it.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx, relaxed};
use crate::domain::risk::Place;

/// A signed-in session.
#[derive(Debug, Clone, FromRow)]
pub struct LoginRow {
    /// Login id (not the cookie's session id).
    pub id: Uuid,
    /// Who signed in.
    pub user_id: Uuid,
    /// When.
    pub created_at: Millis,
    /// Last request seen.
    pub last_seen_at: Millis,
    /// Absolute expiry.
    pub expires_at: Millis,
    /// When it was ended, if it was.
    pub ended_at: Option<Millis>,
    /// Client address at sign-in.
    pub ip: String,
    /// Client user agent at sign-in.
    pub user_agent: String,
}

const COLUMNS: &str = "id, user_id, created_at, last_seen_at, expires_at, ended_at, ip, user_agent";

/// Records a new login, and where it came from (for the risk signals).
pub async fn insert(tx: &mut Tx, l: &LoginRow, place: &Place) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO logins ({COLUMNS}, device, network, country, asn, latitude, longitude) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
    );
    let (lat, lon) = place.location.unzip();
    on_tx!(tx, c => sqlx::query(&sql)
        .bind(l.id).bind(l.user_id).bind(l.created_at).bind(l.last_seen_at).bind(l.expires_at)
        .bind(l.ended_at).bind(&l.ip).bind(&l.user_agent)
        .bind(&place.device).bind(&place.network).bind(&place.country).bind(place.asn).bind(lat).bind(lon)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

type PlaceRow = (
    Millis,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
);

const PLACES: &str = "SELECT created_at, device, network, country, asn, latitude, longitude \
     FROM logins WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2";

fn place((at, device, network, country, asn, lat, lon): PlaceRow) -> Place {
    Place {
        device,
        network,
        country,
        asn,
        location: lat.zip(lon),
        at,
    }
}

/// Where the user's last `limit` sign-ins came from, newest first.
pub async fn places(db: &Db, user_id: Uuid, limit: u32) -> Result<Vec<Place>, sqlx::Error> {
    let rows = on_db!(db, c => sqlx::query_as::<_, PlaceRow>(PLACES)
        .bind(user_id).bind(i64::from(limit)).fetch_all(c).await)?;
    Ok(rows.into_iter().map(place).collect())
}

/// [`places`] inside `tx` (a sign-in's own transaction).
pub async fn places_in(tx: &mut Tx, user_id: Uuid, limit: u32) -> Result<Vec<Place>, sqlx::Error> {
    let rows = on_tx!(tx, c => sqlx::query_as::<_, PlaceRow>(PLACES)
        .bind(user_id).bind(i64::from(limit)).fetch_all(c).await)?;
    Ok(rows.into_iter().map(place).collect())
}

/// A login by id.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<LoginRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM logins WHERE id = $1");
    on_db!(db, c => sqlx::query_as::<_, LoginRow>(&sql).bind(id).fetch_optional(c).await)
}

/// Notes activity on a login last seen at `last_seen_at`: at most once a
/// minute, to spare writes (the idle timeout is counted in minutes, so this
/// loses nothing that matters). Relaxed: a last-seen time lost in a power cut
/// only makes the session look idle sooner.
pub async fn touch(
    db: &Db,
    id: Uuid,
    last_seen_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    if now - last_seen_at < TOUCH_EVERY_MS {
        return Ok(());
    }
    relaxed!(db, c => sqlx::query("UPDATE logins SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3")
        .bind(now).bind(id).bind(now - TOUCH_EVERY_MS).execute(c).await.map(|_| ()))
}

const TOUCH_EVERY_MS: Millis = 60_000;

/// The user's logins that are neither ended nor expired, newest first.
pub async fn active_for_user(
    db: &Db,
    user_id: Uuid,
    now: Millis,
) -> Result<Vec<LoginRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM logins WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC"
    );
    on_db!(db, c => sqlx::query_as::<_, LoginRow>(&sql).bind(user_id).bind(now).fetch_all(c).await)
}

/// Ends one of the user's logins; false if there was no such active login.
pub async fn end(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    reason: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE logins SET ended_at = $1, end_reason = $2 WHERE id = $3 AND user_id = $4 AND ended_at IS NULL")
        .bind(now).bind(reason).bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Ends all of the user's logins except `keep`; returns how many.
pub async fn end_others(
    tx: &mut Tx,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let keep = keep.unwrap_or(Uuid::nil());
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE logins SET ended_at = $1, end_reason = $2 WHERE user_id = $3 AND id <> $4 AND ended_at IS NULL")
        .bind(now).bind(reason).bind(user_id).bind(keep).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
