//! The activity stream on SQLite: writing an entry inside a caller's transaction, and listing.

use crate::SqliteStore;
use crate::error::Outcome;
use crate::filter::SqliteDialect;
use portcullis_store::{
    ActivityEntry, ActivityQuery, ActivityStore, NewActivity, Page, StoreResult,
};
use portcullis_store_sql::{ActivityRow, DbTime, listings};
use sqlx::SqliteConnection;
use sqlx::types::Json;

/// Writes `entry` on `conn`, which is inside the transaction of the change it records.
pub(crate) async fn insert_activity(
    conn: &mut SqliteConnection,
    entry: &NewActivity,
) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO activity_stream \
         (timestamp, actor_id, operation, object1, object1_id, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(DbTime(entry.timestamp))
    .bind(entry.actor.map(|a| a.0))
    .bind(&entry.operation)
    .bind(&entry.object1)
    .bind(entry.object1_id)
    .bind(Json(&entry.changes))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl ActivityStore for SqliteStore {
    async fn record_activity(&self, entry: NewActivity) -> StoreResult<()> {
        let mut tx = self.write().await.map_err(crate::error::map_db_error)?;
        insert_activity(&mut tx, &entry).await?;
        tx.commit().await.map_err(crate::error::map_db_error)?;
        Ok(())
    }

    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<ActivityEntry>> {
        let listing = listings::activity::<SqliteDialect>(query);
        listing
            .fetch(&self.pool, ActivityRow::decode)
            .await
            .map_err(crate::error::map_db_error)
    }
}
