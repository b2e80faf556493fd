//! Opening the pools: SQLite's readers and its one writer, each with a
//! bounded page cache; PostgreSQL's pool, optionally in a schema of its own.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, PgPool, SqlitePool};

use super::{DbOptions, GroupCommit, SqliteDb};

/// Page cache of each reading SQLite connection, in KiB.
pub(super) const READER_CACHE_KIB: u32 = 512;

/// Page cache of the writer connection, in KiB: the upper levels of the
/// indexes every write walks. At 512 KiB a 10-minute soak's latency grew
/// minute by minute as the tables grew (p50 6.3 → 10.4 ms); SQLite's
/// default, 2 MiB, held it.
pub(super) const WRITER_CACHE_KIB: u32 = 4096;

/// Reading connections on SQLite: two per core this process may run on, at
/// least two and at most eight. Each is a thread with its own page cache; a
/// read takes microseconds, so more than the cores can run only costs
/// memory.
fn readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(2, 8)
}

pub(super) async fn open_sqlite(url: &str) -> anyhow::Result<SqliteDb> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a single statement the server acknowledged survives power
        // loss, not only a process crash (NORMAL in WAL mode may lose the
        // last ones). Write transactions use the writer pool below.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // A small page cache on each reading connection (SQLite's default
        // is 2 MiB each): SQLite empties a connection's cache whenever
        // another connection has written since its last read, which under
        // a write load is before nearly every read, so a large one only
        // holds memory. The writer's cache survives (it is the only writer)
        // and is sized below.
        .pragma("cache_size", format!("-{READER_CACHE_KIB}"));
    if let Some(path) = opts.get_filename().parent()
        && !path.as_os_str().is_empty()
    {
        std::fs::create_dir_all(path)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", path.display()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(readers())
        // An embedded connection cannot go stale, so the ping sqlx sends
        // before handing one out (a round trip to the connection's worker
        // thread on every acquire) buys nothing.
        .test_before_acquire(false)
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(opts.clone())
        .await?;
    // Writers take turns, so one connection is enough, and it keeps its page
    // cache: SQLite drops a connection's cache when another connection has
    // written since its last transaction.
    // NORMAL: COMMIT does not fsync; durable commits wait for the group's.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        // A COMMIT that failed (disk full, I/O error) can leave the
        // connection inside a transaction that SQLite already rolled back
        // and sqlx still counts; every later BEGIN on it would fail. Such a
        // connection is closed instead of reused, so writes resume as soon
        // as the disk does.
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(
            opts.synchronous(SqliteSynchronous::Normal)
                .pragma("cache_size", format!("-{WRITER_CACHE_KIB}")),
        )
        .await?;
    let group = Arc::new(GroupCommit::new(pool.connect_options().get_filename()));
    let turn = write_turn(&pool);
    Ok(SqliteDb {
        pool,
        writer,
        group,
        turn,
    })
}

pub(super) async fn open_postgres(url: &str, opts: &DbOptions) -> anyhow::Result<PgPool> {
    let mut connect = PgConnectOptions::from_str(url)?;
    if let Some(schema) = &opts.pg_schema {
        anyhow::ensure!(
            schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "schema name must be alphanumeric"
        );
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        connect = connect.options([("search_path", schema.as_str())]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(opts.pg_max_connections)
        // While PostgreSQL is down, a request waits this long for a
        // connection, then answers 503.
        .acquire_timeout(Duration::from_secs(5))
        // As for SQLite's writer: never reuse a connection a failed COMMIT
        // left inside a transaction.
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(connect)
        .await?)
}

/// The write turn of the SQLite database behind `pool` (one per file, so
/// two handles on one file in this process take turns too). Looked up once,
/// when the database is opened.
fn write_turn(pool: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    type Turns =
        std::collections::HashMap<std::path::PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>;
    static TURNS: std::sync::OnceLock<std::sync::Mutex<Turns>> = std::sync::OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    turns.entry(file).or_default().clone()
}
