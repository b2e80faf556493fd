//! Group commit for SQLite. Write transactions commit with
//! `synchronous=NORMAL` (SQLite writes the WAL frames but does not fsync), and
//! then wait here until an `fdatasync` of the WAL file that started after
//! their COMMIT has finished. One fsync then makes every transaction that
//! committed before it durable, so concurrent writers share fsyncs instead of
//! each holding the write lock through its own, which is what
//! `synchronous=FULL` does.
//!
//! Why this is as durable as FULL: a commit's frames are in the WAL file
//! (in the page cache) when COMMIT returns; the caller acknowledges nothing
//! until [`GroupCommit::sync_after_commit`] returns, and that waits for an
//! `fdatasync` of the WAL that began after the COMMIT. Checkpoints sync the
//! WAL and the database themselves in NORMAL mode. See docs/reliability.md.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::Mutex;

/// How long each fsync took, in seconds (a Prometheus histogram; its
/// buckets and description are set in `crate::metrics`). Every durable
/// commit waits for one or two of them, so this is the disk's share of a
/// write request's latency, told apart from the server's own.
pub const SYNC_DURATION: &str = "keyward_db_sync_duration_seconds";

/// Shared by every writer of one database file.
#[derive(Debug)]
pub struct GroupCommit {
    database: PathBuf,
    wal: PathBuf,
    /// Commits finished so far (a ticket counter).
    committed: AtomicU64,
    /// The highest ticket known to be on disk; holding the lock means "I am
    /// the one syncing", and later writers queue behind it.
    synced: Mutex<u64>,
    /// The directory entry of the WAL file is synced once per process.
    directory_synced: AtomicBool,
    /// fsyncs done (for tests and metrics).
    syncs: AtomicU64,
}

impl GroupCommit {
    /// For the database file `database` (its WAL is `database-wal`).
    pub fn new(database: &Path) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            database: database.to_path_buf(),
            wal: PathBuf::from(wal),
            committed: AtomicU64::new(0),
            synced: Mutex::new(0),
            directory_synced: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        }
    }

    /// Call right after a COMMIT returned: returns once that commit is on disk.
    pub async fn sync_after_commit(&self) -> std::io::Result<()> {
        // Taken after COMMIT returned, so any sync that reads the counter at
        // or above this ticket started after this commit's frames were written.
        let ticket = self.committed.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            return Ok(());
        }
        let target = self.committed.load(Ordering::SeqCst);
        let wal = self.wal.clone();
        let database = self.database.clone();
        let directory = !self.directory_synced.load(Ordering::Relaxed);
        let started = Instant::now();
        tokio::task::spawn_blocking(move || sync_files(&wal, &database, directory))
            .await
            .map_err(std::io::Error::other)??;
        metrics::histogram!(SYNC_DURATION).record(started.elapsed().as_secs_f64());
        self.directory_synced.store(true, Ordering::Relaxed);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = target;
        Ok(())
    }

    /// How many fsyncs have been done.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// fdatasync of the WAL, opened afresh (a WAL deleted and re-created since
/// would otherwise be missed). Without a WAL file, everything is in the
/// database file (the last connection checkpointed and removed the WAL):
/// sync that instead.
fn sync_files(wal: &Path, database: &Path, directory: bool) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::File::open(database)?.sync_all()?;
        }
        Err(e) => return Err(e),
    }
    if directory && let Some(dir) = wal.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_commits_share_fsyncs_and_each_waits_for_one() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("k.db");
        std::fs::write(&database, b"db").unwrap();
        std::fs::write(dir.path().join("k.db-wal"), b"wal").unwrap();
        let group = std::sync::Arc::new(GroupCommit::new(&database));
        group.sync_after_commit().await.unwrap();
        assert_eq!(group.syncs(), 1, "a lone commit gets its own fsync");
        let waiters: Vec<_> = (0..64)
            .map(|_| {
                let g = group.clone();
                tokio::spawn(async move { g.sync_after_commit().await })
            })
            .collect();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        // The first waiter syncs alone; the others take their tickets while
        // that fsync runs on a blocking thread and queue, and the next sync
        // covers every ticket taken before it began. How many take theirs
        // before the first fsync ends depends on the disk and the build (an
        // fsync on tmpfs returns at once): usually 3 syncs, seen 4, never
        // anything near one per commit.
        assert!(group.syncs() <= 8, "fsyncs shared: {}", group.syncs());
        assert_eq!(*group.synced.lock().await, 65, "all 65 tickets synced");
    }

    #[tokio::test]
    async fn a_missing_wal_syncs_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("k.db");
        std::fs::write(&database, b"db").unwrap();
        let group = GroupCommit::new(&database);
        group.sync_after_commit().await.unwrap();
        assert_eq!(group.syncs(), 1);
        let gone = GroupCommit::new(&dir.path().join("missing.db"));
        assert!(
            gone.sync_after_commit().await.is_err(),
            "nothing to sync is an error"
        );
    }
}
