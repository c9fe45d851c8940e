//! [`ChangeStore`] on SQLite: the triggers of migration 0007 fill `change_log`; one server
//! polls it. Writers are serialised, so a reader that remembers the highest `seq` it has
//! seen never skips an entry.

use crate::SqliteStore;
use crate::error::map_db_error;
use portcullis_store::{
    ChangeBatch, ChangeCursor, ChangeEntry, ChangeFeed, ChangeStore, StoreResult,
};
use sqlx::Row;
use time::OffsetDateTime;

#[async_trait::async_trait]
impl ChangeStore for SqliteStore {
    async fn change_cursor(&self) -> StoreResult<ChangeCursor> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM change_log")
            .fetch_one(&self.pool)
            .await
            .map_err(map_db_error)?;
        Ok(ChangeCursor(seq.unwrap_or(0)))
    }

    async fn changes_since(&self, cursor: ChangeCursor) -> StoreResult<ChangeBatch> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, key FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT 10000",
        )
        .bind(cursor.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_db_error)?;
        let mut next = cursor;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq").map_err(map_db_error)?;
            let at: i64 = row.try_get("at").map_err(map_db_error)?;
            let kind: String = row.try_get("kind").map_err(map_db_error)?;
            let key: String = row.try_get("key").map_err(map_db_error)?;
            next = ChangeCursor(seq);
            entries.push(ChangeEntry::new(seq, at, &kind, &key));
        }
        Ok(ChangeBatch {
            entries,
            cursor: next,
        })
    }

    async fn purge_changes(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let ms = portcullis_core::clock::unix_ms(before);
        let mut tx = self.write().await.map_err(map_db_error)?;
        let done = sqlx::query("DELETE FROM change_log WHERE at < ?1")
            .bind(ms)
            .execute(&mut *tx)
            .await
            .map_err(map_db_error)?;
        tx.commit().await.map_err(map_db_error)?;
        Ok(done.rows_affected())
    }

    async fn change_feed(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        Ok(None)
    }
}
