//! The database: one pool on SQLite or PostgreSQL, migrations, and the
//! `on_db!` / `on_tx!` macros that run one SQL text on whichever backend is in
//! use. SQL is kept portable (`$1` placeholders, BIGINT millisecond times), so
//! each store function is written once and type-checked for both backends.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// A connection pool on one of the two supported databases.
#[derive(Debug, Clone)]
pub enum Db {
    /// Embedded SQLite (one file, WAL).
    Sqlite(SqlitePool),
    /// Shared PostgreSQL.
    Postgres(PgPool),
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

/// The write turn of the SQLite database behind `pool` (one per file).
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

/// How long a writer waits for its turn (as SQLite's busy timeout).
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$c` bound to the pool of whichever backend `$db` is.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($c) => $body,
            $crate::db::Db::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the connection of transaction `$tx`.
#[macro_export]
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

/// Options for opening the database.
#[derive(Debug, Clone, Default)]
pub struct DbOptions {
    /// PostgreSQL only: the schema to use (created if missing); tests use one
    /// per test. `None` means the server's default search path.
    pub pg_schema: Option<String>,
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
            Self::Sqlite(p) => sqlx::migrate!("../../migrations/sqlite").run(p).await?,
            Self::Postgres(p) => sqlx::migrate!("../../migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which
    /// takes the write lock up front: a deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY instead of waiting; and it waits
    /// for this process's write turn first (see [`SqliteTx`]).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(p) => {
                let turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, write_turn(p).lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                Tx::Sqlite(SqliteTx {
                    tx: p.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: turn,
                })
            }
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
    /// Commits. A response that acknowledges a change is sent only after this.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t) => t.tx.commit().await,
            Self::Postgres(t) => t.commit().await,
        }
    }
}

async fn open_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a transaction the server acknowledged survives power loss,
        // not only a process crash (NORMAL in WAL mode may lose the last ones).
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(path) = opts.get_filename().parent()
        && !path.as_os_str().is_empty()
    {
        std::fs::create_dir_all(path)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", path.display()))?;
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?)
}

async fn open_postgres(url: &str, opts: &DbOptions) -> anyhow::Result<PgPool> {
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
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await?)
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
