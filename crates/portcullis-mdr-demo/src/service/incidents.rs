//! `incidents/count`, `list`, `details`, `create`, `close` (`docs/mdr-api.md`, "Endpoints",
//! "Filters and enumerations", "Behaviour").
//!
//! Policy: an incident is served with its children embedded (`comments`, `attachments`,
//! `responses`), and always as it reads now: a `"Resolved"` incident older than 72 hours is
//! `"Closed"` in every list, count, filter and detail alike.

use super::assets::{self, Row};
use super::change::{Loaded, change_incident, load_incident, record_details, settle};
use super::keys::{Fields, Keys, Obj, Paging, Sort};
use super::model::{
    Attachment, CLOSED, Comment, HostMapping, INCIDENT_STATUSES, Incident, Link, MITRE_TACTICS,
    PRIORITIES, RESPONSE_STATUSES, Response, decode, kind, object, resolution_value,
};
use super::render::html_fields;
use super::{Ctx, Scope};
use portcullis_core::mdr::new_id20;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use serde_json::Value;
use std::collections::HashMap;

/// Fields `sort` accepts.
pub const SORT_FIELDS: &[&str] = &[
    "incident_id",
    "incident_number",
    "summary",
    "status",
    "priority",
    "creation_time",
    "update_time",
    "tenant_name",
    "resolution",
];
/// Default order.
pub const DEFAULT_SORT: &str = "creation_time:asc";
/// The id key.
pub const ID: &str = "incident_id";
/// Status of a new incident.
pub const OPEN: &str = "Open";
/// Longest summary accepted.
const MAX_SUMMARY: usize = 1024;

/// An incident with its children.
#[derive(Debug, Clone)]
pub struct Full {
    /// The incident.
    pub loaded: Loaded,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its attachments, oldest first.
    pub attachments: Vec<Attachment>,
    /// Its responses, oldest first.
    pub responses: Vec<Response>,
}

impl Full {
    /// The wire object (`docs/mdr-api.md`, "Objects"), children embedded.
    pub fn render(&self, scope: &Scope) -> Obj {
        let mut o = self
            .loaded
            .incident
            .render_core(scope.tenant_name(self.loaded.tenant_id()));
        let list = |v: Vec<Obj>| Value::Array(v.into_iter().map(Value::Object).collect());
        o.insert(
            "comments".into(),
            list(self.comments.iter().map(super::model::render).collect()),
        );
        o.insert(
            "attachments".into(),
            list(self.attachments.iter().map(super::model::render).collect()),
        );
        o.insert(
            "responses".into(),
            list(self.responses.iter().map(super::model::render).collect()),
        );
        o
    }

    /// The wire object with `markdown_to_html` and `fields` applied.
    pub fn output(&self, scope: &Scope, markdown: bool, fields: &Fields) -> Value {
        let mut o = self.render(scope);
        if markdown {
            html_fields(&mut o);
        }
        Value::Object(fields.project(o, ID))
    }
}

/// Stored children of one kind, grouped by incident.
async fn children<T: serde::de::DeserializeOwned>(
    state: &AppState,
    ctx: &Ctx,
    kind: &str,
    parent: Option<&str>,
) -> MdrResult<HashMap<String, Vec<T>>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for o in state.store.objects(&ctx.client_id, kind, parent).await? {
        if let Some(p) = &o.parent_id {
            let item = decode(&o)?;
            out.entry(p.clone()).or_default().push(item);
        }
    }
    Ok(out)
}

/// One incident with its children.
pub async fn full(state: &AppState, ctx: &Ctx, loaded: Loaded) -> MdrResult<Full> {
    let id = loaded.incident.incident_id.clone();
    let comments = children::<Comment>(state, ctx, kind::COMMENT, Some(&id)).await?;
    let attachments = children::<Attachment>(state, ctx, kind::ATTACHMENT, Some(&id)).await?;
    let responses = children::<Response>(state, ctx, kind::RESPONSE, Some(&id)).await?;
    Ok(Full {
        comments: take(comments, &id),
        attachments: take(attachments, &id),
        responses: take(responses, &id),
        loaded,
    })
}

