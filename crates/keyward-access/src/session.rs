//! The tower-sessions store over sqlx, for either backend, and the cookie
//! settings Keyward's sessions must have (architecture §6, invariant 7).

use async_trait::async_trait;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "kw_session";

/// A session store on whichever database Keyward runs on. Sessions live in
/// the database so any instance can serve any request.
#[derive(Debug, Clone)]
pub enum AnySessionStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// Shared PostgreSQL.
    Postgres(PostgresStore),
}

impl AnySessionStore {
    /// A store on a SQLite pool.
    pub fn sqlite(pool: SqlitePool) -> Self {
        Self::Sqlite(SqliteStore::new(pool))
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
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for AnySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for AnySessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
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
    /// expiring on inactivity. Session ids are tower-sessions' 128-bit random ids.
    pub fn layer(&self, store: AnySessionStore) -> SessionManagerLayer<AnySessionStore> {
        let idle = Duration::seconds(i64::try_from(self.idle.as_secs()).unwrap_or(i64::MAX));
        SessionManagerLayer::new(store)
            .with_name(COOKIE_NAME)
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_secure(self.secure)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle))
    }
}
