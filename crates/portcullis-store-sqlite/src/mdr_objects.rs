//! [`MdrObjectStore`] on SQLite: the protected resource API's objects as JSON documents, an
//! attachment's bytes beside them, and the per-customer incident number sequence.
//!
//! Policy: writes are keyed by (customer, kind, id); `replace_object` is compare-and-set on
//! `updated_ms` inside one `BEGIN IMMEDIATE` transaction, and the incident number is one
//! upsert statement, so neither can lose an update under concurrency.

use crate::SqliteStore;
use crate::error::{Failure, Outcome};
use portcullis_store::{MdrObject, MdrObjectStore, StoreError, StoreResult};
use portcullis_store_sql::{ObjectRow, object_columns};
use sqlx::types::Json;

impl SqliteStore {
    /// See [`MdrObjectStore::insert_object`] and [`MdrObjectStore::upsert_object`].
    async fn write_object(
        &self,
        object: &MdrObject,
        content: Option<&[u8]>,
        replace: bool,
    ) -> Outcome<()> {
        // The primary key starts with `id`, so a duplicate insert is Conflict("id").
        let sql = if replace {
            "INSERT INTO mdr_objects (client_id, kind, id, parent_id, tenant_id, created_ms, \
               updated_ms, data, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (id, client_id, kind) DO UPDATE SET \
               parent_id = excluded.parent_id, tenant_id = excluded.tenant_id, \
               created_ms = excluded.created_ms, updated_ms = excluded.updated_ms, \
               data = excluded.data, content = excluded.content"
        } else {
            "INSERT INTO mdr_objects (client_id, kind, id, parent_id, tenant_id, created_ms, \
               updated_ms, data, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        };
        let mut tx = self.write().await?;
        sqlx::query(sql)
            .bind(&object.client_id)
            .bind(&object.kind)
            .bind(&object.id)
            .bind(&object.parent_id)
            .bind(&object.tenant_id)
            .bind(object.created_ms)
            .bind(object.updated_ms)
            .bind(Json(&object.data))
            .bind(content)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrObjectStore::replace_object`].
    async fn compare_and_replace(&self, object: &MdrObject, expected: i64) -> Outcome<bool> {
        let mut tx = self.write().await?;
        // The content is not part of the object and stays as stored.
        let changed = sqlx::query(
            "UPDATE mdr_objects SET parent_id = ?1, tenant_id = ?2, created_ms = ?3, \
               updated_ms = ?4, data = ?5 \
             WHERE client_id = ?6 AND kind = ?7 AND id = ?8 AND updated_ms = ?9",
        )
        .bind(&object.parent_id)
        .bind(&object.tenant_id)
        .bind(object.created_ms)
        .bind(object.updated_ms)
        .bind(Json(&object.data))
        .bind(&object.client_id)
        .bind(&object.kind)
        .bind(&object.id)
        .bind(expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            tx.commit().await?;
            return Ok(true);
        }
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM mdr_objects WHERE client_id = ?1 AND kind = ?2 AND id = ?3",
        )
        .bind(&object.client_id)
        .bind(&object.kind)
        .bind(&object.id)
        .fetch_optional(&mut *tx)
        .await?;
        match exists {
            Some(_) => Ok(false),
            None => Err(Failure::Store(StoreError::NotFound)),
        }
    }

    /// See [`MdrObjectStore::delete_object`].
    async fn remove_object(&self, client_id: &str, kind: &str, id: &str) -> Outcome<()> {
        let mut tx = self.write().await?;
        let deleted =
            sqlx::query("DELETE FROM mdr_objects WHERE client_id = ?1 AND kind = ?2 AND id = ?3")
                .bind(client_id)
                .bind(kind)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        tx.commit().await?;
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
            " FROM mdr_objects WHERE client_id = ?1 AND kind = ?2 AND id = ?3"
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
            " FROM mdr_objects WHERE client_id = ?1 AND kind = ?2 AND (?3 IS NULL OR parent_id = ?3) \
              ORDER BY created_ms ASC, id ASC"
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
            "SELECT content FROM mdr_objects WHERE client_id = ?1 AND kind = ?2 AND id = ?3",
        )
        .bind(client_id)
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(content.flatten())
    }

    /// See [`MdrObjectStore::next_incident_number`].
    async fn allocate_incident_number(&self, client_id: &str) -> Outcome<i64> {
        let mut tx = self.write().await?;
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO mdr_incident_counters (client_id, last_number) VALUES (?1, 1) \
             ON CONFLICT (client_id) DO UPDATE SET last_number = last_number + 1 \
             RETURNING last_number",
        )
        .bind(client_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(number)
    }
}

#[async_trait::async_trait]
impl MdrObjectStore for SqliteStore {
    async fn insert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()> {
        Ok(self.write_object(object, content, false).await?)
    }

    async fn upsert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()> {
        Ok(self.write_object(object, content, true).await?)
    }

    async fn replace_object(
        &self,
        object: &MdrObject,
        expected_updated_ms: i64,
    ) -> StoreResult<bool> {
        Ok(self
            .compare_and_replace(object, expected_updated_ms)
            .await?)
    }

    async fn delete_object(&self, client_id: &str, kind: &str, id: &str) -> StoreResult<()> {
        Ok(self.remove_object(client_id, kind, id).await?)
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
        Ok(self.allocate_incident_number(client_id).await?)
    }
}
