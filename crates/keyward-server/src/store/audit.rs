//! The hash-chained audit log. Each entry's hash covers its content and the
//! previous entry's hash, so editing, removing or reordering a row breaks the
//! chain at that row. Entries are appended inside the transaction of the
//! change they record.

use sha2::{Digest, Sha256};
use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};
use crate::domain::audit::AuditEvent;

/// One audit entry as stored.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: Millis,
    /// The user it concerns.
    pub user_id: Option<Uuid>,
    /// Event name, e.g. `signin.succeeded`.
    pub event: String,
    /// Event details (JSON text). Never a secret.
    pub detail: String,
    /// Client address.
    pub ip: Option<String>,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The user it concerns.
    pub user_id: Option<Uuid>,
    /// What happened.
    pub event: AuditEvent,
    /// Client address.
    pub ip: Option<&'a str>,
}

/// The chain hash of an entry: SHA-256 over a JSON array of its fields and
/// the previous hash (JSON keeps the encoding unambiguous).
pub fn entry_hash(
    seq: i64,
    at: Millis,
    user_id: Option<Uuid>,
    event: &str,
    detail: &str,
    ip: Option<&str>,
    prev: &str,
) -> String {
    let material = serde_json::json!([seq, at, user_id, event, detail, ip, prev]).to_string();
    hex::encode(Sha256::digest(material.as_bytes()))
}

/// Appends an event inside `tx` (see [`append_all`]).
pub async fn append(tx: &mut Tx, e: &Event<'_>, now: Millis) -> Result<(), sqlx::Error> {
    append_all(tx, std::slice::from_ref(e), now).await
}

/// Appends `events`, in order, inside `tx`: two statements however many
/// there are. Taking the chain head with an UPDATE locks it until commit,
/// so concurrent appends (on any instance) queue up and each links to the
/// one before. The INSERT's trigger (migration 0004) moves the head's hash
/// to the last entry, the one whose seq the UPDATE left in the head.
pub async fn append_all(tx: &mut Tx, events: &[Event<'_>], now: Millis) -> Result<(), sqlx::Error> {
    let Ok(n) = i64::try_from(events.len()) else {
        return Err(sqlx::Error::Protocol(
            "too many audit events at once".into(),
        ));
    };
    if n == 0 {
        return Ok(());
    }
    let (last, mut prev): (i64, String) = on_tx!(tx, c => sqlx::query_as(
        "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n).fetch_one(c).await)?;
    let mut rows = Vec::with_capacity(events.len());
    for (seq, e) in (last - n + 1..).zip(events) {
        let (name, detail) = (e.event.name(), e.event.detail().to_string());
        let hash = entry_hash(seq, now, e.user_id, name, &detail, e.ip, &prev);
        let prev_hash = std::mem::replace(&mut prev, hash.clone());
        rows.push((seq, e, name, detail, prev_hash, hash));
    }
    let sql = insert_sql(rows.len());
    on_tx!(tx, c => {
        let mut q = sqlx::query(&sql);
        for (seq, e, name, detail, prev, hash) in &rows {
            q = q.bind(*seq).bind(now).bind(e.user_id).bind(*name).bind(detail.as_str())
                .bind(e.ip).bind(prev.as_str()).bind(hash.as_str());
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Appends one event in a transaction of its own (for refusals, which change
/// nothing else).
pub async fn append_alone(db: &Db, e: &Event<'_>, now: Millis) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    append(&mut tx, e, now).await?;
    tx.commit().await
}

/// `INSERT INTO audit_log … VALUES (…), (…)` for `rows` entries.
fn insert_sql(rows: usize) -> String {
    const COLUMNS: usize = 8;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=COLUMNS)
                .map(|c| format!("${}", r * COLUMNS + c))
                .collect();
            format!("({})", params.join(","))
        })
        .collect();
    format!(
        "INSERT INTO audit_log (seq, at, user_id, event, detail, ip, prev_hash, hash) VALUES {}",
        values.join(",")
    )
}

/// The user's most recent events, newest first.
pub async fn for_user(db: &Db, user_id: Uuid, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, AuditRow>(
        "SELECT seq, at, user_id, event, detail, ip, prev_hash, hash FROM audit_log \
         WHERE user_id = $1 ORDER BY seq DESC LIMIT $2")
        .bind(user_id).bind(limit).fetch_all(c).await)
}

/// Where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// First entry that does not verify.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// The chain walk of [`verify_chain`] on one connection `$c` (an open read
/// transaction); evaluates to `Result<i64, BrokenLink>`, returning early with
/// `?` on a database error.
macro_rules! walk_chain {
    ($c:expr) => {{
        const PAGE: i64 = 1000;
        let mut expected_prev = "0".repeat(64);
        let mut expected_seq = 1;
        let mut verdict = None;
        'walk: loop {
            let rows = sqlx::query_as::<_, AuditRow>(
                "SELECT seq, at, user_id, event, detail, ip, prev_hash, hash FROM audit_log \
                 WHERE seq >= $1 ORDER BY seq LIMIT $2",
            )
            .bind(expected_seq)
            .bind(PAGE)
            .fetch_all($c)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let reason = if r.seq != expected_seq {
                    Some("entry missing (sequence gap)")
                } else if r.prev_hash != expected_prev {
                    Some("prev_hash does not match the previous entry")
                } else if entry_hash(
                    r.seq,
                    r.at,
                    r.user_id,
                    &r.event,
                    &r.detail,
                    r.ip.as_deref(),
                    &r.prev_hash,
                ) != r.hash
                {
                    Some("content does not match its hash")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    verdict = Some(Err(BrokenLink {
                        seq: r.seq.min(expected_seq),
                        reason: reason.into(),
                    }));
                    break 'walk;
                }
                expected_prev = r.hash.clone();
                expected_seq += 1;
            }
        }
        match verdict {
            Some(broken) => broken,
            None => {
                let (head_seq, head_hash): (i64, String) =
                    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                        .fetch_one($c)
                        .await?;
                if head_seq != expected_seq - 1 || head_hash != expected_prev {
                    Err(BrokenLink {
                        seq: expected_seq,
                        reason: "entries after this point were removed".into(),
                    })
                } else {
                    Ok(expected_seq - 1)
                }
            }
        }
    }};
}

/// Walks the whole chain in order and compares its end with the head;
/// returns the number of entries, or the first broken link.
///
/// Entries and head are read in one snapshot (a read transaction; on
/// PostgreSQL REPEATABLE READ), so appends committed while the walk runs are
/// not seen half: a live database never reads as broken.
pub async fn verify_chain(db: &Db) -> Result<Result<i64, BrokenLink>, sqlx::Error> {
    match db {
        Db::Sqlite(sqlite) => {
            let mut tx = sqlite.pool.begin().await?;
            let verdict = walk_chain!(&mut *tx);
            tx.commit().await?;
            Ok(verdict)
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let verdict = walk_chain!(&mut *tx);
            tx.commit().await?;
            Ok(verdict)
        }
    }
}

/// The `seq` of the first audit entry at or after `since`, if any.
pub async fn first_seq_since(db: &Db, since: Millis) -> Result<Option<i64>, sqlx::Error> {
    on_db!(db, c => sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MIN(seq) FROM audit_log WHERE at >= $1").bind(since).fetch_one(c).await)
}

/// Up to `limit` audit entries from `seq` on, in chain order.
pub async fn page(db: &Db, from_seq: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, AuditRow>(
        "SELECT seq, at, user_id, event, detail, ip, prev_hash, hash FROM audit_log \
         WHERE seq >= $1 ORDER BY seq LIMIT $2")
        .bind(from_seq).bind(limit).fetch_all(c).await)
}

/// The chain head: the last entry's `seq` and `hash` (0 and zeros when empty).
pub async fn head(db: &Db) -> Result<(i64, String), sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, (i64, String)>("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(c).await)
}

/// The hash of entry `seq`, if it exists.
pub async fn hash_at(db: &Db, seq: i64) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, c => sqlx::query_scalar::<_, String>("SELECT hash FROM audit_log WHERE seq = $1")
        .bind(seq).fetch_optional(c).await)
}

