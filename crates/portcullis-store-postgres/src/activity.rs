//! The activity stream on PostgreSQL: writing an entry inside a caller's transaction, and
//! listing.

use crate::PostgresStore;
use crate::error::Outcome;
use crate::filter::PgDialect;
use portcullis_store::{
    ActivityEntry, ActivityQuery, ActivityStore, NewActivity, Page, StoreResult,
};
use portcullis_store_sql::{ActivityRow, DbTime, listings};
use sqlx::PgConnection;
use sqlx::types::Json;

/// Writes `entry` on `conn`, which is inside the transaction of the change it records.
pub(crate) async fn insert_activity(conn: &mut PgConnection, entry: &NewActivity) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO activity_stream \
         (timestamp, actor_id, operation, object1, object1_id, changes) \
         VALUES ($1, $2, $3, $4, $5, $6)",
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
impl ActivityStore for PostgresStore {
    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<ActivityEntry>> {
        let listing = listings::activity::<PgDialect>(query);
        listing
            .fetch(&self.pool, ActivityRow::decode)
            .await
            .map_err(crate::error::map_db_error)
    }

    async fn record_activity(&self, entry: NewActivity) -> StoreResult<()> {
        let entry = &entry;
        crate::error::retry(move || async move {
            let mut tx = self.pool.begin().await?;
            insert_activity(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
