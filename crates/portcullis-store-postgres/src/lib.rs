//! Portcullis storage on PostgreSQL: the backend for several stateless nodes.
//!
//! Policy: every security-relevant write is one transaction, committed before the call returns, on
//! connections that run with `synchronous_commit = on` ([`PostgresStore::connect`] refuses to hand
//! out a store otherwise, `docs/security.md`, "Durability"). Transactions run at READ COMMITTED and
//! take row locks where two nodes could race (a login locks its user row, so the session cap holds
//! across nodes); a serialization failure or deadlock is retried at most three times, then answered
//! `Unavailable`. Instants are `timestamptz` rounded to milliseconds. Queries are checked at run
//! time (`sqlx::query` + `bind`) and kept honest by the shared conformance suite.

mod activity;
mod apps;
mod changes;
mod connect;
mod error;
mod filter;
mod mdr;
mod mdr_admins;
mod mdr_objects;
mod resources;
mod sessions;
mod settings;
mod signing_keys;
mod sso;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod tokens;
mod users;

use error::map_db_error;
use portcullis_store::{Store, StoreError, StoreResult};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

/// The embedded schema migrations (`migrations/`, same names as the SQLite backend's).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL implementation of every storage trait. Cheap to clone (it is a pool handle).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Applies the embedded migrations that have not run yet. Safe to run from several nodes
    /// at once (sqlx holds an advisory lock while migrating). `connect` never migrates.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("postgres: migration failed: {e}")))
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_db_error)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_stats(&self) -> portcullis_store::PoolStats {
        portcullis_store::PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }
}
