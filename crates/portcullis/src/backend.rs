//! Backend choice by URL scheme; migrations run on open (sqlx takes a lock on PostgreSQL,
//! so several nodes starting together migrate once).

use anyhow::{Result, bail};
use portcullis_store::Store;
use std::sync::Arc;

/// Connects to and migrates the store named by `url`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let store = portcullis_store_sqlite::SqliteStore::connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("opening SQLite database: {e}"))?;
            store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("migrating SQLite database: {e}"))?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "sqlite"))]
        bail!("this build has no SQLite support (feature `sqlite`)");
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = portcullis_store_postgres::PostgresStore::connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to PostgreSQL: {e}"))?;
            store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("migrating PostgreSQL database: {e}"))?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "postgres"))]
        bail!("this build has no PostgreSQL support (feature `postgres`)");
    }
    bail!("database_url must start with sqlite: or postgres://")
}
