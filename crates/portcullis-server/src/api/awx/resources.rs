//! The list endpoints AWX clients probe (`awx-api.md` §13): the seven compatibility stubs
//! (organizations, projects, teams, credentials, job templates, workflow job templates,
//! instance groups), the built-in `Default` organization among them, and the minimal
//! inventory and host registry backed by the store.
//!
//! The stubs are one generic handler set parameterised by a [`Stub`] row: every stub lists
//! its (fixed, usually empty) rows with AWX's filters, ordering and paging, answers 404 for
//! details it does not hold, and offers only `GET`, `HEAD`, `OPTIONS`.
//!
//! Inventories and hosts share one generic handler set too, parameterised by a [`Registry`]
//! implementation. Bodies are validated from the resource's field table in
//! [`options`](crate::api::awx::options) (types, `required`, `max_length`, defaults on
//! create and `PUT`), so OPTIONS metadata, filters and validation cannot disagree. Reads are
//! open to every authenticated caller; writes to superusers only (others get the generic
//! 403; read-scope tokens never get this far, `Authed` refuses their unsafe methods).

use crate::api::awx::filter;
use crate::api::awx::options::{self, Field, FieldType, Resource, Write, superuser_writes};
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::router::{READ_ONLY, awx_route, protected};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::principal::Principal;
use portcullis_store::filter::ValueKind;
use portcullis_store::{
    Filter, HostPatch, HostRecord, InventoryPatch, InventoryRecord, NewActivity, NewHost,
    NewInventory, Page, ResourceQuery, Store, StoreError, StoreResult,
};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use time::OffsetDateTime;

/// `Allow` of list views that accept creation.
const LIST_CREATE: &str = "GET, POST, HEAD, OPTIONS";
/// `Allow` of writable detail views.
const DETAIL: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";

/// Id of the built-in `Default` organization, the only organization there is.
pub const DEFAULT_ORGANIZATION: i64 = 1;

/// A compatibility list: its URL segment, its metadata and the rows it holds.
#[derive(Debug)]
pub struct Stub {
    segment: &'static str,
    resource: &'static Resource,
    rows: fn() -> Vec<Value>,
}

static STUBS: [Stub; 7] = [
    Stub {
        segment: "organizations",
        resource: &options::ORGANIZATIONS,
        rows: default_organization,
    },
    Stub {
        segment: "projects",
        resource: &options::PROJECTS,
        rows: Vec::new,
    },
    Stub {
        segment: "teams",
        resource: &options::TEAMS,
        rows: Vec::new,
    },
    Stub {
        segment: "credentials",
        resource: &options::CREDENTIALS,
        rows: Vec::new,
    },
    Stub {
        segment: "job_templates",
        resource: &options::JOB_TEMPLATES,
        rows: Vec::new,
    },
    Stub {
        segment: "workflow_job_templates",
        resource: &options::WORKFLOW_JOB_TEMPLATES,
        rows: Vec::new,
    },
    Stub {
        segment: "instance_groups",
        resource: &options::INSTANCE_GROUPS,
        rows: Vec::new,
    },
];

/// AWX's built-in organization (§13.1). Portcullis stores no organizations, so its
/// timestamps are a fixed instant rather than an install date.
fn default_organization() -> Vec<Value> {
    let epoch = awx_time(OffsetDateTime::UNIX_EPOCH);
    vec![json!({
        "id": DEFAULT_ORGANIZATION, "type": "organization",
        "url": format!("/api/v2/organizations/{DEFAULT_ORGANIZATION}/"),
        "related": {}, "summary_fields": {}, "created": epoch, "modified": epoch,
        "name": "Default", "description": "",
    })]
}