fn take<T>(mut groups: HashMap<String, Vec<T>>, id: &str) -> Vec<T> {
    groups.remove(id).unwrap_or_default()
}

/// Every in-scope incident with its children, in storage order.
async fn all(state: &AppState, ctx: &Ctx) -> MdrResult<Vec<Full>> {
    let stored = state
        .store
        .objects(&ctx.client_id, kind::INCIDENT, None)
        .await?;
    let mut comments = children::<Comment>(state, ctx, kind::COMMENT, None).await?;
    let mut attachments = children::<Attachment>(state, ctx, kind::ATTACHMENT, None).await?;
    let mut responses = children::<Response>(state, ctx, kind::RESPONSE, None).await?;
    stored
        .into_iter()
        .filter(|o| ctx.scope.contains(o.tenant_id.as_deref()))
        .map(|o| {
            let id = o.id.clone();
            Ok(Full {
                loaded: settle(o, ctx.now_ms)?,
                comments: comments.remove(&id).unwrap_or_default(),
                attachments: attachments.remove(&id).unwrap_or_default(),
                responses: responses.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// The incident filters (`docs/mdr-api.md`, "Filters and enumerations"); empty lists and phrases
/// constrain nothing.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    affected_hosts: Option<Vec<String>>,
    asset_ids: Option<Vec<String>>,
    detection_technologies: Option<Vec<String>>,
    min_creation_time: Option<i64>,
    max_creation_time: Option<i64>,
    min_update_time: Option<i64>,
    max_update_time: Option<i64>,
    mitre_tactics: Option<Vec<String>>,
    mitre_techniques: Option<Vec<String>>,
    priorities: Option<Vec<String>>,
    resolutions: Option<Vec<String>>,
    response_statuses: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    search_phrase: Option<String>,
    statuses: Option<Vec<String>>,
    tenants_names: Option<Vec<String>>,
}

fn non_empty<T>(v: Option<Vec<T>>) -> Option<Vec<T>> {
    v.filter(|l| !l.is_empty())
}

fn any_of(filter: Option<&Vec<String>>, values: &[String]) -> bool {
    filter.is_none_or(|f| values.iter().any(|v| f.contains(v)))
}

impl IncidentFilter {
    /// Reads the filter keys.
    pub fn parse(keys: &Keys<'_>) -> MdrResult<Self> {
        let resolutions = match non_empty(keys.strings("resolutions")?) {
            None => None,
            Some(l) => Some(
                l.iter()
                    .map(|r| resolution_value(r).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| MdrError::invalid("resolutions"))?,
            ),
        };
        Ok(Self {
            affected_hosts: non_empty(keys.strings("affected_hosts")?),
            asset_ids: non_empty(keys.strings("asset_ids")?),
            detection_technologies: non_empty(keys.strings("detection_technologies")?),
            min_creation_time: keys.int("min_creation_time")?,
            max_creation_time: keys.int("max_creation_time")?,
            min_update_time: keys.int("min_update_time")?,
            max_update_time: keys.int("max_update_time")?,
            mitre_tactics: non_empty(keys.enum_strings("mitre_tactics", &MITRE_TACTICS)?),
            mitre_techniques: non_empty(keys.strings("mitre_techniques")?),
            priorities: non_empty(keys.enum_strings("priorities", &PRIORITIES)?),
            resolutions,
            response_statuses: non_empty(
                keys.enum_strings("response_statuses", &RESPONSE_STATUSES)?,
            ),
            response_types: non_empty(keys.strings("response_types")?),
            search_phrase: keys
                .str("search_phrase")?
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            statuses: non_empty(keys.enum_strings("statuses", &INCIDENT_STATUSES)?),
            tenants_names: non_empty(keys.strings("tenants_names")?),
        })
    }

    fn matches(&self, f: &Full, scope: &Scope) -> bool {
        let i = &f.loaded.incident;
        let tenant = f.loaded.tenant_id();
        let within = |v: i64, min: Option<i64>, max: Option<i64>| {
            min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
        };
        let host_match = |wanted: &String| {
            i.affected_hosts.iter().any(|e| {
                e.eq_ignore_ascii_case(wanted)
                    || e.rsplit_once(':')
                        .is_some_and(|(h, _)| h.eq_ignore_ascii_case(wanted))
            })
        };
        self.affected_hosts
            .as_ref()
            .is_none_or(|l| l.iter().any(host_match))
            && self
                .asset_ids
                .as_ref()
                .is_none_or(|l| i.asset_ids().any(|a| l.iter().any(|x| x == a)))
            && any_of(
                self.detection_technologies.as_ref(),
                &i.detection_technologies,
            )
            && within(
                i.creation_time,
                self.min_creation_time,
                self.max_creation_time,
            )
            && within(i.update_time, self.min_update_time, self.max_update_time)
            && any_of(self.mitre_tactics.as_ref(), &i.mitre_tactics)
            && any_of(self.mitre_techniques.as_ref(), &i.mitre_techniques)
            && self
                .priorities
                .as_ref()
                .is_none_or(|l| l.contains(&i.priority))
            && self
                .resolutions
                .as_ref()
                .is_none_or(|l| i.resolution.as_ref().is_some_and(|r| l.contains(r)))
            && self
                .response_statuses
                .as_ref()
                .is_none_or(|l| f.responses.iter().any(|r| l.contains(&r.status)))
            && self
                .response_types
                .as_ref()
                .is_none_or(|l| f.responses.iter().any(|r| l.contains(&r.kind)))
            && self
                .search_phrase
                .as_ref()
                .is_none_or(|p| search_text(i, scope.tenant_name(tenant)).contains(p.as_str()))
            && self.statuses.as_ref().is_none_or(|l| l.contains(&i.status))
            && self
                .tenants_names
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| scope.name_matches(tenant, n)))
    }
}

/// The lowercased names and text fields `search_phrase` looks in.
fn search_text(i: &Incident, tenant_name: Option<&str>) -> String {
    let mut parts = vec![
        i.summary.as_str(),
        i.description.as_str(),
        i.status_description.as_str(),
        tenant_name.unwrap_or(""),
    ];
    parts.extend(i.affected_hosts.iter().map(String::as_str));
    parts.join("\n").to_lowercase()
}

async fn matching(state: &AppState, ctx: &Ctx, filter: &IncidentFilter) -> MdrResult<Vec<Full>> {
    Ok(all(state, ctx)
        .await?
        .into_iter()
        .filter(|f| filter.matches(f, &ctx.scope))
        .collect())
}

/// `incidents/count`.
pub async fn count(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let filter = IncidentFilter::parse(keys)?;
    let n = matching(state, ctx, &filter).await?.len();
    Ok(serde_json::json!({ "count": n }))
}

/// `incidents/list`.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let filter = IncidentFilter::parse(keys)?;
    let sort = Sort::parse(keys, SORT_FIELDS, DEFAULT_SORT)?;
    let paging = Paging::parse(keys, state.config.mdr.page_size_max)?;
    let fields = Fields::parse(keys)?;
    let markdown = keys.markdown()?;
    let mut items: Vec<Obj> = matching(state, ctx, &filter)
        .await?
        .iter()
        .map(|f| f.render(&ctx.scope))
        .collect();
    sort.apply(&mut items, ID);
    Ok(Value::Array(
        paging
            .apply(items)
            .into_iter()
            .map(|mut o| {
                if markdown {
                    html_fields(&mut o);
                }
                Value::Object(fields.project(o, ID))
            })
            .collect(),
    ))
}

/// `incidents/details`.
pub async fn details(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&[ID])?;
    let id = keys.req_str(ID)?;
    let fields = Fields::parse(keys)?;
    let markdown = keys.markdown()?;
    let loaded = load_incident(state, ctx, id).await?;
    Ok(full(state, ctx, loaded)
        .await?
        .output(&ctx.scope, markdown, &fields))
}

