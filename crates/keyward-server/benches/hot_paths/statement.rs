//! What one SQLite statement costs through sqlx, against the same statement
//! run on the calling thread. sqlx runs each SQLite connection on a thread
//! of its own and hands it every statement over a channel (a wake-up there
//! and another back); Keyward's step-up runs ~44 statements. The direct
//! variant opens the same file with rusqlite (the same libsqlite3-sys), a
//! prepared statement run on the calling thread, as sqlx caches its own.
//! Run it on one core, as the yardstick pins the server (docs/benchmarks.md,
//! "Fifth sitting"):
//!
//!     taskset -c 0 target/release/deps/hot_paths-<hash> --bench "sqlite point read"

use criterion::Criterion;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

const ROWS: i64 = 1000;
const SELECT: &str = "SELECT v FROM t WHERE id = ?";

pub fn statement(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("bench.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = rt.block_on(async {
        let mut conn = options.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        for id in 0..ROWS {
            sqlx::query("INSERT INTO t (id, v) VALUES (?, ?)")
                .bind(id)
                .bind(format!("value {id:08}"))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        conn
    });
    let pool = rt
        .block_on(
            SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options.clone()),
        )
        .unwrap();

    let mut id = 0;
    let mut next = move || {
        id = (id + 7) % ROWS;
        id
    };
    c.bench_function("sqlite point read: through a sqlx pool (as Keyward)", |b| {
        b.iter(|| {
            rt.block_on(
                sqlx::query_scalar::<_, String>(SELECT)
                    .bind(next())
                    .fetch_one(&pool),
            )
            .unwrap()
        })
    });
    c.bench_function("sqlite point read: through a sqlx connection", |b| {
        b.iter(|| {
            rt.block_on(
                sqlx::query_scalar::<_, String>(SELECT)
                    .bind(next())
                    .fetch_one(&mut conn),
            )
            .unwrap()
        })
    });
    // The same file, on a connection SQLite runs on the calling thread.
    let direct = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    let mut stmt = direct.prepare_cached(SELECT).unwrap();
    c.bench_function("sqlite point read: on the calling thread (rusqlite)", |b| {
        b.iter(|| {
            stmt.query_row([next()], |row| row.get::<_, String>(0))
                .unwrap()
        })
    });
}