/// Registers the stubs, inventories and hosts.
pub(crate) fn register(router: Router<AppState>) -> Router<AppState> {
    let mut router = router;
    for stub in &STUBS {
        router = awx_route(
            router,
            &format!("/api/v2/{}/", stub.segment),
            protected(
                READ_ONLY,
                get(move |a: Authed, u: OriginalUri| stub_list(stub, a, u))
                    .options(move |a: Authed| stub_options(stub, a, false)),
            ),
        );
        router = awx_route(
            router,
            &format!("/api/v2/{}/{{id}}/", stub.segment),
            protected(
                READ_ONLY,
                get(move |a: Authed, id: AwxPath<String>| stub_detail(stub, a, id))
                    .options(move |a: Authed| stub_options(stub, a, true)),
            ),
        );
    }
    for (path, mr) in [
        (
            "/api/v2/inventories/",
            protected(
                LIST_CREATE,
                get(list_inventories)
                    .post(create_inventory)
                    .options(inventories_options),
            ),
        ),
        (
            "/api/v2/inventories/{id}/",
            protected(
                DETAIL,
                get(get_inventory)
                    .put(update_inventory)
                    .patch(update_inventory)
                    .delete(delete_inventory)
                    .options(inventory_options),
            ),
        ),
        (
            "/api/v2/inventories/{id}/hosts/",
            protected(
                READ_ONLY,
                get(list_inventory_hosts).options(inventory_hosts_options),
            ),
        ),
        (
            "/api/v2/hosts/",
            protected(
                LIST_CREATE,
                get(list_hosts).post(create_host).options(hosts_options),
            ),
        ),
        (
            "/api/v2/hosts/{id}/",
            protected(
                DETAIL,
                get(get_host)
                    .put(update_host)
                    .patch(update_host)
                    .delete(delete_host)
                    .options(host_options),
            ),
        ),
    ] {
        router = awx_route(router, path, mr);
    }
    router
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// The components of a named-URL segment (`inv1++Default`): split on `++`, with `[+]`
/// standing for a literal `+` (AWX's escape). `None` for a lone `+`, which no named URL of
/// the resources Portcullis holds contains.
pub(crate) fn named_parts(segment: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut rest = segment;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("[+]") {
            parts.last_mut()?.push('+');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("++") {
            parts.push(String::new());
            rest = r;
        } else if c == '+' {
            return None;
        } else {
            parts.last_mut()?.push(c);
            rest = rest.get(c.len_utf8()..)?;
        }
    }
    Some(parts)
}

/// The organization a named URL's `<organization.name>` part names: `Some(None)` for the
/// empty part (no organization), `Some(Some(1))` for `Default`, `None` for any other name.
fn organization_named(name: &str) -> Option<Option<i64>> {
    match name {
        "" => Some(None),
        "Default" => Some(Some(DEFAULT_ORGANIZATION)),
        _ => None,
    }
}

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
fn list_params(uri: &Uri, resource: &Resource) -> ApiResult<ListParams> {
    ListParams::parse(uri.query(), &resource.filterable())
}

fn require_superuser(p: &Principal) -> ApiResult<()> {
    if p.user.is_superuser {
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

/// DRF's boolean spellings (`BooleanField`).
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On"
        | "ON" | "1" => Some(true),
        "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
        | "Off" | "OFF" | "0" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Stubs

/// The value kind of `resource`'s field `name`, for filtering rows in memory.
pub(crate) fn field_kind(resource: &Resource, name: &str) -> Option<ValueKind> {
    resource.field(name).map(|f| match f.kind {
        FieldType::Integer => ValueKind::Int,
        FieldType::Id if f.name == "id" => ValueKind::Int,
        FieldType::Id => ValueKind::Related,
        FieldType::Boolean => ValueKind::Bool,
        FieldType::Datetime => ValueKind::Instant,
        FieldType::String
        | FieldType::Json
        | FieldType::Choice
        | FieldType::List
        | FieldType::NestedObject => ValueKind::Text,
    })
}

fn compare_cells(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// `GET /api/v2/<stub>/`: the stub's rows, filtered, ordered and paged like every list.
#[utoipa::path(get, path = "/api/v2/{stub}/", tag = "compatibility",
    params(("stub" = String, Path, description = "organizations, projects, teams, credentials, job_templates, workflow_job_templates or instance_groups"),
           ("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match")),
    responses((status = 200, description = "Empty page (organizations: the Default organization)"),
              (status = 400, description = "Unknown filter field"), (status = 401, description = "Not authenticated")))]
pub async fn stub_list(
    stub: &'static Stub,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let params = list_params(&uri, stub.resource)?;
    let mut rows: Vec<Value> = (stub.rows)()
        .into_iter()
        .filter(|row| {
            filter::row_matches(
                &params.filter,
                row,
                &|name| field_kind(stub.resource, name),
                &["name", "description"],
            )
        })
        .collect();
    let (field, descending) = params
        .order_by
        .clone()
        .unwrap_or_else(|| ("id".to_owned(), false));
    rows.sort_by(|a, b| {
        let o = compare_cells(a.get(&field), b.get(&field));
        let o = if descending { o.reverse() } else { o };
        o.then_with(|| compare_cells(a.get("id"), b.get("id")))
    });
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let page = rows
        .into_iter()
        .skip(usize::try_from(params.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(params.page_size).unwrap_or(0))
        .collect();
    Ok(Json(params.envelope(uri.path(), total, page)?))
}

/// `GET /api/v2/<stub>/<id>/`: 404, except the `Default` organization.
#[utoipa::path(get, path = "/api/v2/{stub}/{id}/", tag = "compatibility",
    params(("stub" = String, Path, description = "A compatibility list"), ("id" = String, Path, description = "Object id")),
    responses((status = 200, description = "organizations/1: the Default organization"),
              (status = 404, description = "Not found"), (status = 401, description = "Not authenticated")))]
pub async fn stub_detail(
    stub: &'static Stub,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    stub_row(stub, &id).map(Json)
}

/// The id of the organization a path segment names (`1` or `Default`); 404 otherwise.
pub(crate) fn organization_id(segment: &str) -> ApiResult<i64> {
    let organizations = STUBS.first().ok_or(ApiError::NotFound)?;
    stub_row(organizations, segment)?
        .get("id")
        .and_then(Value::as_i64)
        .ok_or(ApiError::NotFound)
}

/// The stub row a path segment names: an id, or a named URL `<name>` (the organizations'
/// format; the other stubs hold no rows).
fn stub_row(stub: &Stub, segment: &str) -> ApiResult<Value> {
    let by_id = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    let wanted = if by_id {
        json!(parse_id(segment)?)
    } else {
        match named_parts(segment).as_deref() {
            Some([name]) => json!(name),
            _ => return Err(ApiError::NotFound),
        }
    };
    let key = if by_id { "id" } else { "name" };
    (stub.rows)()
        .into_iter()
        .find(|row| row.get(key) == Some(&wanted))
        .ok_or(ApiError::NotFound)
}

/// `OPTIONS /api/v2/<stub>/` and `…/<id>/`: `actions.GET` only, whatever the caller.
#[utoipa::path(options, path = "/api/v2/{stub}/", tag = "compatibility",
    params(("stub" = String, Path, description = "A compatibility list")),
    responses((status = 200, description = "AWX metadata (GET only)"), (status = 401, description = "Not authenticated")))]