/// What a new incident is made of, validated.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// Summary.
    pub summary: String,
    /// Markdown.
    pub description: String,
    /// Priority.
    pub priority: String,
    /// Affected assets.
    pub assets: Vec<Row>,
    /// Tenant (`None` = root).
    pub tenant_id: Option<String>,
    /// Detection technologies.
    pub detection_technologies: Vec<String>,
    /// MITRE tactics.
    pub mitre_tactics: Vec<String>,
    /// MITRE techniques.
    pub mitre_techniques: Vec<String>,
    /// `no_sla_flag`.
    pub no_sla_flag: bool,
}

/// The incident a [`NewIncident`] becomes, with `id` and `number`, created at `now_ms`.
pub fn build(new: NewIncident, id: String, number: i64, now_ms: i64) -> Incident {
    Incident {
        incident_id: id,
        incident_number: number,
        summary: new.summary,
        description: new.description,
        status: OPEN.into(),
        status_description: String::new(),
        resolution: None,
        priority: new.priority,
        creation_time: now_ms,
        update_time: now_ms,
        affected_hosts: new.assets.iter().map(|r| r.asset.host_entry()).collect(),
        affected_hosts_mappings: new
            .assets
            .iter()
            .map(|r| HostMapping {
                host_id: r.asset.asset_id.clone(),
                host_name: r.asset.host_name.clone(),
            })
            .collect(),
        detection_technologies: new.detection_technologies,
        mitre_tactics: new.mitre_tactics,
        mitre_techniques: new.mitre_techniques,
        resolved_ms: None,
        no_sla_flag: new.no_sla_flag,
    }
}

