//! [`ResourceStore`] on SQLite: the inventory and host registry.
//!
//! Policy: listings name API fields, which reach SQL only through the fixed tables below; a
//! field outside them (or a value its column cannot hold) yields an empty page. A host's
//! inventory is a foreign key, so a missing inventory surfaces as `NotFound` and deleting an
//! inventory takes its hosts with it.

use crate::SqliteStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt};
use crate::filter::{FieldTable, push_filter, value_kind};
use crate::tokens::{ColumnKind, empty_page, push_order_and_page};
use portcullis_core::clock::{from_unix_ms, unix_ms};
use portcullis_core::ids::UserId;
use portcullis_store::{
    HostPatch, HostRecord, InventoryPatch, InventoryRecord, NewActivity, NewHost, NewInventory,
    Page, ResourceQuery, ResourceStore, StoreError, StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;

/// The host count of inventory `i`, as a fixed SQL expression.
const TOTAL_HOSTS: &str = "(SELECT COUNT(*) FROM hosts h WHERE h.inventory_id = i.id)";

/// The inventory columns `inventory_from_row` reads, for `concat!`; needs `inventories i`.
macro_rules! inventory_columns {
    () => {
        "i.id AS id, i.name AS name, i.description AS description, \
         i.organization AS organization, i.kind AS kind, i.variables AS variables, \
         (SELECT COUNT(*) FROM hosts h WHERE h.inventory_id = i.id) AS total_hosts, \
         i.created_at AS created_at, i.modified_at AS modified_at"
    };
}

/// The host columns in the order `host_from_row` reads them, for `concat!`.
macro_rules! host_columns {
    () => {
        "id, name, description, inventory_id, enabled, instance_id, variables, created_at, \
         modified_at"
    };
}

/// Decodes an inventory from a row holding [`inventory_columns!`].
fn inventory_from_row(row: &SqliteRow) -> Outcome<InventoryRecord> {
    Ok(InventoryRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        organization: row.try_get("organization")?,
        kind: row.try_get("kind")?,
        variables: row.try_get("variables")?,
        total_hosts: row.try_get("total_hosts")?,
        created_at: from_unix_ms(row.try_get("created_at")?),
        modified_at: from_unix_ms(row.try_get("modified_at")?),
    })
}

/// Decodes a host from a row holding [`host_columns!`].
fn host_from_row(row: &SqliteRow) -> Outcome<HostRecord> {
    Ok(HostRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        inventory: row.try_get("inventory_id")?,
        enabled: row.try_get("enabled")?,
        instance_id: row.try_get("instance_id")?,
        variables: row.try_get("variables")?,
        created_at: from_unix_ms(row.try_get("created_at")?),
        modified_at: from_unix_ms(row.try_get("modified_at")?),
    })
}