pub async fn stub_options(stub: &'static Stub, Authed(_): Authed, detail: bool) -> Json<Value> {
    if detail {
        options::detail_options(stub.resource, false)
    } else {
        options::list_options(stub.resource, false)
    }
}

// ---------------------------------------------------------------------------------------
// Body validation from the field tables

/// Field errors in AWX's shape, in the table's field order.
type Errors = Vec<(String, Vec<String>)>;

/// How a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// POST: required fields must be present, omitted ones take their defaults.
    Create,
    /// PUT: as create, for the fields a change accepts.
    Replace,
    /// PATCH: only the fields sent.
    Patch,
}

fn required(msg: &str) -> Vec<String> {
    vec![msg.to_owned()]
}

/// A text value as DRF's `CharField` reads it: numbers become text, surrounding whitespace
/// is trimmed, `required` fields may not be blank.
fn clean_text(f: &Field, v: &Value) -> Result<Value, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null if f.nullable() => return Ok(Value::Null),
        // AWX's ChoiceNullField: a choice that offers "" reads null as "" (the collection
        // sends `"kind": null` for a normal inventory).
        Value::Null
            if f.kind == FieldType::Choice && f.choices.iter().any(|(c, _)| c.is_empty()) =>
        {
            String::new()
        }
        Value::Null => return Err("This field may not be null.".into()),
        _ => return Err("Not a valid string.".into()),
    };
    // Free-form JSON/YAML text is kept exactly as given (§13.2).
    let text = if f.kind == FieldType::Json {
        text
    } else {
        text.trim().to_owned()
    };
    if f.required && text.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if let Some(max) = f.max_length
        && text.chars().count() > max
    {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if !f.choices.is_empty() && !f.choices.iter().any(|(c, _)| *c == text) {
        return Err(format!("\"{text}\" is not a valid choice."));
    }
    Ok(Value::String(text))
}

