//! Portcullis storage on SQLite: the default, single-node backend.
//!
//! Policy: durability first. Every connection runs with `journal_mode=WAL`, `synchronous=FULL`,
//! `foreign_keys=ON` and `busy_timeout=5000`, and [`SqliteStore::connect`] reads them back and
//! refuses to hand out a store if any differs (`docs/security.md`, "Durability"). Every write runs
//! in a transaction opened with `BEGIN IMMEDIATE`, so a writer takes the write lock up front and
//! waits on the busy timeout instead of failing half-way when a read transaction would need
//! upgrading. Instants are INTEGER Unix milliseconds. Queries are checked at run time
//! (`sqlx::query` + `bind`) and kept honest by the shared conformance suite.

mod activity;
mod apps;
mod changes;
mod connect;
mod error;
mod filter;
mod group_commit;
mod mdr;
mod mdr_admins;
mod mdr_objects;
mod resources;
mod sessions;
mod settings;
mod signing_keys;
mod sso;
mod testing;
mod throttle;
mod tokens;
mod users;

pub use connect::Pragmas;

use error::map_db_error;
use portcullis_store::{Store, StoreError, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The embedded schema migrations (`migrations/`, same names as the PostgreSQL backend's).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The SQLite implementation of every storage trait. Cheap to clone (it is a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection write transactions use (the same pool as `pool` in memory).
    writer: SqlitePool,
    /// Exchanges and token creations waiting for the next group commit.
    batch: std::sync::Arc<group_commit::Batcher>,
}

impl SqliteStore {
    /// Applies the embedded migrations that have not run yet. `connect` never migrates.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("sqlite: migration failed: {e}")))
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Opens a write transaction with `BEGIN IMMEDIATE`: the write lock is taken (waiting up to
    /// the busy timeout) before anything is read, so the transaction can never fail later on a
    /// lock upgrade, and the values it reads cannot change before it commits.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_db_error)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_stats(&self) -> portcullis_store::PoolStats {
        portcullis_store::PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }
}