/// An orderable column: SQL, and whether it holds NULLs.
type OrderColumn = (&'static str, bool);

/// Filterable inventory fields: API name → column and kind.
fn inventory_filter(field: &str) -> Option<(&'static str, ColumnKind)> {
    Some(match field {
        "id" => ("i.id", ColumnKind::Int),
        "name" => ("i.name", ColumnKind::Text),
        "description" => ("i.description", ColumnKind::Text),
        "organization" => ("i.organization", ColumnKind::Related),
        "kind" => ("i.kind", ColumnKind::Text),
        "variables" => ("i.variables", ColumnKind::Text),
        "created" => ("i.created_at", ColumnKind::Instant),
        "modified" => ("i.modified_at", ColumnKind::Instant),
        _ => return None,
    })
}

/// Orderable inventory fields: the filterable ones plus `total_hosts`.
fn inventory_order(field: &str) -> Option<OrderColumn> {
    if field == "total_hosts" {
        return Some((TOTAL_HOSTS, false));
    }
    inventory_filter(field).map(|(column, _)| (column, field == "organization"))
}

/// Filterable (and orderable) host fields: API name → column and kind.
fn host_filter(field: &str) -> Option<(&'static str, ColumnKind)> {
    Some(match field {
        "id" => ("id", ColumnKind::Int),
        "name" => ("name", ColumnKind::Text),
        "description" => ("description", ColumnKind::Text),
        "inventory" => ("inventory_id", ColumnKind::Related),
        "enabled" => ("enabled", ColumnKind::Bool),
        "instance_id" => ("instance_id", ColumnKind::Text),
        "created" => ("created_at", ColumnKind::Instant),
        "modified" => ("modified_at", ColumnKind::Instant),
        _ => return None,
    })
}

/// The filter table of a listing, in [`push_filter`]'s shape.
fn field_table(
    table: fn(&str) -> Option<(&'static str, ColumnKind)>,
) -> impl Fn(&String) -> Option<(&'static str, portcullis_store::filter::ValueKind)> {
    move |field: &String| table(field).map(|(column, kind)| (column, value_kind(kind)))
}

/// Resolves the order of `query` through `table`: `Ok(None)` for the default (id), `Err(())`
/// for a field outside the table, which matches nothing.
fn parse_order(
    query: &ResourceQuery,
    table: fn(&str) -> Option<OrderColumn>,
) -> Result<Option<(&'static str, bool, bool)>, ()> {
    match &query.order {
        None => Ok(None),
        Some((field, descending)) => match table(field) {
            Some((column, nullable)) => Ok(Some((column, *descending, nullable))),
            None => Err(()),
        },
    }
}

/// Appends a `WHERE` clause from the query's filter (plus the host listing's inventory).
fn push_where(
    qb: &mut QueryBuilder<Sqlite>,
    query: &ResourceQuery,
    table: FieldTable<'_, String>,
    search: &[&'static str],
    inventory: Option<i64>,
) {
    qb.push(" WHERE 1 = 1");
    if let Some(inventory) = inventory {
        qb.push(" AND inventory_id = ").push_bind(inventory);
    }
    push_filter(qb, &query.filter, table, search);
}

/// The inventory `id` read on `conn` (inside the caller's transaction, if any).
async fn inventory_on(conn: &mut SqliteConnection, id: i64) -> Outcome<Option<InventoryRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        inventory_columns!(),
        " FROM inventories i WHERE i.id = ?1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(inventory_from_row).transpose()
}

/// The record of an inventory this transaction just wrote.
async fn written_inventory(conn: &mut SqliteConnection, id: i64) -> Outcome<InventoryRecord> {
    inventory_on(conn, id)
        .await?
        .ok_or_else(|| corrupt("inventory (not readable after write)"))
}

impl SqliteStore {
    /// See [`ResourceStore::create_inventory`].
    async fn insert_inventory(
        &self,
        new: NewInventory,
        activity: Option<NewActivity>,
    ) -> Outcome<InventoryRecord> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inventories (name, description, organization, variables, created_at, \
             modified_at, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.organization)
        .bind(&new.variables)
        .bind(unix_ms(new.created_at))
        .bind(&new.kind)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(mut entry) = activity {
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
        let Ok(order) = parse_order(query, inventory_order) else {
            return Ok(empty_page());
        };
        let table = field_table(inventory_filter);
        let search = ["i.name", "i.description"];

        // `inventory` restricts hosts only; inventories ignore it.
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM inventories i");
        push_where(&mut count, query, &table, &search, None);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            inventory_columns!(),
            " FROM inventories i"
        ));
        push_where(&mut select, query, &table, &search, None);
        push_order_and_page(&mut select, order, "i.id", query.limit, query.offset);
        let rows = select.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(inventory_from_row)
            .collect::<Outcome<Vec<_>>>()?;
        Ok(Page { total, items })
    }

    /// See [`ResourceStore::update_inventory`].
    async fn patch_inventory(
        &self,
        id: i64,
        patch: InventoryPatch,
        now: OffsetDateTime,
    ) -> Outcome<InventoryRecord> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE inventories SET \
               name = COALESCE(?1, name), \
               description = COALESCE(?2, description), \
               organization = CASE WHEN ?3 THEN ?4 ELSE organization END, \
               variables = COALESCE(?5, variables), \
               modified_at = ?6, \
               kind = COALESCE(?8, kind) \
             WHERE id = ?7",
        )
        .bind(&patch.name)
        .bind(&patch.description)
        .bind(patch.organization.is_some())
        .bind(patch.organization.flatten())
        .bind(&patch.variables)
        .bind(unix_ms(now))
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

    /// Runs one deleting statement by id in a write transaction; `NotFound` if no row went.
    async fn delete_by_id(&self, sql: &'static str, id: i64) -> Outcome<()> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(sql)
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

    /// See [`ResourceStore::create_host`].
    async fn insert_host(
        &self,
        new: NewHost,
        activity: Option<NewActivity>,
    ) -> Outcome<HostRecord> {
        let mut tx = self.write().await?;
        // A missing inventory is a foreign-key violation (NotFound); a taken name fails on
        // UNIQUE (name, inventory_id), reported as Conflict("name").
        let row = sqlx::query(concat!(
            "INSERT INTO hosts (name, description, inventory_id, enabled, instance_id, \
             variables, created_at, modified_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING ",
            host_columns!()
        ))
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.inventory)
        .bind(new.enabled)
        .bind(&new.instance_id)
        .bind(&new.variables)
        .bind(unix_ms(new.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let host = host_from_row(&row)?;
        if let Some(mut entry) = activity {
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
            " FROM hosts WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(host_from_row).transpose()
    }

    /// See [`ResourceStore::list_hosts`].
    async fn page_hosts(&self, query: &ResourceQuery) -> Outcome<Page<HostRecord>> {
        let host_order = |field: &str| host_filter(field).map(|(column, _)| (column, false));
        let Ok(order) = parse_order(query, host_order) else {
            return Ok(empty_page());
        };
        let table = field_table(host_filter);
        let search = ["name", "description"];

        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM hosts");
        push_where(&mut count, query, &table, &search, query.inventory);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select =
            QueryBuilder::<Sqlite>::new(concat!("SELECT ", host_columns!(), " FROM hosts"));
        push_where(&mut select, query, &table, &search, query.inventory);
        push_order_and_page(&mut select, order, "id", query.limit, query.offset);
        let rows = select.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(host_from_row)
            .collect::<Outcome<Vec<_>>>()?;
        Ok(Page { total, items })
    }

    /// See [`ResourceStore::set_organization_member`].
    async fn write_membership(&self, organization: i64, user: UserId, member: bool) -> Outcome<()> {
        let mut tx = self.write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?1")
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Failure::Store(StoreError::NotFound));
        }
        let sql = if member {
            "INSERT INTO organization_members (organization_id, user_id) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM organization_members WHERE organization_id = ?1 AND user_id = ?2"
        };
        sqlx::query(sql)
            .bind(organization)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`ResourceStore::update_host`].
    async fn patch_host(
        &self,
        id: i64,
        patch: HostPatch,
        now: OffsetDateTime,
    ) -> Outcome<HostRecord> {
        let mut tx = self.write().await?;
        // A move into a missing inventory is a foreign-key violation (NotFound); onto a name
        // taken there, a unique violation (Conflict("name")).
        let row = sqlx::query(concat!(
            "UPDATE hosts SET \
               name = COALESCE(?1, name), \
               description = COALESCE(?2, description), \
               inventory_id = COALESCE(?3, inventory_id), \
               enabled = COALESCE(?4, enabled), \
               instance_id = COALESCE(?5, instance_id), \
               variables = COALESCE(?6, variables), \
               modified_at = ?7 \
             WHERE id = ?8 RETURNING ",
            host_columns!()
        ))
        .bind(&patch.name)
        .bind(&patch.description)
        .bind(patch.inventory)
        .bind(patch.enabled)
        .bind(&patch.instance_id)
        .bind(&patch.variables)
        .bind(unix_ms(now))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let host = host_from_row(&row)?;
        tx.commit().await?;
        Ok(host)
    }
}