/// Stores a new incident (status `"Open"`, `update_time` = `creation_time`) and records it.
pub async fn insert(state: &AppState, ctx: &Ctx, new: NewIncident) -> MdrResult<Loaded> {
    let number = state.store.next_incident_number(&ctx.client_id).await?;
    let id = new_id20(state.rng.as_ref());
    let tenant_id = new.tenant_id.clone();
    let incident = build(new, id, number, ctx.now_ms);
    let link = Link {
        parent_id: None,
        tenant_id: tenant_id.as_deref(),
    };
    let times = (incident.creation_time, incident.update_time);
    let stored = object(
        &ctx.client_id,
        kind::INCIDENT,
        &incident.incident_id,
        link,
        times,
        &incident,
    )?;
    state.store.insert_object(&stored, None).await?;
    let loaded = Loaded { stored, incident };
    record_details(state, ctx, &loaded).await;
    Ok(loaded)
}

/// A priority key, default `"NORMAL"`.
pub fn priority(keys: &Keys<'_>) -> MdrResult<String> {
    let p = keys.str("priority")?.unwrap_or("NORMAL");
    if PRIORITIES.contains(&p) {
        Ok(p.to_owned())
    } else {
        Err(MdrError::invalid("priority"))
    }
}

/// A summary key: required, not blank, bounded.
pub fn summary(keys: &Keys<'_>) -> MdrResult<String> {
    let s = keys.req_str("summary")?;
    if s.trim().is_empty() || s.chars().count() > MAX_SUMMARY {
        return Err(MdrError::invalid("summary"));
    }
    Ok(s.to_owned())
}