fn clean_bool(v: &Value) -> Result<Value, String> {
    let b = match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::Null => return Err("This field may not be null.".into()),
        _ => None,
    };
    b.map(Value::Bool)
        .ok_or_else(|| "Must be a valid boolean.".into())
}

/// A primary key as DRF's `PrimaryKeyRelatedField` reads it (existence is checked by the
/// resource, see [`Registry::references`]).
fn clean_pk(f: &Field, v: &Value) -> Result<Value, String> {
    let incorrect = |t: &str| format!("Incorrect type. Expected pk value, received {t}.");
    match v {
        Value::Null if f.nullable() => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::Number(n) => n
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| incorrect("float")),
        Value::String(s) => s
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| incorrect("str")),
        Value::Bool(_) => Err(incorrect("bool")),
        Value::Array(_) => Err(incorrect("list")),
        Value::Object(_) => Err(incorrect("dict")),
    }
}

fn clean_value(f: &Field, v: &Value) -> Result<Value, String> {
    match f.kind {
        FieldType::String | FieldType::Choice | FieldType::Json => clean_text(f, v),
        FieldType::Boolean => clean_bool(v),
        FieldType::Id => clean_pk(f, v),
        // No writable field of these types exists in the resource tables.
        FieldType::Integer | FieldType::Datetime | FieldType::List | FieldType::NestedObject => {
            Ok(v.clone())
        }
    }
}

