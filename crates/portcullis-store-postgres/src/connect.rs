//! Opening the pool and refusing a server that would acknowledge writes before they are
//! durable.

use crate::PostgresStore;
use crate::error::map_db_error;
use portcullis_store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// How long a call waits for a pooled connection before failing with `Unavailable`
/// (`docs/security.md`, "Fail closed").
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections per node. Several nodes share the server's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;

impl PostgresStore {
    /// Opens a pool on `url` (`postgres://user@host:port/db?…`). Every connection asks for
    /// `synchronous_commit = on`; the setting is read back once here and the store is refused
    /// with `Unavailable` if it reads anything else (an acknowledged write must survive a
    /// crash). Also `Unavailable` when the URL is invalid or the server cannot be reached
    /// within the 3 s acquire timeout. Does not migrate.
    ///
    /// The pool reconnects by itself after an outage: a broken connection is discarded on
    /// its next use and replaced.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("postgres: invalid URL: {e}")))?
            .options([("synchronous_commit", "on")])
            .application_name("portcullis");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_db_error)?;
        let store = Self { pool };
        if let Err(e) = store.check_synchronous_commit().await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// The `synchronous_commit` setting as a pooled connection reports it.
    pub async fn synchronous_commit(&self) -> StoreResult<String> {
        sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&self.pool)
            .await
            .map_err(map_db_error)
    }

    /// Refuses the store unless `synchronous_commit` reads `on` (`docs/security.md`, "Durability").
    async fn check_synchronous_commit(&self) -> StoreResult<()> {
        let value = self.synchronous_commit().await?;
        if value == "on" {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "postgres: refusing to serve, synchronous_commit is {value:?} (need \"on\")"
            )))
        }
    }
}
