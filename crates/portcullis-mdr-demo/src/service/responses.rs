//! `responses/list`, `response/update`, `responses/update` (`docs/mdr-api.md`, "Endpoints",
//! "Behaviour") and the SOC side's new responses.
//!
//! Policy: only a `"Pending"` response may be decided, by compare-and-set, so of two
//! concurrent decisions one wins and the other gets 409. `responses/update` is all-or-nothing:
//! every id is checked (404, then 409) before anything is written, and if a concurrent
//! decision slips in between the check and the writes, the writes already made are undone
//! and the whole request is evaluated again.

use super::change::{Loaded, load_incident, touch_incident};
use super::history::{self, INCIDENT_RESPONSE};
use super::keys::{Fields, Keys, Obj, Paging, Sort};
use super::model::{Link, PENDING, Response, decode, encode, kind, object, render};
use super::{Ctx, next_time};
use portcullis_core::mdr::new_id20;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use portcullis_store::MdrObject;
use serde_json::Value;
use std::collections::HashMap;

/// Fields `sort` accepts.
pub const SORT_FIELDS: &[&str] = &[
    "response_id",
    "incident_id",
    "type",
    "status",
    "creation_time",
    "update_time",
    "asset_id",
];
/// Default order.
pub const DEFAULT_SORT: &str = "creation_time:asc";
/// The id key.
pub const ID: &str = "response_id";
/// Decisions a client may take.
const DECISIONS: [&str; 2] = ["Confirmed", "Declined"];
/// Attempts before a contended decision gives up with 503.
const MAX_ATTEMPTS: usize = 16;

fn not_pending() -> MdrError {
    MdrError::conflict("response is not pending")
}

/// `responses/list`.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["incident_id"])?;
    let incident_id = keys.req_str("incident_id")?;
    let fields = Fields::parse(keys)?;
    let paging = Paging::parse(keys, state.config.mdr.page_size_max)?;
    let sort = Sort::parse(keys, SORT_FIELDS, DEFAULT_SORT)?;
    load_incident(state, ctx, incident_id).await?;
    let mut items = state
        .store
        .objects(&ctx.client_id, kind::RESPONSE, Some(incident_id))
        .await?
        .iter()
        .map(|o| decode::<Response>(o).map(|r| render(&r)))
        .collect::<MdrResult<Vec<Obj>>>()?;
    sort.apply(&mut items, ID);
    Ok(Value::Array(
        paging
            .apply(items)
            .into_iter()
            .map(|o| Value::Object(fields.project(o, ID)))
            .collect(),
    ))
}

/// The decision keys: `status` (`"Confirmed"` or `"Declined"`) and `comment`.
fn decision<'a>(keys: &Keys<'a>) -> MdrResult<(&'a str, &'a str)> {
    let status = keys.req_str("status")?;
    if !DECISIONS.contains(&status) {
        return Err(MdrError::invalid("status"));
    }
    Ok((status, keys.req_str("comment")?))
}

/// A response and its stored object, if in scope.
fn in_scope(ctx: &Ctx, o: MdrObject) -> MdrResult<Option<(MdrObject, Response)>> {
    if !ctx.scope.contains(o.tenant_id.as_deref()) {
        return Ok(None);
    }
    let r = decode(&o)?;
    Ok(Some((o, r)))
}

/// The decided response and its next stored object.
fn decided(
    ctx: &Ctx,
    stored: &MdrObject,
    r: &Response,
    status: &str,
    comment: &str,
) -> MdrResult<(MdrObject, Response)> {
    let mut r = r.clone();
    r.status = status.to_owned();
    r.comment = Some(comment.to_owned());
    r.update_time = next_time(ctx.now_ms, r.update_time);
    r.connection_id = ctx.connection_id.clone();
    let next = MdrObject {
        updated_ms: r.update_time,
        data: encode(&r)?,
        ..stored.clone()
    };
    Ok((next, r))
}

/// `response/update`.
pub async fn update(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&[ID, "status", "comment"])?;
    let id = keys.req_str(ID)?;
    let (status, comment) = decision(keys)?;
    for _ in 0..MAX_ATTEMPTS {
        let stored = state
            .store
            .object(&ctx.client_id, kind::RESPONSE, id)
            .await?;
        let Some((stored, r)) = stored.map(|o| in_scope(ctx, o)).transpose()?.flatten() else {
            return Err(MdrError::not_found("response"));
        };
        if r.status != PENDING {
            return Err(not_pending());
        }
        let (next, r) = decided(ctx, &stored, &r, status, comment)?;
        if state.store.replace_object(&next, stored.updated_ms).await? {
            let loaded = touch_incident(state, ctx, &r.incident_id).await?;
            history::record(
                state,
                ctx,
                &loaded,
                INCIDENT_RESPONSE,
                Value::Object(render(&r)),
            )
            .await;
            return Ok(Value::Object(render(&r)));
        }
    }
    Err(MdrError::unavailable(
        "response changed concurrently too often",
    ))
}