/// Validates `body` against `resource`'s table: the cleaned values of the fields `mode`
/// accepts (unknown and read-only keys are ignored, as DRF does), or the field errors.
fn clean(
    resource: &Resource,
    body: &Map<String, Value>,
    mode: Mode,
) -> (Map<String, Value>, Errors) {
    let write = if mode == Mode::Create {
        Write::Post
    } else {
        Write::Put
    };
    let mut cleaned = Map::new();
    let mut errors = Errors::new();
    for f in resource.fields.iter().filter(|f| f.accepted_by(write)) {
        match body.get(f.name) {
            None if mode == Mode::Patch => {}
            None if f.required => {
                errors.push((f.name.to_owned(), required("This field is required.")));
            }
            None => {
                if let Some(d) = f.default {
                    cleaned.insert(f.name.to_owned(), d.value());
                }
            }
            Some(v) => match clean_value(f, v) {
                Ok(v) => {
                    cleaned.insert(f.name.to_owned(), v);
                }
                Err(msg) => errors.push((f.name.to_owned(), vec![msg])),
            },
        }
    }
    (cleaned, errors)
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(m: &Map<String, Value>, key: &str) -> Option<bool> {
    m.get(key).and_then(Value::as_bool)
}

/// A cleaned reference: `None` when absent, `Some(None)` for `null`.
fn pk(m: &Map<String, Value>, key: &str) -> Option<Option<i64>> {
    m.get(key).map(Value::as_i64)
}

fn invalid_pk(field: &str, id: i64) -> (String, Vec<String>) {
    (
        field.to_owned(),
        vec![format!("Invalid pk \"{id}\" - object does not exist.")],
    )
}

// ---------------------------------------------------------------------------------------
// Inventories and hosts: one generic handler set

/// What the generic inventory/host handlers need to know about one kind of object.
#[async_trait::async_trait]
trait Registry: Send + Sync + 'static {
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
    async fn references(store: &dyn Store, cleaned: &Map<String, Value>) -> StoreResult<Errors>;
    /// Inserts from a complete cleaned body.
    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ApiResult<Self::Record>;
    /// Applies a cleaned body.
    async fn change(
        store: &dyn Store,
        id: i64,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> ApiResult<Self::Record>;
    /// Deletes.
    async fn remove(store: &dyn Store, id: i64) -> StoreResult<()>;
}

/// The page of `K` matching the request's filters (hosts: optionally of one inventory).
async fn list<K: Registry>(
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
async fn fetch<K: Registry>(state: &AppState, segment: &str) -> ApiResult<K::Record> {
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
) -> ApiResult<Map<String, Value>> {
    let resource = K::resource();
    let (cleaned, mut errors) = clean(resource, body, mode);
    errors.extend(K::references(state.store.as_ref(), &cleaned).await?);
    if errors.is_empty() {
        return Ok(cleaned);
    }
    errors.sort_by_key(|(name, _)| resource.fields.iter().position(|f| f.name == name));
    Err(ApiError::Validation(errors))
}

async fn create<K: Registry>(
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

async fn update<K: Registry>(
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

async fn delete<K: Registry>(
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
async fn detail_options<K: Registry>(
    state: &AppState,
    p: &Principal,
    segment: &str,
) -> ApiResult<Json<Value>> {
    let can_change = superuser_writes(p)
        && match fetch::<K>(state, segment).await {
            Ok(_) => true,
            Err(ApiError::NotFound) => false,
            Err(e) => return Err(e),
        };
    Ok(options::detail_options(K::resource(), can_change))
}

/// Inventories (§13.2).
struct Inventories;

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

    /// The only organization is the built-in `Default` (§13.1).
    async fn references(_: &dyn Store, cleaned: &Map<String, Value>) -> StoreResult<Errors> {
        Ok(match pk(cleaned, "organization") {
            Some(Some(id)) if id != DEFAULT_ORGANIZATION => vec![invalid_pk("organization", id)],
            _ => Vec::new(),
        })
    }

    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ApiResult<InventoryRecord> {
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
    ) -> ApiResult<InventoryRecord> {
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
fn inventory_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Validation(vec![(
            "name".into(),
            vec!["Inventory with this Name already exists.".into()],
        )]),
        other => other.into(),
    }
}

/// Hosts (§13.2).
struct Hosts;

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

    async fn references(store: &dyn Store, cleaned: &Map<String, Value>) -> StoreResult<Errors> {
        Ok(match pk(cleaned, "inventory") {
            Some(Some(id)) if store.inventory_by_id(id).await?.is_none() => {
                vec![invalid_pk("inventory", id)]
            }
            _ => Vec::new(),
        })
    }

    async fn insert(
        store: &dyn Store,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> ApiResult<HostRecord> {
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
            StoreError::NotFound => ApiError::Validation(vec![invalid_pk("inventory", inventory)]),
            other => host_conflict(other),
        })
    }

    async fn change(
        store: &dyn Store,
        id: i64,
        cleaned: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> ApiResult<HostRecord> {
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

/// Host names are unique within their inventory (§13.2).
fn host_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Validation(vec![(
            "__all__".into(),
            vec!["Host with this Name and Inventory already exists.".into()],
        )]),
        other => other.into(),
    }
}

// ---------------------------------------------------------------------------------------
// The documented handlers

/// `GET /api/v2/inventories/`
#[utoipa::path(get, path = "/api/v2/inventories/", tag = "inventories",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match"),
           ("organization" = Option<String>, Query, description = "Exact match (`null` for none)")),
    responses((status = 200, description = "Paginated inventories"), (status = 400, description = "Unknown filter field"),
              (status = 401, description = "Not authenticated")))]
