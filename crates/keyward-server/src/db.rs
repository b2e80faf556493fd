//! The database: one pool on SQLite or PostgreSQL, migrations, and the
//! `on_db!` / `on_tx!` macros that run one SQL text on whichever backend is in
//! use. SQL is kept portable (`$1` placeholders, BIGINT millisecond times), so
//! each store function is written once and type-checked for both backends.
//!
//! Write transactions come in two kinds: durable ([`Db::begin`]: on disk
//! before the caller acknowledges anything) and relaxed ([`Db::begin_relaxed`]:
//! for short-lived state whose loss in a power cut is harmless, such as an
//! unanswered challenge). On SQLite, durable commits share fsyncs
//! ([`group_commit`]); on PostgreSQL its own group commit does that.

mod group_commit;
mod open;

use std::sync::Arc;
use std::time::Duration;

pub use group_commit::{GroupCommit, SYNC_DURATION};

use open::{open_postgres, open_sqlite};
use sqlx::{PgPool, SqlitePool};

/// A connection pool on one of the two supported databases.
#[derive(Debug, Clone)]
pub enum Db {
    /// Embedded SQLite (one file, WAL).
    Sqlite(SqliteDb),
    /// Shared PostgreSQL.
    Postgres(PgPool),
}

/// SQLite: a pool for reads and single statements (`synchronous=FULL`), and
/// one writer connection for write transactions (`synchronous=NORMAL`) whose
/// durable commits then wait for a shared fsync of the WAL.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    /// Reads and single statements.
    pub pool: SqlitePool,
    writer: SqlitePool,
    group: Arc<GroupCommit>,
    /// This file's write turn, shared by every handle on it in this process.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteDb {
    /// The session store on this file: loads on the reading pool, writes on
    /// the writer connection in the write turn, without an fsync of their
    /// own (see [`keyward_access::session::AnySessionStore::sqlite`]).
    pub fn session_store(&self) -> keyward_access::session::AnySessionStore {
        keyward_access::session::AnySessionStore::sqlite(
            self.pool.clone(),
            self.writer.clone(),
            self.turn.clone(),
        )
    }

    /// fsyncs done by durable commits so far (tests, metrics).
    pub fn group_syncs(&self) -> u64 {
        self.group.syncs()
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// An open transaction on either backend.
pub enum Tx {
    /// SQLite transaction (`BEGIN IMMEDIATE`), holding this process's turn
    /// to write.
    Sqlite(SqliteTx),
    /// PostgreSQL transaction.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A SQLite write transaction with this process's turn to write. SQLite has
/// one writer at a time; writers of this process queue for their turn here,
/// without holding a pool connection, instead of in SQLite's busy handler
/// (which sleeps in steps of up to 100 ms and keeps the connection). So a
/// transaction's holder can always get a connection for a read, and the
/// next writer starts as soon as the last one commits.
pub struct SqliteTx {
    // Field order matters: the transaction ends before the turn is passed on.
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
    /// Durable commits wait for a shared fsync; relaxed ones do not.
    durable: Option<Arc<GroupCommit>>,
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// How long a writer waits for its turn (as SQLite's busy timeout).
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$c` bound to the pool of whichever backend `$db` is.
macro_rules! on_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => {
                let $c = &sqlite.pool;
                $body
            }
            $crate::db::Db::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the connection of transaction `$tx`.
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Runs one statement `$body` (with `$c` bound to a connection) as a relaxed
/// write (see [`Db::begin_relaxed`]): on SQLite in a relaxed transaction,
/// in this process's write turn; on PostgreSQL as one autocommitted
/// statement on the pool (one round trip instead of BEGIN, it, COMMIT).
/// Evaluates to the statement's `Result<_, sqlx::Error>`.
macro_rules! relaxed {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            db @ $crate::db::Db::Sqlite(_) => {
                async {
                    let mut tx = db.begin_relaxed().await?;
                    let out = $crate::db::on_tx!(&mut tx, $c => $body)?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(out)
                }
                .await
            }
            $crate::db::Db::Postgres($c) => $body,
        }
    };
}

// Crate-private: the SQL lives in `store`, which is where these are used.
pub(crate) use {on_db, on_tx, relaxed};

/// The schema a PostgreSQL connection of `pool` works in (where the
/// migrations put Keyward's tables).
pub async fn current_schema(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await
}

/// Options for opening the database: what the configuration says
/// (`DbOptions::from(&config)`), and for tests a schema of their own.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// PostgreSQL only: the schema to use (created if missing); tests use one
    /// per test. `None` means the server's default search path.
    pub pg_schema: Option<String>,
    /// PostgreSQL only: the most connections the pool opens
    /// (`database_max_connections`).
    pub pg_max_connections: u32,
}

impl Db {
    /// Opens a pool for `url` and applies the migrations.
    pub async fn connect(url: &str, opts: &DbOptions) -> anyhow::Result<Self> {
        let db = if url.starts_with("sqlite:") {
            Self::Sqlite(open_sqlite(url).await?)
        } else {
            Self::Postgres(open_postgres(url, opts).await?)
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the embedded migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(s) => {
                sqlx::migrate!("../../migrations/sqlite")
                    .run(&s.pool)
                    .await?
            }
            Self::Postgres(p) => sqlx::migrate!("../../migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which
    /// takes the write lock up front: a deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY instead of waiting; and it waits
    /// for this process's write turn first (see [`SqliteTx`]). Its commit
    /// returns once the change is on disk.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.begin_with(true).await
    }

    /// Begins a write transaction whose commit need not wait for the disk:
    /// only for state whose loss in a power cut or OS crash is harmless
    /// (a challenge issued or used up, a last-seen time). Any durable commit
    /// after it makes it durable too (the WAL is written in order), so a
    /// relaxed change is never lost once a later acknowledged change is not.
    pub async fn begin_relaxed(&self) -> Result<Tx, sqlx::Error> {
        self.begin_with(false).await
    }

    async fn begin_with(&self, durable: bool) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(s) => {
                let turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, s.turn.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                Tx::Sqlite(SqliteTx {
                    tx: s.writer.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: turn,
                    durable: durable.then(|| s.group.clone()),
                })
            }
            // PostgreSQL commits in groups itself; a relaxed transaction
            // there is an ordinary one (an extra `SET LOCAL` round trip
            // cost more than the fsync it would spare).
            Self::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Which backend this is, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Whether every embedded migration is recorded as applied.
    pub async fn migrations_current(&self) -> Result<bool, sqlx::Error> {
        let expected = match self {
            Self::Sqlite(_) => sqlx::migrate!("../../migrations/sqlite").iter().count(),
            Self::Postgres(_) => sqlx::migrate!("../../migrations/postgres").iter().count(),
        };
        let applied: i64 = on_db!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(c).await)?;
        Ok(usize::try_from(applied).is_ok_and(|n| n >= expected))
    }

    /// Cheap liveness query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ()))
    }
}

impl Tx {
    /// Commits. A response that acknowledges a change is sent only after
    /// this; for a durable transaction it returns once the change is on disk.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(SqliteTx {
                tx,
                _turn: turn,
                durable,
            }) => {
                tx.commit().await?;
                // The next writer may go while this one waits for the disk.
                drop(turn);
                match durable {
                    Some(group) => group.sync_after_commit().await.map_err(sqlx::Error::Io),
                    None => Ok(()),
                }
            }
            Self::Postgres(t) => t.commit().await,
        }
    }
}

/// True when `err` is a unique-constraint violation on `constraint`.
/// This is the one place database constraint names become domain errors.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if !db.is_unique_violation() {
        return false;
    }
    // PostgreSQL names the constraint; SQLite names the columns in its message.
    db.constraint() == Some(constraint) || {
        let column = constraint.trim_end_matches("_key").replacen('_', ".", 1);
        db.message().contains(&column)
    }
}

/// For unit tests: a fresh, migrated SQLite database in a temporary
/// directory (kept as long as the returned directory lives).
#[cfg(test)]
pub(crate) async fn test_sqlite() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/k.db", dir.path().display());
    let Db::Sqlite(db) = Db::connect(&url, &DbOptions::from(&crate::Config::default()))
        .await
        .unwrap()
    else {
        unreachable!("a sqlite: URL opens SQLite")
    };
    (dir, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn write(tx: &mut Tx, key: &str) {
        on_tx!(tx, c => sqlx::query("INSERT INTO throttle (scope_key, failures, last_failure_at, blocked_until) VALUES ($1, 1, 0, 0)")
            .bind(key).execute(c).await.map(|r| r.rows_affected())).unwrap();
    }

    /// The server's memory stays bounded as the file grows: every
    /// connection, reading or writing, has a small page cache, and the
    /// reading pool is sized to the cores, not fixed.
    #[tokio::test]
    async fn every_connection_has_a_bounded_page_cache() {
        let (_dir, sqlite) = test_sqlite().await;
        let read: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&sqlite.pool)
            .await
            .unwrap();
        assert_eq!(
            read,
            -i64::from(open::READER_CACHE_KIB),
            "reading connection"
        );
        let db = Db::Sqlite(sqlite.clone());
        let mut tx = db.begin().await.unwrap();
        let written: i64 =
            on_tx!(&mut tx, c => sqlx::query_scalar("PRAGMA cache_size").fetch_one(c).await)
                .unwrap();
        assert_eq!(
            written,
            -i64::from(open::WRITER_CACHE_KIB),
            "writer connection"
        );
        drop(tx);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let readers = sqlite.pool.options().get_max_connections();
        assert!((2..=8).contains(&readers), "{readers} readers");
        assert!(
            readers as usize <= (cores * 2).max(2),
            "{readers} readers for {cores} cores"
        );
    }

    #[tokio::test]
    async fn durable_commits_wait_for_an_fsync_and_relaxed_ones_do_not() {
        let (_dir, sqlite) = test_sqlite().await;
        let db = Db::Sqlite(sqlite.clone());
        let before = sqlite.group_syncs();
        let mut tx = db.begin_relaxed().await.unwrap();
        write(&mut tx, "relaxed").await;
        tx.commit().await.unwrap();
        relaxed!(&db, c => sqlx::query("INSERT INTO throttle (scope_key, failures, last_failure_at, blocked_until) VALUES ('relaxed!', 1, 0, 0)")
            .execute(c).await.map(|_| ())).unwrap();
        assert_eq!(
            sqlite.group_syncs(),
            before,
            "a relaxed commit does not fsync"
        );
        // Installed before the commit, so the fsync is recorded.
        let metrics = crate::metrics::handle();
        let mut tx = db.begin().await.unwrap();
        write(&mut tx, "durable").await;
        tx.commit().await.unwrap();
        assert_eq!(
            sqlite.group_syncs(),
            before + 1,
            "a durable commit waits for one"
        );
        if let Some(h) = metrics {
            let text = h.render();
            let count = format!("{}_count", SYNC_DURATION);
            assert!(text.contains(&count), "the fsync's duration is recorded");
            let bucket = format!("{}_bucket{{le=\"0.00025\"}}", SYNC_DURATION);
            assert!(text.contains(&bucket), "with the fsync buckets: {text}");
        }
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT scope_key FROM throttle ORDER BY scope_key")
                .fetch_all(&sqlite.pool)
                .await
                .unwrap();
        assert_eq!(keys, ["durable", "relaxed", "relaxed!"], "all committed");
    }

    /// A COMMIT that fails on a full disk leaves SQLite without a
    /// transaction (it rolled back) while sqlx still counts one, and the
    /// rollback on drop then fails too. Reproduced here by ending the
    /// transaction behind sqlx's back: the writer must still begin again.
    #[tokio::test]
    async fn a_connection_left_inside_a_dead_transaction_is_not_reused() {
        let (_dir, sqlite) = test_sqlite().await;
        let db = Db::Sqlite(sqlite.clone());
        let mut tx = db.begin().await.unwrap();
        write(&mut tx, "lost").await;
        on_tx!(&mut tx, c => sqlx::query("ROLLBACK").execute(c).await.map(|_| ())).unwrap();
        drop(tx);
        let mut tx = db.begin().await.expect("the writer begins again");
        write(&mut tx, "kept").await;
        tx.commit().await.unwrap();
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM throttle")
            .fetch_one(&sqlite.pool)
            .await
            .unwrap();
        assert_eq!(kept, 1);
    }

    #[tokio::test]
    async fn writer_connections_commit_without_fsync_and_reads_use_full() {
        let (_dir, sqlite) = test_sqlite().await;
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&sqlite.pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "single statements on the pool: FULL");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&sqlite.writer)
            .await
            .unwrap();
        assert_eq!(
            sync, 1,
            "transactions: NORMAL, made durable by the group fsync"
        );
    }
}
