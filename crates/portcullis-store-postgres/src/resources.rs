//! [`ResourceStore`] on PostgreSQL: the inventory and host registry.
//!
//! Policy: listings name API fields, which reach SQL only through the fixed tables of
//! `portcullis_store_sql::listings`; a field outside them (or a value its column cannot hold) yields an empty page. A host's
//! inventory is a foreign key, so a missing inventory surfaces as `NotFound` and deleting an
//! inventory takes its hosts with it.

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt, retry};
use crate::filter::PgDialect;
use portcullis_core::ids::UserId;
use portcullis_store::{
    HostPatch, HostRecord, InventoryPatch, InventoryRecord, NewActivity, NewHost, NewInventory,
    Page, ResourceQuery, ResourceStore, StoreError, StoreResult,
};
use portcullis_store_sql::{
    DbTime, HostRow, InventoryRow, empty_page, host_columns, inventory_columns, listings,
};
use sqlx::PgConnection;
use time::OffsetDateTime;

/// The inventory `id` read on `conn` (inside the caller's transaction, if any).
async fn inventory_on(conn: &mut PgConnection, id: i64) -> Outcome<Option<InventoryRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        inventory_columns!(),
        " FROM inventories i WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(InventoryRow::decode).transpose()?)
}

/// The record of an inventory this transaction just wrote.
async fn written_inventory(conn: &mut PgConnection, id: i64) -> Outcome<InventoryRecord> {
    inventory_on(conn, id)
        .await?
        .ok_or_else(|| corrupt("inventory (not readable after write)"))
}

