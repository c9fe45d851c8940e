//! The minimal AWX inventory and host registry (`docs/awx-compat.md`, "Inventories and hosts"):
//! Portcullis runs nothing, it keeps these so create-then-list round trips work and protected
//! resources exist.

use crate::activity::NewActivity;
use crate::filter::Filter;
use crate::{Page, StoreResult};
use portcullis_core::ids::UserId;
use time::OffsetDateTime;

/// An inventory to insert.
#[derive(Debug, Clone)]
pub struct NewInventory {
    /// Unique name (≤ 512).
    pub name: String,
    /// Free text.
    pub description: String,
    /// `None` or 1 (the built-in `Default` organization).
    pub organization: Option<i64>,
    /// AWX's inventory kind: `""` (normal), `smart` or `constructed`; stored as given.
    pub kind: String,
    /// Variables text, kept as given.
    pub variables: String,
    /// Creation (also `modified`).
    pub created_at: OffsetDateTime,
}

/// A stored inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Organization id.
    pub organization: Option<i64>,
    /// Inventory kind (`""` for a normal inventory).
    pub kind: String,
    /// Variables text.
    pub variables: String,
    /// Number of hosts in it.
    pub total_hosts: i64,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub modified_at: OffsetDateTime,
}

/// Inventory changes; `None` leaves a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New organization (`Some(None)` clears).
    pub organization: Option<Option<i64>>,
    /// New kind.
    pub kind: Option<String>,
    /// New variables.
    pub variables: Option<String>,
}

/// A host to insert.
#[derive(Debug, Clone)]
pub struct NewHost {
    /// Name (≤ 512), unique within its inventory.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Inventory id (must exist: else `NotFound`).
    pub inventory: i64,
    /// Enabled flag.
    pub enabled: bool,
    /// Instance id text.
    pub instance_id: String,
    /// Variables text, kept as given.
    pub variables: String,
    /// Creation (also `modified`).
    pub created_at: OffsetDateTime,
}

/// A stored host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Inventory id.
    pub inventory: i64,
    /// Enabled flag.
    pub enabled: bool,
    /// Instance id.
    pub instance_id: String,
    /// Variables text.
    pub variables: String,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub modified_at: OffsetDateTime,
}

/// Host changes; `None` leaves a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New inventory (must exist).
    pub inventory: Option<i64>,
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New instance id.
    pub instance_id: Option<String>,
    /// New variables.
    pub variables: Option<String>,
}

/// A filtered, ordered, paged listing of inventories or hosts. Filters and order name the
/// API fields: inventories `id name description organization kind variables created
/// modified` (`total_hosts` orderable only); hosts `id name description inventory enabled
/// instance_id created modified`. Values are read as [`crate::filter::predicate`] reads them;
/// a field outside these matches nothing. `search` looks in `name` and `description`.
/// Backends must map names through a fixed table (never interpolate).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceQuery {
    /// The filter.
    pub filter: Filter<String>,
    /// Order field and whether descending; ties by id ascending. `None`: id ascending.
    pub order: Option<(String, bool)>,
    /// Hosts only: restrict to one inventory.
    pub inventory: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Storage of inventories and hosts.
#[async_trait::async_trait]
pub trait ResourceStore: Send + Sync {
    /// Inserts an inventory. `Conflict("name")` if the name is taken.
    async fn create_inventory(
        &self,
        new: NewInventory,
        activity: Option<NewActivity>,
    ) -> StoreResult<InventoryRecord>;
    /// By id.
    async fn inventory_by_id(&self, id: i64) -> StoreResult<Option<InventoryRecord>>;
    /// A page of inventories. An unknown field name matches nothing.
    async fn list_inventories(&self, query: &ResourceQuery) -> StoreResult<Page<InventoryRecord>>;
    /// Applies `patch` (`modified_at = now`). `NotFound`, `Conflict("name")`.
    async fn update_inventory(
        &self,
        id: i64,
        patch: InventoryPatch,
        now: OffsetDateTime,
    ) -> StoreResult<InventoryRecord>;
    /// Deletes an inventory and its hosts. `NotFound`.
    async fn delete_inventory(&self, id: i64) -> StoreResult<()>;
    /// Inserts a host. `NotFound` if the inventory does not exist; `Conflict("name")` when
    /// the name is taken in that inventory.
    async fn create_host(
        &self,
        new: NewHost,
        activity: Option<NewActivity>,
    ) -> StoreResult<HostRecord>;
    /// By id.
    async fn host_by_id(&self, id: i64) -> StoreResult<Option<HostRecord>>;
    /// A page of hosts.
    async fn list_hosts(&self, query: &ResourceQuery) -> StoreResult<Page<HostRecord>>;
    /// Applies `patch`. `NotFound` (host or new inventory), `Conflict("name")`.
    async fn update_host(
        &self,
        id: i64,
        patch: HostPatch,
        now: OffsetDateTime,
    ) -> StoreResult<HostRecord>;
    /// Deletes a host. `NotFound`.
    async fn delete_host(&self, id: i64) -> StoreResult<()>;
    /// Makes `user` a member of organization `organization` (`member`), or not. Idempotent;
    /// `NotFound` if the user does not exist. Deleting a user ends its memberships.
    async fn set_organization_member(
        &self,
        organization: i64,
        user: UserId,
        member: bool,
    ) -> StoreResult<()>;
}