/// The affected assets of `incidents/create`: every `"<HOST-NAME>:<asset_id>"` entry must
/// name an in-scope asset of the customer by its id and host name.
fn affected(entries: &[String], assets: &HashMap<String, Row>) -> MdrResult<Vec<Row>> {
    if entries.is_empty() {
        return Err(MdrError::invalid("affected_hosts"));
    }
    let mut out: Vec<Row> = Vec::with_capacity(entries.len());
    for e in entries {
        let row = e
            .rsplit_once(':')
            .and_then(|(host, id)| {
                assets
                    .get(id)
                    .filter(|r| r.asset.host_name.eq_ignore_ascii_case(host))
            })
            .ok_or_else(|| MdrError::invalid("affected_hosts"))?;
        if !out.iter().any(|r| r.asset.asset_id == row.asset.asset_id) {
            out.push(row.clone());
        }
    }
    Ok(out)
}

/// The tenant of a new incident: the given `tenant_id` (404 `tenant not found` unless it is
/// an in-scope tenant), else the one tenant all affected assets share, else the root; a
/// derived tenant outside the scope asks for an explicit `tenant_id`.
pub fn tenant_for(ctx: &Ctx, given: Option<&str>, assets: &[Row]) -> MdrResult<Option<String>> {
    if let Some(t) = given {
        if ctx.scope.is_tenant(t) && ctx.scope.contains(Some(t)) {
            return Ok(Some(t.to_owned()));
        }
        return Err(MdrError::not_found("tenant"));
    }
    let first = assets.first().and_then(|r| r.tenant_id.clone());
    let shared = assets.iter().all(|r| r.tenant_id == first);
    let derived = if shared { first } else { None };
    if ctx.scope.contains(derived.as_deref()) {
        Ok(derived)
    } else {
        Err(MdrError::required("tenant_id"))
    }
}

/// `incidents/create`.
pub async fn create(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["summary", "client_description", "affected_hosts"])?;
    let summary = summary(keys)?;
    let description = keys.req_str("client_description")?.to_owned();
    let entries = keys
        .strings("affected_hosts")?
        .ok_or_else(|| MdrError::required("affected_hosts"))?;
    let priority = priority(keys)?;
    let given_tenant = keys.str("tenant_id")?;
    let no_sla_flag = keys.bool("no_sla_flag")?.unwrap_or(false);
    let markdown = keys.markdown()?;

    let in_scope = assets::in_scope_by_id(state, ctx).await?;
    let assets = affected(&entries, &in_scope)?;
    let tenant_id = tenant_for(ctx, given_tenant, &assets)?;
    let loaded = insert(
        state,
        ctx,
        NewIncident {
            summary,
            description,
            priority,
            assets,
            tenant_id,
            detection_technologies: Vec::new(),
            mitre_tactics: Vec::new(),
            mitre_techniques: Vec::new(),
            no_sla_flag,
        },
    )
    .await?;
    let created = Full {
        loaded,
        comments: Vec::new(),
        attachments: Vec::new(),
        responses: Vec::new(),
    };
    Ok(created.output(&ctx.scope, markdown, &Fields::default()))
}

/// `incidents/close`.
pub async fn close(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&[ID, "resolution_status", "summary"])?;
    let id = keys.req_str(ID)?;
    let resolution = match keys.req_str("resolution_status")? {
        "TRUE_POSITIVE" => "True positive",
        "FALSE_POSITIVE" => "False positive",
        _ => return Err(MdrError::invalid("resolution_status")),
    };
    let summary = keys.req_str("summary")?.to_owned();
    let loaded = change_incident(state, ctx, id, |i| {
        if i.status == CLOSED {
            return Err(MdrError::conflict("incident is already closed"));
        }
        i.status = CLOSED.into();
        i.resolution = Some(resolution.into());
        i.status_description = summary.clone();
        i.resolved_ms = None;
        Ok(())
    })
    .await?;
    record_details(state, ctx, &loaded).await;
    Ok(full(state, ctx, loaded)
        .await?
        .output(&ctx.scope, false, &Fields::default()))
}
