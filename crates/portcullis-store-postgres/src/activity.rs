//! The activity stream on PostgreSQL: writing an entry inside a caller's transaction, and
//! listing.

use crate::PostgresStore;
use crate::error::Outcome;
use portcullis_core::clock::round_ms;
use portcullis_core::ids::UserId;
use portcullis_store::activity::ActivityField;
use portcullis_store::{
    ActivityEntry, ActivityQuery, ActivityStore, NewActivity, Page, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

/// Writes `entry` on `conn`, which is inside the transaction of the change it records.
pub(crate) async fn insert_activity(conn: &mut PgConnection, entry: &NewActivity) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO activity_stream \
         (timestamp, actor_id, operation, object1, object1_id, changes) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(round_ms(entry.timestamp))
    .bind(entry.actor.map(|a| a.0))
    .bind(&entry.operation)
    .bind(&entry.object1)
    .bind(entry.object1_id)
    .bind(Json(&entry.changes))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Decodes one stored entry.
fn entry_from_row(row: &PgRow) -> Result<ActivityEntry, sqlx::Error> {
    let Json(changes) = row.try_get::<Json<serde_json::Value>, _>("changes")?;
    Ok(ActivityEntry {
        id: row.try_get("id")?,
        entry: NewActivity {
            timestamp: row.try_get("timestamp")?,
            actor: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
            operation: row.try_get("operation")?,
            object1: row.try_get("object1")?,
            object1_id: row.try_get("object1_id")?,
            changes,
        },
    })
}

/// The column of an order field (a fixed table: names are never interpolated from input).
/// Text sorts in byte order (`COLLATE "C"`), as on SQLite.
fn column(field: ActivityField) -> &'static str {
    match field {
        ActivityField::Id => "id",
        ActivityField::Timestamp => "timestamp",
        ActivityField::Operation => "operation COLLATE \"C\"",
        ActivityField::Object1 => "object1 COLLATE \"C\"",
        ActivityField::Actor => "actor_id",
    }
}

/// Appends the `WHERE` clause of `query`.
fn push_where(qb: &mut QueryBuilder<Postgres>, query: &ActivityQuery) {
    qb.push(" WHERE TRUE");
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
        qb.push(" AND timestamp = ").push_bind(round_ms(ts));
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
fn push_order(qb: &mut QueryBuilder<Postgres>, query: &ActivityQuery) {
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

impl PostgresStore {
    /// See [`ActivityStore::list_activity`].
    async fn page_activity(&self, query: &ActivityQuery) -> Outcome<Page<ActivityEntry>> {
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM activity_stream");
        push_where(&mut count, query);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select = QueryBuilder::<Postgres>::new(
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
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { total, items })
    }
}

#[async_trait::async_trait]
impl ActivityStore for PostgresStore {
    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<ActivityEntry>> {
        Ok(self.page_activity(query).await?)
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
