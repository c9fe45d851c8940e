//! `incidents/history` (`docs/mdr-api.md`, "Endpoints", "Objects", "Behaviour"): one record per
//! change of an incident or of one of its children, newest last.
//!
//! Policy: a record is written after the change it describes has been stored, with the
//! incident's new `update_time` as `changed_at`. Writing it is best effort: the change is
//! already committed, so a failed history write is logged and the request still succeeds
//! (answering 503 would invite a retry that duplicates the change).

use super::Ctx;
use super::change::{Loaded, load_incident};
use super::keys::{Keys, Obj, positive};
use super::model::{HistoryRecord, Link, decode, kind, object};
use portcullis_core::mdr::new_id20;
use portcullis_server::api::mdr::error::MdrResult;
use portcullis_server::state::AppState;
use serde_json::Value;
use std::collections::BTreeMap;

/// Entity key of a change of the incident itself.
pub const INCIDENT_DETAILS: &str = "incident_details";
/// Entity key of a new comment.
pub const INCIDENT_COMMENT: &str = "incident_comment";
/// Entity key of a new attachment.
pub const INCIDENT_ATTACHMENT: &str = "incident_attachment";
/// Entity key of a new or decided response.
pub const INCIDENT_RESPONSE: &str = "incident_response";

/// Default `entity_type_page_size`.
const DEFAULT_ENTITY_PAGE_SIZE: i64 = 100;

/// Appends a record of a change of `loaded` (already stored, with its new `update_time`).
pub async fn record(
    state: &AppState,
    ctx: &Ctx,
    loaded: &Loaded,
    entity_kind: &str,
    entity: Value,
) {
    let changed_at = loaded.incident.update_time;
    let rec = HistoryRecord {
        changed_at,
        entity_kind: entity_kind.to_owned(),
        entity,
        connection_id: ctx.connection_id.clone(),
    };
    let id = new_id20(state.rng.as_ref());
    let link = Link {
        parent_id: Some(&loaded.incident.incident_id),
        tenant_id: loaded.tenant_id(),
    };
    let written = match object(
        &ctx.client_id,
        kind::HISTORY,
        &id,
        link,
        (changed_at, changed_at),
        &rec,
    ) {
        Ok(o) => state
            .store
            .insert_object(&o, None)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.message().to_owned()),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, incident = %loaded.incident.incident_id, "incident history record not written");
    }
}

/// `incidents/history`.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["incident_id"])?;
    let incident_id = keys.req_str("incident_id")?;
    let page = positive(keys, "page", 1)?;
    let per_kind = positive(keys, "entity_type_page_size", DEFAULT_ENTITY_PAGE_SIZE)?
        .min(state.config.mdr.page_size_max.max(1));
    let ignore_self = keys.bool("ignore_self")?.unwrap_or(false);
    let min = keys.int("min_record_time")?;
    let max = keys.int("max_record_time")?;
    load_incident(state, ctx, incident_id).await?;

    let stored = state
        .store
        .objects(&ctx.client_id, kind::HISTORY, Some(incident_id))
        .await?;
    let mut records = Vec::with_capacity(stored.len());
    for o in &stored {
        let r: HistoryRecord = decode(o)?;
        let own = ctx.connection_id.is_some() && r.connection_id == ctx.connection_id;
        if (ignore_self && own)
            || min.is_some_and(|m| r.changed_at < m)
            || max.is_some_and(|m| r.changed_at > m)
        {
            continue;
        }
        records.push((o.id.clone(), r));
    }
    records.sort_by(|a, b| (a.1.changed_at, &a.0).cmp(&(b.1.changed_at, &b.0)));

    // `entity_type_page_size` pages each entity kind on its own; the page is their union.
    let size = usize::try_from(per_kind).unwrap_or(usize::MAX);
    let skip = usize::try_from(page.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .saturating_mul(size);
    let mut by_kind: BTreeMap<String, Vec<(String, HistoryRecord)>> = BTreeMap::new();
    for r in records {
        by_kind.entry(r.1.entity_kind.clone()).or_default().push(r);
    }
    let mut page_items: Vec<(String, HistoryRecord)> = by_kind
        .into_values()
        .flat_map(|v| v.into_iter().skip(skip).take(size))
        .collect();
    page_items.sort_by(|a, b| (a.1.changed_at, &a.0).cmp(&(b.1.changed_at, &b.0)));
    let out = page_items
        .into_iter()
        .map(|(_, r)| {
            let mut entity = Obj::new();
            entity.insert(r.entity_kind, r.entity);
            let mut o = Obj::new();
            o.insert("changed_at".into(), r.changed_at.into());
            o.insert("entity".into(), Value::Object(entity));
            Value::Object(o)
        })
        .collect();
    Ok(Value::Array(out))
}
