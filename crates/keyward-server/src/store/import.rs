//! Bulk inserts for `keyward import`: accounts and keys in multi-row
//! statements inside the import's one transaction.

use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx, on_tx};

/// An account to insert.
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
}

/// A key to insert.
pub struct KeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub label: String,
    pub key_json: String,
}

/// A key-chain entry to insert (an imported account's genesis entries).
pub struct ChainRow {
    pub user_id: Uuid,
    pub seq: i64,
    pub hash: String,
    pub entry: String,
}

/// Readies the transaction for a bulk load.
pub async fn prepare(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if let Tx::Sqlite(t) = tx {
        // The unique indexes take random inserts: keep them in memory (this
        // connection only, up to 512 MiB) instead of re-reading the WAL.
        sqlx::query("PRAGMA cache_size = -524288")
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Refreshes the planner's statistics after a bulk load.
pub async fn analyze(db: &Db) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pg) = db {
        // Until autovacuum gets to them, the planner's statistics describe
        // the tables as they were before (measured right after importing
        // 1 M accounts: step-ups at 94/s instead of ~300/s). SQLite plans
        // by its indexes without statistics; it measured the same either way.
        sqlx::query("ANALYZE users, credentials")
            .execute(pg)
            .await?;
    }
    Ok(())
}

/// `($1,$2,…),(…)` for `rows` rows of `cols` values; on SQLite `(?,?,…)`:
/// sqlx looks each `$N` up by name there, which is quadratic in the number
/// of parameters (88 % of the import's time at 20 000 per statement).
fn values(tx: &Tx, rows: usize, cols: usize) -> String {
    let numbered = matches!(tx, Tx::Postgres(_));
    let mut sql = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            if numbered {
                sql.push_str(&format!("${}", r * cols + c + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Inserts accounts, all at `at`.
pub async fn insert_users(tx: &mut Tx, rows: &[UserRow], at: Millis) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES {}",
        values(tx, rows.len(), 4)
    );
    on_tx!(tx, c => {
        let mut q = sqlx::query(&sql);
        for u in rows {
            q = q.bind(u.id).bind(&u.username).bind(&u.password_hash).bind(at);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Inserts the chains of new accounts (`position` = `seq`: their first
/// entries), all at `at`.
pub async fn insert_chain(tx: &mut Tx, rows: &[ChainRow], at: Millis) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO key_chain (user_id, position, seq, hash, entry, created_at) VALUES {}",
        values(tx, rows.len(), 6)
    );
    on_tx!(tx, c => {
        let mut q = sqlx::query(&sql);
        for r in rows {
            q = q.bind(r.user_id).bind(r.seq).bind(r.seq).bind(&r.hash).bind(&r.entry).bind(at);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Inserts keys (of accounts inserted before), all at `at`.
pub async fn insert_keys(tx: &mut Tx, rows: &[KeyRow], at: Millis) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO credentials (id, user_id, credential_id, label, aaguid, attestation_format, \
         key_json, sign_count, possibly_cloned, created_at) VALUES {}",
        values(tx, rows.len(), 10)
    );
    on_tx!(tx, c => {
        let mut q = sqlx::query(&sql);
        for k in rows {
            q = q.bind(k.id).bind(k.user_id).bind(&k.credential_id).bind(&k.label)
                .bind(None::<Uuid>).bind("none").bind(&k.key_json).bind(0_i64).bind(false).bind(at);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}
