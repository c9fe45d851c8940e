//! The SOC side's data (`docs/mdr-api.md`, "SOC-side data"): what the public MDR surface cannot
//! create — assets, SOC incidents, response actions, SOC comments and attachments, status changes.
//!
//! Policy: these run with a whole-customer [`Ctx`] ([`Ctx::soc`]) and write through the same
//! code as the MDR surface, so SOC changes raise `update_time` and appear in the history
//! exactly like client changes (with no connection as their author).

use super::assets;
use super::attachments::{self, Upload};
use super::change::{change_incident, record_details};
use super::incidents::{self, Full, NewIncident};
use super::keys::{Fields, Keys};
use super::model::{
    INCIDENT_STATUSES, Link, MITRE_TACTICS, ORIGIN_SOC, RESOLVED, kind, object, resolution_value,
};
use super::{Ctx, comments, responses};
use portcullis_core::mdr::{ROOT_WITHOUT_TENANTS, new_asset_id};
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use serde_json::Value;

/// The tenant an object names by `tenant_id` or `tenant_name` (`null`, absent or
/// `"Root without tenants"` = root); 404 `tenant not found` for an unknown one.
pub fn tenant_of(ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Option<String>> {
    if let Some(id) = keys.str("tenant_id")? {
        return if ctx.scope.is_tenant(id) {
            Ok(Some(id.to_owned()))
        } else {
            Err(MdrError::not_found("tenant"))
        };
    }
    match keys.str("tenant_name")? {
        None => Ok(None),
        Some(n) if n == ROOT_WITHOUT_TENANTS => Ok(None),
        Some(n) => ctx
            .scope
            .tenant_id_by_name(n)
            .map(|id| Some(id.to_owned()))
            .ok_or_else(|| MdrError::not_found("tenant")),
    }
}

/// `POST …/soc/assets`: an asset object without `asset_id`.
pub async fn create_asset(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let asset = assets::from_keys(keys, new_asset_id(state.rng.as_ref()), ctx.now_ms)?;
    let tenant_id = tenant_of(ctx, keys)?;
    let link = Link {
        parent_id: None,
        tenant_id: tenant_id.as_deref(),
    };
    let o = object(
        &ctx.client_id,
        kind::ASSET,
        &asset.asset_id,
        link,
        (asset.first_seen, ctx.now_ms),
        &asset,
    )?;
    state.store.insert_object(&o, None).await?;
    Ok(Value::Object(
        asset.render(ctx.scope.tenant_name(tenant_id.as_deref())),
    ))
}

/// The SOC incident fields shared by the console and the demo loader.
pub async fn new_incident(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<NewIncident> {
    keys.require(&["summary"])?;
    let summary = incidents::summary(keys)?;
    let description = keys.str("description")?.unwrap_or("").to_owned();
    let priority = incidents::priority(keys)?;
    let ids = keys.strings("affected_asset_ids")?.unwrap_or_default();
    let tenant_id = tenant_of(ctx, keys)?;
    let detection_technologies = keys.strings("detection_technologies")?.unwrap_or_default();
    let mitre_tactics = keys
        .enum_strings("mitre_tactics", &MITRE_TACTICS)?
        .unwrap_or_default();
    let mitre_techniques = keys.strings("mitre_techniques")?.unwrap_or_default();
    let all = assets::in_scope_by_id(state, ctx).await?;
    let mut chosen: Vec<assets::Row> = Vec::with_capacity(ids.len());
    for id in &ids {
        let row = all
            .get(id)
            .ok_or_else(|| MdrError::invalid("affected_asset_ids"))?;
        if !chosen.iter().any(|r| &r.asset.asset_id == id) {
            chosen.push(row.clone());
        }
    }
    Ok(NewIncident {
        summary,
        description,
        priority,
        assets: chosen,
        tenant_id,
        detection_technologies,
        mitre_tactics,
        mitre_techniques,
        no_sla_flag: false,
    })
}

fn created(full: Full, ctx: &Ctx) -> Value {
    full.output(&ctx.scope, false, &Fields::default())
}

/// `POST …/soc/incidents`: status `"Open"`.
pub async fn create_incident(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    let new = new_incident(state, ctx, keys).await?;
    let loaded = incidents::insert(state, ctx, new).await?;
    Ok(created(
        Full {
            loaded,
            comments: Vec::new(),
            attachments: Vec::new(),
            responses: Vec::new(),
        },
        ctx,
    ))
}

/// `POST …/soc/incidents/{id}/responses`.
pub async fn create_response(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    keys: &Keys<'_>,
) -> MdrResult<Value> {
    responses::create_soc(state, ctx, incident_id, keys).await
}

/// `POST …/soc/incidents/{id}/comments`.
pub async fn create_comment(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    keys: &Keys<'_>,
) -> MdrResult<Value> {
    comments::create_soc(state, ctx, incident_id, keys).await
}

/// `POST …/soc/incidents/{id}/attachments`: `meta` (optional here) may carry `caption` and
/// `author_name`.
pub async fn create_attachment(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    upload: Upload,
) -> MdrResult<Value> {
    let meta = match upload.meta.as_deref() {
        None => serde_json::Map::new(),
        Some(raw) => match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            _ => return Err(MdrError::invalid("meta")),
        },
    };
    portcullis_server::api::mdr::body::refuse_nul(&meta)?;
    let keys = Keys(&meta);
    let caption = keys.str("caption")?.unwrap_or("").to_owned();
    let author = keys
        .str("author_name")?
        .filter(|a| !a.trim().is_empty())
        .unwrap_or(&ctx.author_name)
        .to_owned();
    attachments::store(
        state,
        ctx,
        incident_id,
        caption,
        upload,
        ORIGIN_SOC,
        &author,
    )
    .await
}

/// `POST …/soc/incidents/{id}/status`: `status` (any incident status), optional
/// `status_description` and `resolution`. `"Resolved"` starts the 72-hour clock.
pub async fn set_status(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    keys: &Keys<'_>,
) -> MdrResult<Value> {
    keys.require(&["status"])?;
    let status = keys.req_str("status")?;
    if !INCIDENT_STATUSES.contains(&status) {
        return Err(MdrError::invalid("status"));
    }
    let description = keys.str("status_description")?.map(str::to_owned);
    let resolution = match keys.str("resolution")? {
        None => None,
        Some(r) => Some(resolution_value(r).ok_or_else(|| MdrError::invalid("resolution"))?),
    };
    let now = ctx.now_ms;
    let loaded = change_incident(state, ctx, incident_id, |i| {
        i.status = status.to_owned();
        if let Some(d) = &description {
            i.status_description = d.clone();
        }
        if let Some(r) = resolution {
            i.resolution = Some(r.to_owned());
        }
        i.resolved_ms = (status == RESOLVED).then_some(now);
        Ok(())
    })
    .await?;
    record_details(state, ctx, &loaded).await;
    Ok(incidents::full(state, ctx, loaded)
        .await?
        .output(&ctx.scope, false, &Fields::default()))
}
