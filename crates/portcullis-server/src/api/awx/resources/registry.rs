//! The store-backed registry of inventories and hosts: one generic handler set
//! parameterised by a `Registry` implementation.

use super::validate::{Mode, clean, flag, invalid_pk, pk, text};
use super::{DEFAULT_ORGANIZATION, named_parts, organization_named};
use crate::api::awx::options::{self, FieldType, Resource};
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::error::{ApiError, ApiResult};
use crate::service::error::{FieldErrors, ServiceError, ServiceResult};
use crate::state::AppState;
use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use portcullis_store::{
    Filter, HostPatch, HostRecord, InventoryPatch, InventoryRecord, NewActivity, NewHost,
    NewInventory, Page, ResourceQuery, Store, StoreError, StoreResult,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The only object matching `filter` (at most two are read: more than one is no match).
fn single<T>(page: Page<T>) -> Option<T> {
    let mut items = page.items;
    if items.len() == 1 { items.pop() } else { None }
}

/// A query for at most two objects matching `filter` (`single` decides).
fn lookup_query(filter: Filter<String>, inventory: Option<i64>) -> ResourceQuery {
    ResourceQuery {
        filter,
        order: None,
        inventory,
        limit: 2,
        offset: 0,
    }
}

/// The list parameters of `resource`: its filterable fields are the only filter and
/// `order_by` keys (others are AWX's 400).
pub(crate) fn list_params(uri: &Uri, resource: &Resource) -> ApiResult<ListParams> {
    ListParams::parse(uri.query(), &resource.filterable())
}

/// Writes need `authz::may_manage_organizations` (the generic 403 otherwise).
fn require_superuser(p: &Principal) -> ApiResult<()> {
    if authz::may_manage_organizations(&p.user) {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// 201 with the object and `Location` = its relative URL.
fn created(url: &str, body: Value) -> Response {
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// What the generic inventory/host handlers need to know about one kind of object.
#[async_trait::async_trait]
pub(crate) trait Registry: Send + Sync + 'static {
    /// Stored row.
    type Record: Send + Sync;
    /// `object1` of its activity entries.
    const OBJECT: &'static str;
    /// Its field table.
    fn resource() -> &'static Resource;
    /// Its id.
    fn id(r: &Self::Record) -> i64;
    /// Relative URL of object `id`.
    fn url(id: i64) -> String;
    /// AWX's JSON object.
    fn render(r: &Self::Record) -> Value;
    /// By id.
    async fn fetch(store: &dyn Store, id: i64) -> StoreResult<Option<Self::Record>>;
    /// By the components of its named URL (`<name>++<organization.name>` …).
    async fn named(store: &dyn Store, parts: &[String]) -> StoreResult<Option<Self::Record>>;
    /// A page.
    async fn page(store: &dyn Store, query: &ResourceQuery) -> StoreResult<Page<Self::Record>>;
    /// Errors for cleaned references to objects that do not exist.
    async fn references(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
    ) -> StoreResult<FieldErrors>;
    /// Inserts from a complete cleaned body.
    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ServiceResult<Self::Record>;
    /// Applies a cleaned body.
    async fn change(
        store: &dyn Store,
        id: i64,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> ServiceResult<Self::Record>;
    /// Deletes.
    async fn remove(store: &dyn Store, id: i64) -> StoreResult<()>;
}

/// The page of `K` matching the request's filters (hosts: optionally of one inventory).
pub(crate) async fn list<K: Registry>(
    state: &AppState,
    uri: &Uri,
    resource: &Resource,
    inventory: Option<i64>,
) -> ApiResult<Json<Value>> {
    let params = list_params(uri, resource)?;
    let query = ResourceQuery {
        filter: params.filter.clone(),
        order: params.order_by.clone(),
        inventory,
        limit: params.page_size,
        offset: params.offset(),
    };
    let page = K::page(state.store.as_ref(), &query).await?;
    let results = page.items.iter().map(K::render).collect();
    Ok(Json(params.envelope(uri.path(), page.total, results)?))
}

/// The object a path segment names: an id (all digits) or a named URL.
pub(crate) async fn fetch<K: Registry>(state: &AppState, segment: &str) -> ApiResult<K::Record> {
    let store = state.store.as_ref();
    let found = if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
        K::fetch(store, parse_id(segment)?).await?
    } else {
        match named_parts(segment) {
            Some(parts) => K::named(store, &parts).await?,
            None => None,
        }
    };
    found.ok_or(ApiError::NotFound)
}

/// Validates `body` in `mode`, references included; errors in table order.
async fn validate<K: Registry>(
    state: &AppState,
    body: &Map<String, Value>,
    mode: Mode,
) -> ServiceResult<Map<String, Value>> {
    let resource = K::resource();
    let (cleaned, mut errors) = clean(resource, body, mode);
    errors.extend(K::references(state.store.as_ref(), &cleaned).await?);
    errors.sort_by_field(|name| resource.fields.iter().position(|f| f.name == name));
    errors.into_result().map(|()| cleaned)
}

pub(crate) async fn create<K: Registry>(
    state: &AppState,
    p: &Principal,
    body: &Map<String, Value>,
) -> ApiResult<Response> {
    require_superuser(p)?;
    let cleaned = validate::<K>(state, body, Mode::Create).await?;
    let now = state.clock.now();
    let activity = state
        .settings
        .get()
        .auth
        .activity_stream_enabled
        .then(|| NewActivity {
            timestamp: now,
            actor: Some(p.user.id),
            operation: "create".into(),
            object1: K::OBJECT.into(),
            // The id is assigned by the insert; the store may fill it in.
            object1_id: None,
            // On create the cleaned body holds every column.
            changes: recorded(K::resource(), &cleaned),
        });
    let record = K::insert(state.store.as_ref(), &cleaned, now, activity).await?;
    let url = K::url(K::id(&record));
    Ok(created(&url, K::render(&record)))
}

/// The activity-stream `changes` of a creation: the cleaned body without free-form JSON/YAML
/// text (variables may hold credentials, and entries never hold secrets).
fn recorded(resource: &Resource, cleaned: &Map<String, Value>) -> Value {
    Value::Object(
        cleaned
            .iter()
            .filter(|(k, _)| resource.field(k).is_some_and(|f| f.kind != FieldType::Json))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

pub(crate) async fn update<K: Registry>(
    state: &AppState,
    p: &Principal,
    segment: &str,
    method: &Method,
    body: &Map<String, Value>,
) -> ApiResult<Json<Value>> {
    let current = fetch::<K>(state, segment).await?;
    require_superuser(p)?;
    let mode = if *method == Method::PUT {
        Mode::Replace
    } else {
        Mode::Patch
    };
    let cleaned = validate::<K>(state, body, mode).await?;
    let record = K::change(
        state.store.as_ref(),
        K::id(&current),
        &cleaned,
        state.clock.now(),
    )
    .await?;
    Ok(Json(K::render(&record)))
}

pub(crate) async fn delete<K: Registry>(
    state: &AppState,
    p: &Principal,
    segment: &str,
) -> ApiResult<StatusCode> {
    let current = fetch::<K>(state, segment).await?;
    require_superuser(p)?;
    K::remove(state.store.as_ref(), K::id(&current)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Detail OPTIONS: 200 whether or not the object exists; `PUT` only for an existing object
/// and a caller who may change it.
pub(crate) async fn detail_options<K: Registry>(
    state: &AppState,
    p: &Principal,
    segment: &str,
) -> ApiResult<Json<Value>> {
    let can_change = options::offers_writes(p, authz::may_manage_organizations)
        && match fetch::<K>(state, segment).await {
            Ok(_) => true,
            Err(ApiError::NotFound) => false,
            Err(e) => return Err(e),
        };
    Ok(options::detail_options(K::resource(), can_change))
}

/// Inventories (`docs/awx-compat.md`, "Inventories and hosts").
pub(crate) struct Inventories;

#[async_trait::async_trait]
impl Registry for Inventories {
    type Record = InventoryRecord;
    const OBJECT: &'static str = "inventory";

    fn resource() -> &'static Resource {
        &options::INVENTORIES
    }

    fn id(r: &InventoryRecord) -> i64 {
        r.id
    }

    fn url(id: i64) -> String {
        format!("/api/v2/inventories/{id}/")
    }

    fn render(r: &InventoryRecord) -> Value {
        json!({
            "id": r.id, "type": "inventory", "url": Self::url(r.id),
            "related": {"hosts": format!("/api/v2/inventories/{}/hosts/", r.id)},
            "summary_fields": {},
            "created": awx_time(r.created_at), "modified": awx_time(r.modified_at),
            "name": r.name, "description": r.description, "organization": r.organization,
            // Portcullis keeps no smart-inventory filter; the collection compares the key.
            "kind": r.kind, "host_filter": null, "variables": r.variables,
            "total_hosts": r.total_hosts,
        })
    }

    async fn fetch(store: &dyn Store, id: i64) -> StoreResult<Option<InventoryRecord>> {
        store.inventory_by_id(id).await
    }

    /// `<name>++<organization.name>`.
    async fn named(store: &dyn Store, parts: &[String]) -> StoreResult<Option<InventoryRecord>> {
        let [name, organization] = parts else {
            return Ok(None);
        };
        let Some(organization) = organization_named(organization) else {
            return Ok(None);
        };
        let organization = organization.map_or_else(|| "null".to_owned(), |id| id.to_string());
        let filter = Filter::exact([
            ("name".to_owned(), name.clone()),
            ("organization".to_owned(), organization),
        ]);
        Ok(single(
            store.list_inventories(&lookup_query(filter, None)).await?,
        ))
    }

    async fn page(store: &dyn Store, query: &ResourceQuery) -> StoreResult<Page<InventoryRecord>> {
        store.list_inventories(query).await
    }

    /// The only organization is the built-in `Default` (`docs/awx-compat.md`, "Default
    /// organization").
    async fn references(_: &dyn Store, cleaned: &Map<String, Value>) -> StoreResult<FieldErrors> {
        Ok(match pk(cleaned, "organization") {
            Some(Some(id)) if id != DEFAULT_ORGANIZATION => invalid_pk("organization", id),
            _ => FieldErrors::new(),
        })
    }

    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ServiceResult<InventoryRecord> {
        let new = NewInventory {
            name: text(cleaned, "name").unwrap_or_default(),
            description: text(cleaned, "description").unwrap_or_default(),
            organization: pk(cleaned, "organization").flatten(),
            kind: text(cleaned, "kind").unwrap_or_default(),
            variables: text(cleaned, "variables").unwrap_or_default(),
            created_at: now,
        };
        store
            .create_inventory(new, activity)
            .await
            .map_err(inventory_conflict)
    }

    async fn change(
        store: &dyn Store,
        id: i64,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> ServiceResult<InventoryRecord> {
        let patch = InventoryPatch {
            name: text(cleaned, "name"),
            description: text(cleaned, "description"),
            organization: pk(cleaned, "organization"),
            kind: text(cleaned, "kind"),
            variables: text(cleaned, "variables"),
        };
        store
            .update_inventory(id, patch, now)
            .await
            .map_err(inventory_conflict)
    }

    async fn remove(store: &dyn Store, id: i64) -> StoreResult<()> {
        store.delete_inventory(id).await
    }
}

/// Inventory names are unique (Django's message for a unique field).
fn inventory_conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => {
            ServiceError::field("name", "Inventory with this Name already exists.")
        }
        other => other.into(),
    }
}

/// Hosts (`docs/awx-compat.md`, "Inventories and hosts").
pub(crate) struct Hosts;

#[async_trait::async_trait]
impl Registry for Hosts {
    type Record = HostRecord;
    const OBJECT: &'static str = "host";

    fn resource() -> &'static Resource {
        &options::HOSTS
    }

    fn id(r: &HostRecord) -> i64 {
        r.id
    }

    fn url(id: i64) -> String {
        format!("/api/v2/hosts/{id}/")
    }

    fn render(r: &HostRecord) -> Value {
        json!({
            "id": r.id, "type": "host", "url": Self::url(r.id),
            "related": {}, "summary_fields": {},
            "created": awx_time(r.created_at), "modified": awx_time(r.modified_at),
            "name": r.name, "description": r.description, "inventory": r.inventory,
            "enabled": r.enabled, "instance_id": r.instance_id, "variables": r.variables,
        })
    }

    async fn fetch(store: &dyn Store, id: i64) -> StoreResult<Option<HostRecord>> {
        store.host_by_id(id).await
    }

    /// `<name>++<inventory.name>++<organization.name>`.
    async fn named(store: &dyn Store, parts: &[String]) -> StoreResult<Option<HostRecord>> {
        let [name, inventory @ ..] = parts else {
            return Ok(None);
        };
        let Some(inventory) = Inventories::named(store, inventory).await? else {
            return Ok(None);
        };
        let filter = Filter::exact([("name".to_owned(), name.clone())]);
        Ok(single(
            store
                .list_hosts(&lookup_query(filter, Some(inventory.id)))
                .await?,
        ))
    }

    async fn page(store: &dyn Store, query: &ResourceQuery) -> StoreResult<Page<HostRecord>> {
        store.list_hosts(query).await
    }

    async fn references(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
    ) -> StoreResult<FieldErrors> {
        Ok(match pk(cleaned, "inventory") {
            Some(Some(id)) if store.inventory_by_id(id).await?.is_none() => {
                invalid_pk("inventory", id)
            }
            _ => FieldErrors::new(),
        })
    }

    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ServiceResult<HostRecord> {
        let inventory = pk(cleaned, "inventory").flatten().unwrap_or_default();
        let new = NewHost {
            name: text(cleaned, "name").unwrap_or_default(),
            description: text(cleaned, "description").unwrap_or_default(),
            inventory,
            enabled: flag(cleaned, "enabled").unwrap_or(true),
            instance_id: text(cleaned, "instance_id").unwrap_or_default(),
            variables: text(cleaned, "variables").unwrap_or_default(),
            created_at: now,
        };
        store.create_host(new, activity).await.map_err(|e| match e {
            // The inventory was deleted after validation.
            StoreError::NotFound => ServiceError::Invalid(invalid_pk("inventory", inventory)),
            other => host_conflict(other),
        })
    }

    async fn change(
        store: &dyn Store,
        id: i64,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> ServiceResult<HostRecord> {
        let patch = HostPatch {
            name: text(cleaned, "name"),
            description: text(cleaned, "description"),
            inventory: pk(cleaned, "inventory").flatten(),
            enabled: flag(cleaned, "enabled"),
            instance_id: text(cleaned, "instance_id"),
            variables: text(cleaned, "variables"),
        };
        store
            .update_host(id, patch, now)
            .await
            .map_err(host_conflict)
    }

    async fn remove(store: &dyn Store, id: i64) -> StoreResult<()> {
        store.delete_host(id).await
    }
}

/// Host names are unique within their inventory (`docs/awx-compat.md`, "Inventories and hosts").
fn host_conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => ServiceError::field(
            "__all__",
            "Host with this Name and Inventory already exists.",
        ),
        other => other.into(),
    }
}
