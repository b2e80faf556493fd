//! The tower-sessions store over sqlx, for either backend, and the cookie
//! settings Keyward's sessions must have (architecture §6, invariant 7).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Name of the session cookie (over http, i.e. on localhost).
pub const COOKIE_NAME: &str = "kw_session";

/// Name of the session cookie over https: the `__Host-` prefix makes the
/// browser refuse it unless it is `Secure`, for this host only and `Path=/`,
/// so a sibling sub-domain cannot plant or overwrite it.
pub const SECURE_COOKIE_NAME: &str = "__Host-kw_session";

/// The id a session is stored under: a hash of the cookie's id, so a copy of
/// the sessions table (a backup, a read-only SQL injection) holds no usable
/// session cookie.
fn stored_id(id: &Id) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"keyward-session-id-v1\0")
        .chain_update(id.0.to_le_bytes())
        .finalize();
    let mut half = [0u8; 16];
    half.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(half))
}

/// `record` as stored: under the hash of its id.
fn stored_record(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        data: record.data.clone(),
        expiry_date: record.expiry_date,
    }
}

/// A session store on whichever database Keyward runs on. Sessions live in
/// the database so any instance can serve any request.
#[derive(Debug, Clone)]
pub enum AnySessionStore {
    /// Embedded SQLite: sessions are read on the reading pool and written
    /// on the writer connection, in the process's write turn.
    Sqlite {
        /// The store on the reading pool.
        read: SqliteStore,
        /// The store on the writer connection.
        write: SqliteStore,
        /// The write turn every writer in this process takes.
        turn: Arc<Mutex<()>>,
    },
    /// Shared PostgreSQL.
    Postgres(PostgresStore),
}

impl AnySessionStore {
    /// A store on SQLite: `read` for loads, `writer` (one connection that
    /// commits without an fsync of its own) for writes, taken in `turn`.
    ///
    /// Why writes are relaxed: a session row is not what makes a request
    /// signed in — the login record is, written durably and checked on
    /// every request — so a session written just before a power cut may be
    /// lost (sign in again) and a deleted one may come back with its login
    /// already ended (refused). Writing sessions on the reading pool, each
    /// statement with its own fsync inside SQLite's write lock, made every
    /// other writer wait on the disk.
    pub fn sqlite(read: SqlitePool, writer: SqlitePool, turn: Arc<Mutex<()>>) -> Self {
        Self::Sqlite {
            read: SqliteStore::new(read),
            write: SqliteStore::new(writer),
            turn,
        }
    }

    /// A store on a PostgreSQL pool, in `schema` (default `tower_sessions`).
    pub fn postgres(pool: PgPool, schema: Option<&str>) -> Result<Self, String> {
        let store = PostgresStore::new(pool);
        let store = match schema {
            Some(schema) => store.with_schema_name(schema)?,
            None => store,
        };
        Ok(Self::Postgres(store))
    }

    /// Creates the store's table if it is missing.
    pub async fn migrate(&self) -> Result<(), tower_sessions_sqlx_store::sqlx::Error> {
        match self {
            Self::Sqlite { write, turn, .. } => {
                let _turn = turn.lock().await;
                write.migrate().await
            }
            Self::Postgres(s) => s.migrate().await,
        }
    }
}

impl AnySessionStore {
    async fn inner_create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite { write, turn, .. } => {
                let _turn = turn.lock().await;
                write.create(record).await
            }
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn inner_delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite { write, turn, .. } => {
                let _turn = turn.lock().await;
                write.delete(id).await
            }
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

/// Sessions are stored under the hash of their id ([`stored_id`]); the
/// cookie carries the id itself.
#[async_trait]
impl SessionStore for AnySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let mut stored = stored_record(record);
            let wanted = stored.id;
            self.inner_create(&mut stored).await?;
            if stored.id == wanted {
                return Ok(());
            }
            // The hash met a stored session's (odds 2^-128) and the inner
            // store picked a random id of its own, which no cookie could name:
            // drop that record and start again from a new id.
            self.inner_delete(&stored.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = stored_record(record);
        match self {
            Self::Sqlite { write, turn, .. } => {
                let _turn = turn.lock().await;
                write.save(&stored).await
            }
            Self::Postgres(s) => s.save(&stored).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let stored = stored_id(id);
        let found = match self {
            Self::Sqlite { read, .. } => read.load(&stored).await?,
            Self::Postgres(s) => s.load(&stored).await?,
        };
        Ok(found.map(|mut record| {
            record.id = *id;
            record
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner_delete(&stored_id(id)).await
    }
}

#[async_trait]
impl ExpiredDeletion for AnySessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite { write, turn, .. } => {
                let _turn = turn.lock().await;
                write.delete_expired().await
            }
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Cookie and lifetime settings for the session layer.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Mark the cookie `Secure` (the origin is https).
    pub secure: bool,
    /// Idle timeout: a session unused this long is gone.
    pub idle: std::time::Duration,
}

impl SessionSettings {
    /// The session layer: `HttpOnly`, `SameSite=Strict`, `Secure` over https,
    /// expiring on inactivity, `__Host-` prefixed over https. Session ids are
    /// tower-sessions' 128-bit random ids, stored hashed.
    pub fn layer(&self, store: AnySessionStore) -> SessionManagerLayer<AnySessionStore> {
        let idle = Duration::seconds(i64::try_from(self.idle.as_secs()).unwrap_or(i64::MAX));
        let name = if self.secure {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        };
        SessionManagerLayer::new(store)
            .with_name(name)
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_secure(self.secure)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle))
    }
}