/// The last entry's `seq` in the log itself (0 when empty).
pub async fn last_seq(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, c => sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM audit_log")
        .fetch_one(c).await)
    .map(|s| s.unwrap_or(0))
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, FromRow)]
pub struct CheckpointRow {
    /// The entry it vouches for.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// When it was signed.
    pub at: Millis,
    /// The signed checkpoint (compact JWS).
    pub token: String,
}

/// Stores a checkpoint (one per entry: a second for the same entry is
/// dropped). Returns whether it was new.
pub async fn insert_checkpoint(db: &Db, row: &CheckpointRow) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, c => sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, at, token) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (seq) DO NOTHING")
        .bind(row.seq).bind(&row.hash).bind(row.at).bind(&row.token)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Every stored checkpoint, oldest first.
pub async fn checkpoints(db: &Db) -> Result<Vec<CheckpointRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, CheckpointRow>(
        "SELECT seq, hash, at, token FROM audit_checkpoints ORDER BY seq")
        .fetch_all(c).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(name: &str) -> AuditEvent {
        AuditEvent::AccountCreated {
            username: name.into(),
        }
    }

    /// Several entries appended at once chain exactly as if appended one by
    /// one: in order, each linked to the one before, the head at the last;
    /// and a later single append links to the batch's last entry.
    #[tokio::test]
    async fn entries_appended_together_chain_in_order() {
        let (_dir, sqlite) = crate::db::test_sqlite().await;
        let db = Db::Sqlite(sqlite);
        let (start, _) = head(&db).await.unwrap();
        let user = Uuid::new_v4();
        let events: Vec<Event> = ["a", "b", "c"]
            .into_iter()
            .map(|n| Event {
                user_id: Some(user),
                event: created(n),
                ip: Some("192.0.2.1"),
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        append_all(&mut tx, &events, 1_000).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        append(
            &mut tx,
            &Event {
                user_id: Some(user),
                event: created("d"),
                ip: None,
            },
            2_000,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        assert_eq!(verify_chain(&db).await.unwrap(), Ok(start + 4));
        let rows = for_user(&db, user, 10).await.unwrap();
        assert_eq!(rows.len(), 4);
        for (row, name) in rows.iter().rev().zip(["a", "b", "c", "d"]) {
            assert!(row.detail.contains(name), "{} holds {name}", row.detail);
        }
        let seqs: Vec<i64> = rows.iter().rev().map(|r| r.seq).collect();
        assert_eq!(seqs, (start + 1..=start + 4).collect::<Vec<_>>());
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].prev_hash, pair[1].hash,
                "each links to the one before"
            );
        }
        assert_eq!(head(&db).await.unwrap(), (start + 4, rows[0].hash.clone()));
    }
}
