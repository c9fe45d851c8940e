//! Integration tests of the SQLite backend: the shared conformance suite on a fresh file
//! database per test and again on `sqlite::memory:`, plus the SQLite-only guarantees
//! (pragmas, file mode, connect failures, recovery from a full disk) and the migration-name
//! comparison with PostgreSQL.

mod connect;
mod disk_full;
mod migrations;

use portcullis_store::Store;
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A fresh, migrated file database in its own temporary directory. The directory is handed to
/// a task that never finishes, so it lives exactly as long as the test's runtime and is removed
/// when the runtime drops that task at the end of the test.
#[expect(
    clippy::expect_used,
    reason = "test setup: a failure must fail the test"
)]
async fn file_store() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/portcullis.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    tokio::spawn(async move {
        let _dir = dir;
        std::future::pending::<()>().await;
    });
    Some(Arc::new(store))
}

/// A fresh, migrated in-memory database (one connection).
#[expect(
    clippy::expect_used,
    reason = "test setup: a failure must fail the test"
)]
async fn memory_store() -> Option<Arc<dyn Store>> {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some(Arc::new(store))
}

portcullis_store::conformance_tests!(file_store);

/// The whole suite again on an in-memory database, the other configuration tests use.
mod memory {
    portcullis_store::conformance_tests!(super::memory_store);
}