pub async fn list_inventories(
    State(state): State<AppState>,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    list::<Inventories>(&state, &uri, &options::INVENTORIES, None).await
}

/// `POST /api/v2/inventories/`
#[utoipa::path(post, path = "/api/v2/inventories/", tag = "inventories",
    request_body(content = Object, description = "name (required), description, organization (null or 1), variables"),
    responses((status = 201, description = "Created"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn create_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    create::<Inventories>(&state, &p, &body).await
}

/// `GET /api/v2/inventories/<id>/`
#[utoipa::path(get, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "The inventory"), (status = 404, description = "Not found")))]
pub async fn get_inventory(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(Inventories::render(
        &fetch::<Inventories>(&state, &id).await?,
    )))
}

/// `PUT`/`PATCH /api/v2/inventories/<id>/` (PUT resets omitted fields to their defaults)
#[utoipa::path(patch, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    request_body(content = Object, description = "Fields to change"),
    responses((status = 200, description = "The inventory"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser"), (status = 404, description = "Not found")))]
pub async fn update_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    method: Method,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    update::<Inventories>(&state, &p, &id, &method, &body).await
}

/// `DELETE /api/v2/inventories/<id>/`: also deletes its hosts.
#[utoipa::path(delete, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a superuser"),
              (status = 404, description = "Not found")))]
pub async fn delete_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    delete::<Inventories>(&state, &p, &id).await
}

/// `GET /api/v2/inventories/<id>/hosts/`
#[utoipa::path(get, path = "/api/v2/inventories/{id}/hosts/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "Paginated hosts of the inventory"), (status = 404, description = "No such inventory")))]
pub async fn list_inventory_hosts(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let inventory = fetch::<Inventories>(&state, &id).await?;
    list::<Hosts>(&state, &uri, &options::INVENTORY_HOSTS, Some(inventory.id)).await
}

/// `GET /api/v2/hosts/`
#[utoipa::path(get, path = "/api/v2/hosts/", tag = "inventories",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match"),
           ("inventory" = Option<i64>, Query, description = "Exact match")),
    responses((status = 200, description = "Paginated hosts"), (status = 400, description = "Unknown filter field"),
              (status = 401, description = "Not authenticated")))]
pub async fn list_hosts(
    State(state): State<AppState>,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    list::<Hosts>(&state, &uri, &options::HOSTS, None).await
}

/// `POST /api/v2/hosts/`
#[utoipa::path(post, path = "/api/v2/hosts/", tag = "inventories",
    request_body(content = Object, description = "name and inventory (required), description, enabled, instance_id, variables"),
    responses((status = 201, description = "Created"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser, or a read-scope token")))]
pub async fn create_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    create::<Hosts>(&state, &p, &body).await
}

/// `GET /api/v2/hosts/<id>/`
#[utoipa::path(get, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 200, description = "The host"), (status = 404, description = "Not found")))]
pub async fn get_host(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(Hosts::render(&fetch::<Hosts>(&state, &id).await?)))
}

/// `PUT`/`PATCH /api/v2/hosts/<id>/` (PUT resets omitted fields to their defaults)
#[utoipa::path(patch, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    request_body(content = Object, description = "Fields to change"),
    responses((status = 200, description = "The host"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser"), (status = 404, description = "Not found")))]
pub async fn update_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    method: Method,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    update::<Hosts>(&state, &p, &id, &method, &body).await
}

/// `DELETE /api/v2/hosts/<id>/`
#[utoipa::path(delete, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a superuser"),
              (status = 404, description = "Not found")))]
