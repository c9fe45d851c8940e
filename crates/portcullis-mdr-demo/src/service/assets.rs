//! `assets/count`, `assets/list`, `assets/details` (`docs/mdr-api.md`, "Endpoints", "Filters and
//! enumerations") and the asset builder the SOC side and the demo loader share.

use super::keys::{Fields, Keys, Obj, Paging, Sort};
use super::model::{ASSET_STATUSES, Asset, Incident, NetworkInterface, decode, kind};
use super::{Ctx, Scope};
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Fields `sort` accepts.
pub const SORT_FIELDS: &[&str] = &[
    "asset_id",
    "host_name",
    "domain",
    "first_seen",
    "last_seen",
    "os_version",
    "status",
    "tenant_name",
    "isolation",
    "ksc_host_id",
    "installed_product_info",
];
/// Default order.
pub const DEFAULT_SORT: &str = "first_seen:asc";
/// The id key.
pub const ID: &str = "asset_id";

/// An asset with its tenant.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its tenant (`None` = root).
    pub tenant_id: Option<String>,
    /// The asset.
    pub asset: Asset,
}

impl Row {
    /// The wire object.
    pub fn render(&self, scope: &Scope) -> Obj {
        self.asset
            .render(scope.tenant_name(self.tenant_id.as_deref()))
    }
}

/// The asset filters (`docs/mdr-api.md`, "Filters and enumerations"); empty lists and phrases
/// constrain nothing.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    domain: Option<String>,
    host_names: Option<Vec<String>>,
    is_isolated: Option<bool>,
    min_first_seen: Option<i64>,
    max_first_seen: Option<i64>,
    min_last_seen: Option<i64>,
    max_last_seen: Option<i64>,
    network_interface: Option<String>,
    os_version: Option<String>,
    product: Option<String>,
    related_incidents_ids: Option<Vec<String>>,
    search_phrase: Option<String>,
    statuses: Option<Vec<String>>,
    tenants_names: Option<Vec<String>>,
}

fn non_empty<T>(v: Option<Vec<T>>) -> Option<Vec<T>> {
    v.filter(|l| !l.is_empty())
}

fn non_blank(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(str::to_owned)
}

impl AssetFilter {
    /// Reads the filter keys.
    pub fn parse(keys: &Keys<'_>) -> MdrResult<Self> {
        Ok(Self {
            domain: non_blank(keys.str("domain")?),
            host_names: non_empty(keys.strings("host_names")?),
            is_isolated: keys.bool("is_isolated")?,
            min_first_seen: keys.int("min_first_seen")?,
            max_first_seen: keys.int("max_first_seen")?,
            min_last_seen: keys.int("min_last_seen")?,
            max_last_seen: keys.int("max_last_seen")?,
            network_interface: non_blank(keys.str("network_interface")?),
            os_version: non_blank(keys.str("os_version")?),
            product: non_blank(keys.str("product")?),
            related_incidents_ids: non_empty(keys.strings("related_incidents_ids")?),
            search_phrase: non_blank(keys.str("search_phrase")?).map(|s| s.to_lowercase()),
            statuses: non_empty(keys.enum_strings("statuses", &ASSET_STATUSES)?),
            tenants_names: non_empty(keys.strings("tenants_names")?),
        })
    }

    fn matches(&self, row: &Row, scope: &Scope, related: Option<&HashSet<String>>) -> bool {
        let a = &row.asset;
        let tenant = row.tenant_id.as_deref();
        let within = |v: i64, min: Option<i64>, max: Option<i64>| {
            min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
        };
        self.domain
            .as_ref()
            .is_none_or(|d| a.domain.eq_ignore_ascii_case(d))
            && self
                .host_names
                .as_ref()
                .is_none_or(|l| l.iter().any(|h| h.eq_ignore_ascii_case(&a.host_name)))
            && self.is_isolated.is_none_or(|i| a.isolation == i)
            && within(a.first_seen, self.min_first_seen, self.max_first_seen)
            && within(a.last_seen, self.min_last_seen, self.max_last_seen)
            && self
                .network_interface
                .as_ref()
                .is_none_or(|ip| a.network_interfaces.iter().any(|n| &n.ip == ip))
            && self
                .os_version
                .as_ref()
                .is_none_or(|v| a.os_version.to_lowercase().contains(&v.to_lowercase()))
            && self
                .product
                .as_ref()
                .is_none_or(|p| a.product_map.contains_key(p))
            && related.is_none_or(|r| r.contains(&a.asset_id))
            && self
                .search_phrase
                .as_ref()
                .is_none_or(|p| search_text(a, scope.tenant_name(tenant)).contains(p.as_str()))
            && self.statuses.as_ref().is_none_or(|l| l.contains(&a.status))
            && self
                .tenants_names
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| scope.name_matches(tenant, n)))
    }
}

/// The lowercased names and text fields `search_phrase` looks in.
fn search_text(a: &Asset, tenant_name: Option<&str>) -> String {
    let mut parts = vec![
        a.host_name.as_str(),
        a.domain.as_str(),
        a.os_version.as_str(),
        a.installed_product_info.as_str(),
        tenant_name.unwrap_or(""),
    ];
    parts.extend(a.status_reasons.iter().map(String::as_str));
    parts.extend(a.product_map.keys().map(String::as_str));
    parts.join("\n").to_lowercase()
}