/// Puts back the objects a failed `responses/update` had already written.
async fn undo(state: &AppState, written: &[(MdrObject, MdrObject)]) {
    for (before, after) in written.iter().rev() {
        match state.store.replace_object(before, after.updated_ms).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(response = %before.id, "responses/update undo lost a race"),
            Err(e) => {
                tracing::warn!(response = %before.id, error = %e, "responses/update undo failed")
            }
        }
    }
}

/// `responses/update`.
pub async fn update_many(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["responses_ids", "status", "comment"])?;
    let mut ids = keys
        .strings("responses_ids")?
        .ok_or_else(|| MdrError::required("responses_ids"))?;
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() {
        return Err(MdrError::invalid("responses_ids"));
    }
    let (status, comment) = decision(keys)?;
    'attempt: for _ in 0..MAX_ATTEMPTS {
        let mut all: HashMap<String, MdrObject> = state
            .store
            .objects(&ctx.client_id, kind::RESPONSE, None)
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let mut current = Vec::with_capacity(ids.len());
        for id in &ids {
            match all
                .remove(id)
                .map(|o| in_scope(ctx, o))
                .transpose()?
                .flatten()
            {
                Some(pair) => current.push(pair),
                None => return Err(MdrError::not_found("response")),
            }
        }
        if current.iter().any(|(_, r)| r.status != PENDING) {
            return Err(not_pending());
        }
        let mut written: Vec<(MdrObject, MdrObject)> = Vec::with_capacity(current.len());
        let mut results = Vec::with_capacity(current.len());
        for (stored, r) in &current {
            let (next, r) = decided(ctx, stored, r, status, comment)?;
            match state.store.replace_object(&next, stored.updated_ms).await {
                Ok(true) => {
                    written.push((stored.clone(), next));
                    results.push(r);
                }
                Ok(false) => {
                    undo(state, &written).await;
                    continue 'attempt;
                }
                Err(e) => {
                    undo(state, &written).await;
                    return Err(e.into());
                }
            }
        }
        after_decisions(state, ctx, &results).await?;
        return Ok(Value::Array(
            results.iter().map(|r| Value::Object(render(r))).collect(),
        ));
    }
    Err(MdrError::unavailable(
        "responses changed concurrently too often",
    ))
}

/// Raises each affected incident's `update_time` once and records every decision.
async fn after_decisions(state: &AppState, ctx: &Ctx, responses: &[Response]) -> MdrResult<()> {
    let mut touched: Vec<(String, Loaded)> = Vec::new();
    for r in responses {
        if !touched.iter().any(|(id, _)| id == &r.incident_id) {
            let loaded = touch_incident(state, ctx, &r.incident_id).await?;
            touched.push((r.incident_id.clone(), loaded));
        }
    }
    for r in responses {
        if let Some((_, loaded)) = touched.iter().find(|(id, _)| id == &r.incident_id) {
            history::record(
                state,
                ctx,
                loaded,
                INCIDENT_RESPONSE,
                Value::Object(render(r)),
            )
            .await;
        }
    }
    Ok(())
}

/// A SOC-side response (`docs/mdr-api.md`, "SOC-side data"): `type` (required), `parameters`,
/// `description`, `asset_id` (an asset of the customer); status `"Pending"`.
pub async fn create_soc(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    keys: &Keys<'_>,
) -> MdrResult<Value> {
    keys.require(&["type"])?;
    let kind_name = keys.req_str("type")?;
    if kind_name.trim().is_empty() {
        return Err(MdrError::invalid("type"));
    }
    let parameters = keys.object("parameters")?.cloned().unwrap_or_default();
    let description = keys.str("description")?.unwrap_or("").to_owned();
    let asset_id = keys.str("asset_id")?;
    let loaded = load_incident(state, ctx, incident_id).await?;
    if let Some(a) = asset_id
        && state
            .store
            .object(&ctx.client_id, kind::ASSET, a)
            .await?
            .is_none()
    {
        return Err(MdrError::not_found("asset"));
    }
    let r = Response {
        response_id: new_id20(state.rng.as_ref()),
        incident_id: incident_id.to_owned(),
        kind: kind_name.to_owned(),
        parameters,
        description,
        creation_time: ctx.now_ms,
        update_time: ctx.now_ms,
        asset_id: asset_id.map(str::to_owned),
        status: PENDING.into(),
        comment: None,
        connection_id: None,
    };
    insert_child(state, ctx, &loaded, &r).await?;
    Ok(Value::Object(render(&r)))
}

/// Stores a new response of `loaded`, raises the incident's `update_time` and records it.
pub async fn insert_child(
    state: &AppState,
    ctx: &Ctx,
    loaded: &Loaded,
    r: &Response,
) -> MdrResult<()> {
    let link = Link {
        parent_id: Some(&r.incident_id),
        tenant_id: loaded.tenant_id(),
    };
    let o = object(
        &ctx.client_id,
        kind::RESPONSE,
        &r.response_id,
        link,
        (r.creation_time, r.update_time),
        r,
    )?;
    state.store.insert_object(&o, None).await?;
    let touched = touch_incident(state, ctx, &r.incident_id).await?;
    history::record(
        state,
        ctx,
        &touched,
        INCIDENT_RESPONSE,
        Value::Object(render(r)),
    )
    .await;
    Ok(())
}
