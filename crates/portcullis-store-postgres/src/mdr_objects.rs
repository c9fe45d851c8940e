//! [`MdrObjectStore`] on PostgreSQL: the protected resource API's objects as JSON documents
//! (`docs/mdr-api.md`, "Resource API"), attachment bytes beside them, and the per-customer incident
//! numbers.
//!
//! Policy: one indexed read per listing (customer, kind, optionally parent, in creation order);
//! the service filters, sorts and pages. Writes of an existing object are compare-and-set on
//! `updated_ms` in one conditional `UPDATE`, so of two concurrent changes of one incident the
//! second finds the version moved and retries in the service instead of losing the first.
//! Incident numbers come from one atomic upsert of a per-customer counter row, so concurrent
//! creations on any number of nodes never share a number.

use crate::PostgresStore;
use crate::error::{Outcome, retry};
use portcullis_store::{MdrObject, MdrObjectStore, StoreError, StoreResult};
use portcullis_store_sql::{ObjectRow, object_columns};
use sqlx::types::Json;

impl PostgresStore {
    /// One attempt of [`MdrObjectStore::insert_object`] (`upsert` false) or
    /// [`MdrObjectStore::upsert_object`] (`upsert` true: every column replaced, bytes too).
    async fn write_object(
        &self,
        object: &MdrObject,
        content: Option<&[u8]>,
        upsert: bool,
    ) -> Outcome<()> {
        let sql = if upsert {
            concat!(
                "INSERT INTO mdr_objects (",
                object_columns!(),
                ", content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (client_id, kind, id) DO UPDATE SET \
                   parent_id = EXCLUDED.parent_id, tenant_id = EXCLUDED.tenant_id, \
                   created_ms = EXCLUDED.created_ms, updated_ms = EXCLUDED.updated_ms, \
                   data = EXCLUDED.data, content = EXCLUDED.content"
            )
        } else {
            concat!(
                "INSERT INTO mdr_objects (",
                object_columns!(),
                ", content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            )
        };
        sqlx::query(sql)
            .bind(&object.client_id)
            .bind(&object.kind)
            .bind(&object.id)
            .bind(object.parent_id.as_deref())
            .bind(object.tenant_id.as_deref())
            .bind(object.created_ms)
            .bind(object.updated_ms)
            .bind(Json(&object.data))
            .bind(content)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One attempt of [`MdrObjectStore::replace_object`].
    async fn swap_object(&self, object: &MdrObject, expected_updated_ms: i64) -> Outcome<bool> {
        // The compare-and-set: the row changes only while its version is the one the caller
        // read. The stored bytes of an attachment stay.
        let changed = sqlx::query(
            "UPDATE mdr_objects SET parent_id = $4, tenant_id = $5, created_ms = $6, \
               updated_ms = $7, data = $8 \
             WHERE client_id = $1 AND kind = $2 AND id = $3 AND updated_ms = $9",
        )
        .bind(&object.client_id)
        .bind(&object.kind)
        .bind(&object.id)
        .bind(object.parent_id.as_deref())
        .bind(object.tenant_id.as_deref())
        .bind(object.created_ms)
        .bind(object.updated_ms)
        .bind(Json(&object.data))
        .bind(expected_updated_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(true);
        }
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM mdr_objects \
             WHERE client_id = $1 AND kind = $2 AND id = $3)",
        )
        .bind(&object.client_id)
        .bind(&object.kind)
        .bind(&object.id)
        .fetch_one(&self.pool)
        .await?;
        if exists {
            Ok(false)
        } else {
            Err(StoreError::NotFound.into())
        }
    }

    /// One attempt of [`MdrObjectStore::delete_object`].
    async fn remove_object(&self, client_id: &str, kind: &str, id: &str) -> Outcome<()> {
        let deleted =
            sqlx::query("DELETE FROM mdr_objects WHERE client_id = $1 AND kind = $2 AND id = $3")
                .bind(client_id)
                .bind(kind)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound.into());
        }
        Ok(())
    }

    /// See [`MdrObjectStore::object`].
    async fn find_object(
        &self,
        client_id: &str,
        kind: &str,
        id: &str,
    ) -> Outcome<Option<MdrObject>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            object_columns!(),
            " FROM mdr_objects WHERE client_id = $1 AND kind = $2 AND id = $3"
        ))
        .bind(client_id)
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(ObjectRow::decode).transpose()?)
    }

    /// See [`MdrObjectStore::objects`].
    async fn list_objects(
        &self,
        client_id: &str,
        kind: &str,
        parent_id: Option<&str>,
    ) -> Outcome<Vec<MdrObject>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            object_columns!(),
            " FROM mdr_objects WHERE client_id = $1 AND kind = $2 \
               AND ($3::text IS NULL OR parent_id = $3) \
             ORDER BY created_ms, id"
        ))
        .bind(client_id)
        .bind(kind)
        .bind(parent_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(ObjectRow::decode)
            .collect::<Result<_, _>>()?)
    }

    /// See [`MdrObjectStore::object_content`].
    async fn find_content(
        &self,
        client_id: &str,
        kind: &str,
        id: &str,
    ) -> Outcome<Option<Vec<u8>>> {
        let content: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT content FROM mdr_objects WHERE client_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(client_id)
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(content.flatten())
    }

    /// One attempt of [`MdrObjectStore::next_incident_number`].
    async fn bump_incident_number(&self, client_id: &str) -> Outcome<i64> {
        // One statement: a concurrent allocation for the same customer waits on the counter
        // row's lock and then increments the value this one committed.
        Ok(sqlx::query_scalar(
            "INSERT INTO mdr_incident_counters (client_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (client_id) DO UPDATE \
               SET last_number = mdr_incident_counters.last_number + 1 \
             RETURNING last_number",
        )
        .bind(client_id)
        .fetch_one(&self.pool)
        .await?)
    }
}

#[async_trait::async_trait]
impl MdrObjectStore for PostgresStore {
    async fn insert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()> {
        retry(move || self.write_object(object, content, false)).await
    }

    async fn upsert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()> {
        retry(move || self.write_object(object, content, true)).await
    }

    async fn replace_object(
        &self,
        object: &MdrObject,
        expected_updated_ms: i64,
    ) -> StoreResult<bool> {
        retry(move || self.swap_object(object, expected_updated_ms)).await
    }

    async fn delete_object(&self, client_id: &str, kind: &str, id: &str) -> StoreResult<()> {
        retry(move || self.remove_object(client_id, kind, id)).await
    }

    async fn object(
        &self,
        client_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<MdrObject>> {
        Ok(self.find_object(client_id, kind, id).await?)
    }

    async fn objects(
        &self,
        client_id: &str,
        kind: &str,
        parent_id: Option<&str>,
    ) -> StoreResult<Vec<MdrObject>> {
        Ok(self.list_objects(client_id, kind, parent_id).await?)
    }

    async fn object_content(
        &self,
        client_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.find_content(client_id, kind, id).await?)
    }

    async fn next_incident_number(&self, client_id: &str) -> StoreResult<i64> {
        retry(move || self.bump_incident_number(client_id)).await
    }
}
