//! The activity stream on SQLite: writing an entry inside a caller's transaction, and listing.

use crate::SqliteStore;
use crate::error::{Outcome, corrupt};
use portcullis_core::clock::{from_unix_ms, unix_ms};
use portcullis_core::ids::UserId;
use portcullis_store::activity::ActivityField;
use portcullis_store::{
    ActivityEntry, ActivityQuery, ActivityStore, NewActivity, Page, StoreError, StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// Writes `entry` on `conn`, which is inside the transaction of the change it records.
pub(crate) async fn insert_activity(
    conn: &mut SqliteConnection,
    entry: &NewActivity,
) -> Outcome<()> {
    let changes = serde_json::to_string(&entry.changes).map_err(|e| {
        StoreError::Unavailable(format!("sqlite: cannot encode activity changes: {e}"))
    })?;
    sqlx::query(
        "INSERT INTO activity_stream \
         (timestamp, actor_id, operation, object1, object1_id, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(unix_ms(entry.timestamp))
    .bind(entry.actor.map(|a| a.0))
    .bind(&entry.operation)
    .bind(&entry.object1)
    .bind(entry.object1_id)
    .bind(changes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Decodes one stored entry.
fn entry_from_row(row: &SqliteRow) -> Outcome<ActivityEntry> {
    let changes: String = row.try_get("changes")?;
    let changes = serde_json::from_str(&changes).map_err(|_| corrupt("activity changes"))?;
    Ok(ActivityEntry {
        id: row.try_get("id")?,
        entry: NewActivity {
            timestamp: from_unix_ms(row.try_get("timestamp")?),
            actor: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
            operation: row.try_get("operation")?,
            object1: row.try_get("object1")?,
            object1_id: row.try_get("object1_id")?,
            changes,
        },
    })
}

/// The column of an order field (a fixed table: names are never interpolated from input).
fn column(field: ActivityField) -> &'static str {
    match field {
        ActivityField::Id => "id",
        ActivityField::Timestamp => "timestamp",
        ActivityField::Operation => "operation",
        ActivityField::Object1 => "object1",
        ActivityField::Actor => "actor_id",
    }
}

/// Appends the `WHERE` clause of `query`.
fn push_where(qb: &mut QueryBuilder<Sqlite>, query: &ActivityQuery) {
    qb.push(" WHERE 1 = 1");
    if let Some(object1) = &query.object1 {
        qb.push(" AND object1 = ").push_bind(object1.clone());
    }
    if let Some(id) = query.object1_id {
        qb.push(" AND object1_id = ").push_bind(id);
    }
    if let Some(actor) = query.actor {
        qb.push(" AND actor_id = ").push_bind(actor.0);
    }
    if let Some(id) = query.id {
        qb.push(" AND id = ").push_bind(id);
    }
    if let Some(operation) = &query.operation {
        qb.push(" AND operation = ").push_bind(operation.clone());
    }
    if let Some(ts) = query.timestamp {
        qb.push(" AND timestamp = ").push_bind(unix_ms(ts));
    }
    if let Some(user) = query.involving {
        qb.push(" AND (actor_id = ")
            .push_bind(user.0)
            .push(" OR (object1 = 'user' AND object1_id = ")
            .push_bind(user.0)
            .push("))");
    }
}

/// Appends the `ORDER BY` clause of `query`: its order with the id tie-break, or newest first.
fn push_order(qb: &mut QueryBuilder<Sqlite>, query: &ActivityQuery) {
    let Some(order) = query.order else {
        qb.push(" ORDER BY id DESC");
        return;
    };
    let direction = if order.descending { " DESC" } else { " ASC" };
    qb.push(" ORDER BY ")
        .push(column(order.field))
        .push(direction);
    if order.field == ActivityField::Actor {
        // Spelled out so both backends page identically.
        qb.push(if order.descending {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
    if order.field != ActivityField::Id {
        qb.push(", id ASC");
    }
}

impl SqliteStore {
    /// See [`ActivityStore::list_activity`].
    async fn page_activity(&self, query: &ActivityQuery) -> Outcome<Page<ActivityEntry>> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM activity_stream");
        push_where(&mut count, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT id, timestamp, actor_id, operation, object1, object1_id, changes \
             FROM activity_stream",
        );
        push_where(&mut select, query);
        push_order(&mut select, query);
        select
            .push(" LIMIT ")
            .push_bind(query.limit.max(0))
            .push(" OFFSET ")
            .push_bind(query.offset.max(0));
        let rows = select.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(entry_from_row)
            .collect::<Outcome<Vec<_>>>()?;
        Ok(Page { total, items })
    }
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
        Ok(self.page_activity(query).await?)
    }
}