impl PostgresStore {
    /// One attempt of [`ResourceStore::create_inventory`].
    async fn insert_inventory(
        &self,
        new: &NewInventory,
        activity: Option<&NewActivity>,
    ) -> Outcome<InventoryRecord> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inventories (name, description, organization, variables, created_at, \
             modified_at, kind) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.organization)
        .bind(&new.variables)
        .bind(DbTime(new.created_at))
        .bind(&new.kind)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(entry) = activity {
            let mut entry = entry.clone();
            entry.object1_id = entry.object1_id.or(Some(id));
            insert_activity(&mut tx, &entry).await?;
        }
        let inventory = written_inventory(&mut tx, id).await?;
        tx.commit().await?;
        Ok(inventory)
    }

    /// See [`ResourceStore::inventory_by_id`].
    async fn find_inventory(&self, id: i64) -> Outcome<Option<InventoryRecord>> {
        let mut conn = self.pool.acquire().await?;
        inventory_on(&mut conn, id).await
    }

    /// See [`ResourceStore::list_inventories`].
    async fn page_inventories(&self, query: &ResourceQuery) -> Outcome<Page<InventoryRecord>> {
        let Some(listing) = listings::inventories::<PgDialect>(query) else {
            // An order field outside the table matches nothing.
            return Ok(empty_page());
        };
        Ok(listing.fetch(&self.pool, InventoryRow::decode).await?)
    }

    /// One attempt of [`ResourceStore::update_inventory`].
    async fn patch_inventory(
        &self,
        id: i64,
        patch: &InventoryPatch,
        now: OffsetDateTime,
    ) -> Outcome<InventoryRecord> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE inventories SET \
               name = COALESCE($1, name), \
               description = COALESCE($2, description), \
               organization = CASE WHEN $3 THEN $4::bigint ELSE organization END, \
               variables = COALESCE($5, variables), \
               modified_at = $6, \
               kind = COALESCE($8, kind) \
             WHERE id = $7",
        )
        .bind(&patch.name)
        .bind(&patch.description)
        .bind(patch.organization.is_some())
        .bind(patch.organization.flatten())
        .bind(&patch.variables)
        .bind(DbTime(now))
        .bind(id)
        .bind(&patch.kind)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        let inventory = written_inventory(&mut tx, id).await?;
        tx.commit().await?;
        Ok(inventory)
    }

    /// One attempt of a delete by id (`sql` binds the id as `$1`); `NotFound` if no row went.
    async fn delete_by_id(&self, sql: &'static str, id: i64) -> Outcome<()> {
        let deleted = sqlx::query(sql)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        Ok(())
    }

    /// One attempt of [`ResourceStore::create_host`].
    async fn insert_host(
        &self,
        new: &NewHost,
        activity: Option<&NewActivity>,
    ) -> Outcome<HostRecord> {
        let mut tx = self.pool.begin().await?;
        // A missing inventory is a foreign-key violation (NotFound); a taken name fails on
        // UNIQUE (inventory_id, name), reported as Conflict("name").
        let row = sqlx::query(concat!(
            "INSERT INTO hosts (name, description, inventory_id, enabled, instance_id, \
             variables, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
            host_columns!()
        ))
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.inventory)
        .bind(new.enabled)
        .bind(&new.instance_id)
        .bind(&new.variables)
        .bind(DbTime(new.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let host = HostRow::decode(&row)?;
        if let Some(entry) = activity {
            let mut entry = entry.clone();
            entry.object1_id = entry.object1_id.or(Some(host.id));
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(host)
    }

    /// See [`ResourceStore::host_by_id`].
    async fn find_host(&self, id: i64) -> Outcome<Option<HostRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            host_columns!(),
            " FROM hosts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(HostRow::decode).transpose()?)
    }

    /// See [`ResourceStore::list_hosts`].
    async fn page_hosts(&self, query: &ResourceQuery) -> Outcome<Page<HostRecord>> {
        let Some(listing) = listings::hosts::<PgDialect>(query) else {
            // An order field outside the table matches nothing.
            return Ok(empty_page());
        };
        Ok(listing.fetch(&self.pool, HostRow::decode).await?)
    }

    /// One attempt of [`ResourceStore::set_organization_member`].
    async fn write_membership(&self, organization: i64, user: UserId, member: bool) -> Outcome<()> {
        let mut tx = self.pool.begin().await?;
        // Locks the user row, so a concurrent delete cannot leave a dangling membership.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR SHARE")
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(Failure::Store(StoreError::NotFound));
        }
        let sql = if member {
            "INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2"
        };
        sqlx::query(sql)
            .bind(organization)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`ResourceStore::update_host`].
    async fn patch_host(
        &self,
        id: i64,
        patch: &HostPatch,
        now: OffsetDateTime,
    ) -> Outcome<HostRecord> {
        // One statement, so it commits on its own. A move into a missing inventory is a
        // foreign-key violation (NotFound); onto a name taken there, a unique violation
        // (Conflict("name")).
        let row = sqlx::query(concat!(
            "UPDATE hosts SET \
               name = COALESCE($1, name), \
               description = COALESCE($2, description), \
               inventory_id = COALESCE($3, inventory_id), \
               enabled = COALESCE($4, enabled), \
               instance_id = COALESCE($5, instance_id), \
               variables = COALESCE($6, variables), \
               modified_at = $7 \
             WHERE id = $8 RETURNING ",
            host_columns!()
        ))
        .bind(&patch.name)
        .bind(&patch.description)
        .bind(patch.inventory)
        .bind(patch.enabled)
        .bind(&patch.instance_id)
        .bind(&patch.variables)
        .bind(DbTime(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(HostRow::decode(&row)?)
    }
}

#[async_trait::async_trait]
impl ResourceStore for PostgresStore {
    async fn create_inventory(
        &self,
        new: NewInventory,
        activity: Option<NewActivity>,
    ) -> StoreResult<InventoryRecord> {
        let (new, activity) = (&new, activity.as_ref());
        retry(move || self.insert_inventory(new, activity)).await
    }

    async fn inventory_by_id(&self, id: i64) -> StoreResult<Option<InventoryRecord>> {
        Ok(self.find_inventory(id).await?)
    }

    async fn list_inventories(&self, query: &ResourceQuery) -> StoreResult<Page<InventoryRecord>> {
        Ok(self.page_inventories(query).await?)
    }

    async fn update_inventory(
        &self,
        id: i64,
        patch: InventoryPatch,
        now: OffsetDateTime,
    ) -> StoreResult<InventoryRecord> {
        let patch = &patch;
        retry(move || self.patch_inventory(id, patch, now)).await
    }

    async fn delete_inventory(&self, id: i64) -> StoreResult<()> {
        // Hosts go with the row (ON DELETE CASCADE), in the same statement.
        retry(move || self.delete_by_id("DELETE FROM inventories WHERE id = $1", id)).await
    }

    async fn create_host(
        &self,
        new: NewHost,
        activity: Option<NewActivity>,
    ) -> StoreResult<HostRecord> {
        let (new, activity) = (&new, activity.as_ref());
        retry(move || self.insert_host(new, activity)).await
    }

    async fn host_by_id(&self, id: i64) -> StoreResult<Option<HostRecord>> {
        Ok(self.find_host(id).await?)
    }

    async fn list_hosts(&self, query: &ResourceQuery) -> StoreResult<Page<HostRecord>> {
        Ok(self.page_hosts(query).await?)
    }

    async fn update_host(
        &self,
        id: i64,
        patch: HostPatch,
        now: OffsetDateTime,
    ) -> StoreResult<HostRecord> {
        let patch = &patch;
        retry(move || self.patch_host(id, patch, now)).await
    }

    async fn delete_host(&self, id: i64) -> StoreResult<()> {
        retry(move || self.delete_by_id("DELETE FROM hosts WHERE id = $1", id)).await
    }

    async fn set_organization_member(
        &self,
        organization: i64,
        user: UserId,
        member: bool,
    ) -> StoreResult<()> {
        retry(move || self.write_membership(organization, user, member)).await
    }
}
