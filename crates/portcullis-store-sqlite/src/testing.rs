//! Test support: real SQLite conditions that are awkward to produce from outside.
//!
//! Policy: nothing here fakes a result. The limits are SQLite's own, so a write that needs
//! more room fails inside SQLite with `SQLITE_FULL`, exactly as on a full disk, and the store
//! goes down the same error paths.

use crate::SqliteStore;
use crate::error::map_db_error;
use portcullis_store::StoreResult;

/// SQLite's largest page count: lifting the cap sets this.
const MAX_PAGES: i64 = 4_294_967_294;

impl SqliteStore {
    /// Caps the database at its current size on the writer connection
    /// (`PRAGMA max_page_count`): the next write that needs a new page fails with
    /// `SQLITE_FULL`. The cap lives on that connection only (a replacement connection has
    /// none), and reads are not affected. Returns the page count it capped at.
    pub async fn cap_size_for_tests(&self) -> StoreResult<i64> {
        let mut conn = self.writer.acquire().await.map_err(map_db_error)?;
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_db_error)
    }

    /// Lifts the cap of [`SqliteStore::cap_size_for_tests`]: the disk has room again.
    pub async fn lift_size_cap_for_tests(&self) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await.map_err(map_db_error)?;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {MAX_PAGES}"
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_db_error)
        .map(|_| ())
    }
}