/// Every asset of the customer in scope.
pub async fn in_scope(state: &AppState, ctx: &Ctx) -> MdrResult<Vec<Row>> {
    let stored = state
        .store
        .objects(&ctx.client_id, kind::ASSET, None)
        .await?;
    stored
        .iter()
        .filter(|o| ctx.scope.contains(o.tenant_id.as_deref()))
        .map(|o| {
            Ok(Row {
                tenant_id: o.tenant_id.clone(),
                asset: decode(o)?,
            })
        })
        .collect()
}

/// The in-scope assets by id.
pub async fn in_scope_by_id(state: &AppState, ctx: &Ctx) -> MdrResult<HashMap<String, Row>> {
    Ok(in_scope(state, ctx)
        .await?
        .into_iter()
        .map(|r| (r.asset.asset_id.clone(), r))
        .collect())
}

/// The asset ids affected by the in-scope incidents among `ids`.
async fn related_assets(state: &AppState, ctx: &Ctx, ids: &[String]) -> MdrResult<HashSet<String>> {
    let stored = state
        .store
        .objects(&ctx.client_id, kind::INCIDENT, None)
        .await?;
    let mut out = HashSet::new();
    for o in stored
        .iter()
        .filter(|o| ids.contains(&o.id) && ctx.scope.contains(o.tenant_id.as_deref()))
    {
        let i: Incident = decode(o)?;
        out.extend(i.asset_ids().map(str::to_owned));
    }
    Ok(out)
}

/// The in-scope assets the filter keys select, in storage order.
async fn matching(state: &AppState, ctx: &Ctx, filter: &AssetFilter) -> MdrResult<Vec<Row>> {
    let related = match &filter.related_incidents_ids {
        Some(ids) => Some(related_assets(state, ctx, ids).await?),
        None => None,
    };
    Ok(in_scope(state, ctx)
        .await?
        .into_iter()
        .filter(|r| filter.matches(r, &ctx.scope, related.as_ref()))
        .collect())
}

/// `assets/count`.
pub async fn count(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let filter = AssetFilter::parse(keys)?;
    let n = matching(state, ctx, &filter).await?.len();
    Ok(serde_json::json!({ "count": n }))
}

/// `assets/list`.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let filter = AssetFilter::parse(keys)?;
    let sort = Sort::parse(keys, SORT_FIELDS, DEFAULT_SORT)?;
    let paging = Paging::parse(keys, state.config.mdr.page_size_max)?;
    let fields = Fields::parse(keys)?;
    let mut items: Vec<Obj> = matching(state, ctx, &filter)
        .await?
        .iter()
        .map(|r| r.render(&ctx.scope))
        .collect();
    sort.apply(&mut items, ID);
    Ok(Value::Array(
        paging
            .apply(items)
            .into_iter()
            .map(|o| Value::Object(fields.project(o, ID)))
            .collect(),
    ))
}

/// `assets/details`.
pub async fn details(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&[ID])?;
    let id = keys.req_str(ID)?;
    let fields = Fields::parse(keys)?;
    let row = match state.store.object(&ctx.client_id, kind::ASSET, id).await? {
        Some(o) if ctx.scope.contains(o.tenant_id.as_deref()) => Row {
            tenant_id: o.tenant_id.clone(),
            asset: decode(&o)?,
        },
        _ => return Err(MdrError::not_found("asset")),
    };
    Ok(Value::Object(fields.project(row.render(&ctx.scope), ID)))
}

/// An asset from the keys of a SOC-side or demo object (`docs/mdr-api.md`, "Objects"), with
/// defaults for what is absent: first and last seen now, status `"OK"`, no isolation, empty texts
/// and lists.
pub fn from_keys(keys: &Keys<'_>, asset_id: String, now_ms: i64) -> MdrResult<Asset> {
    keys.require(&["host_name"])?;
    let host_name = keys.req_str("host_name")?;
    if host_name.trim().is_empty() || host_name.contains(':') {
        return Err(MdrError::invalid("host_name"));
    }
    let status = keys.str("status")?.unwrap_or("OK");
    if !ASSET_STATUSES.contains(&status) {
        return Err(MdrError::invalid("status"));
    }
    let network_interfaces: Vec<NetworkInterface> = match keys.get("network_interfaces") {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| MdrError::invalid("network_interfaces"))?,
    };
    let first_seen = keys.int("first_seen")?.unwrap_or(now_ms);
    Ok(Asset {
        asset_id,
        host_name: host_name.to_owned(),
        domain: keys.str("domain")?.unwrap_or("").to_owned(),
        first_seen,
        last_seen: keys.int("last_seen")?.unwrap_or(first_seen),
        installed_product_info: keys.str("installed_product_info")?.unwrap_or("").to_owned(),
        isolation: keys.bool("isolation")?.unwrap_or(false),
        isolation_task_id: keys.str("isolation_task_id")?.map(str::to_owned),
        ksc_host_id: keys.str("ksc_host_id")?.unwrap_or("").to_owned(),
        network_interfaces,
        os_version: keys.str("os_version")?.unwrap_or("").to_owned(),
        product_map: keys.object("product_map")?.cloned().unwrap_or_default(),
        status: status.to_owned(),
        status_reasons: keys.strings("status_reasons")?.unwrap_or_default(),
    })
}