pub async fn delete_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    delete::<Hosts>(&state, &p, &id).await
}

/// `OPTIONS /api/v2/inventories/`
#[utoipa::path(options, path = "/api/v2/inventories/", tag = "inventories",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn inventories_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(&options::INVENTORIES, superuser_writes(&p))
}

/// `OPTIONS /api/v2/inventories/<id>/`: 200 whether or not it exists.
#[utoipa::path(options, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers on an existing inventory")))]
pub async fn inventory_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    detail_options::<Inventories>(&state, &p, &id).await
}

/// `OPTIONS /api/v2/inventories/<id>/hosts/`
#[utoipa::path(options, path = "/api/v2/inventories/{id}/hosts/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "AWX metadata (GET only)")))]
pub async fn inventory_hosts_options(Authed(_): Authed) -> Json<Value> {
    options::list_options(&options::INVENTORY_HOSTS, false)
}

/// `OPTIONS /api/v2/hosts/`
#[utoipa::path(options, path = "/api/v2/hosts/", tag = "inventories",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn hosts_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(&options::HOSTS, superuser_writes(&p))
}

/// `OPTIONS /api/v2/hosts/<id>/`: 200 whether or not it exists.
#[utoipa::path(options, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers on an existing host")))]
pub async fn host_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    detail_options::<Hosts>(&state, &p, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_applies_defaults_and_requires_fields() {
        let body = json!({"name": "  h1 ", "inventory": "3", "variables": " x: 1\n"});
        let (cleaned, errors) = clean(&options::HOSTS, body.as_object().unwrap(), Mode::Create);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(cleaned),
            json!({"name": "h1", "description": "", "inventory": 3, "enabled": true,
                   "instance_id": "", "variables": " x: 1\n"})
        );
        let (_, errors) = clean(&options::HOSTS, &Map::new(), Mode::Create);
        assert_eq!(
            errors,
            vec![
                ("name".to_owned(), required("This field is required.")),
                ("inventory".to_owned(), required("This field is required.")),
            ]
        );
        let (cleaned, errors) = clean(&options::HOSTS, &Map::new(), Mode::Patch);
        assert!(cleaned.is_empty() && errors.is_empty());
    }

    #[test]
    fn wrong_types_get_drf_messages() {
        let body = json!({"name": "", "inventory": true, "enabled": "maybe", "instance_id": [1],
                          "description": null});
        let (_, errors) = clean(&options::HOSTS, body.as_object().unwrap(), Mode::Patch);
        assert_eq!(
            errors,
            vec![
                ("name".to_owned(), required("This field may not be blank.")),
                (
                    "description".to_owned(),
                    required("This field may not be null.")
                ),
                (
                    "inventory".to_owned(),
                    required("Incorrect type. Expected pk value, received bool.")
                ),
                ("enabled".to_owned(), required("Must be a valid boolean.")),
                ("instance_id".to_owned(), required("Not a valid string.")),
            ]
        );
        let body = json!({"organization": null});
        let (cleaned, errors) = clean(
            &options::INVENTORIES,
            body.as_object().unwrap(),
            Mode::Patch,
        );
        assert!(errors.is_empty());
        assert_eq!(pk(&cleaned, "organization"), Some(None));
    }

    #[test]
    fn stub_fields_have_kinds_and_ids_parse() {
        assert_eq!(
            field_kind(&options::ORGANIZATIONS, "id"),
            Some(ValueKind::Int)
        );
        assert_eq!(
            field_kind(&options::ORGANIZATIONS, "name"),
            Some(ValueKind::Text)
        );
        assert_eq!(
            field_kind(&options::INVENTORIES, "organization"),
            Some(ValueKind::Related)
        );
        assert_eq!(field_kind(&options::ORGANIZATIONS, "nope"), None);
    }
}