#[async_trait::async_trait]
impl ResourceStore for SqliteStore {
    async fn create_inventory(
        &self,
        new: NewInventory,
        activity: Option<NewActivity>,
    ) -> StoreResult<InventoryRecord> {
        Ok(self.insert_inventory(new, activity).await?)
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
        Ok(self.patch_inventory(id, patch, now).await?)
    }

    async fn delete_inventory(&self, id: i64) -> StoreResult<()> {
        // Hosts go with the row (ON DELETE CASCADE).
        Ok(self
            .delete_by_id("DELETE FROM inventories WHERE id = ?1", id)
            .await?)
    }

    async fn create_host(
        &self,
        new: NewHost,
        activity: Option<NewActivity>,
    ) -> StoreResult<HostRecord> {
        Ok(self.insert_host(new, activity).await?)
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
        Ok(self.patch_host(id, patch, now).await?)
    }

    async fn delete_host(&self, id: i64) -> StoreResult<()> {
        Ok(self
            .delete_by_id("DELETE FROM hosts WHERE id = ?1", id)
            .await?)
    }

    async fn set_organization_member(
        &self,
        organization: i64,
        user: UserId,
        member: bool,
    ) -> StoreResult<()> {
        Ok(self.write_membership(organization, user, member).await?)
    }
}
