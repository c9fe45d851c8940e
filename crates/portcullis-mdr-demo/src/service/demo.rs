//! `portcullis mdr load-demo <file>` (`docs/mdr-api.md`, "SOC-side data"): customers, tenants,
//! assets, incidents, responses and comments from one JSON document, idempotently by id.
//!
//! Document shape (see `docs/mdr-demo.json`):
//!
//! ```json
//! {"customers": [{"client_id": "…32 hex…", "name": "…",
//!   "tenants": [{"tenant_id": "…", "tenant_name": "…"}],
//!   "assets": [{"asset_id": "0x…", "host_name": "…", "tenant_name": "…", …}],
//!   "incidents": [{"incident_id": "…", "summary": "…", "affected_asset_ids": ["0x…"],
//!                  "tenant_name": "…", "status": "Open", "creation_time": 0,
//!                  "comments": [{"comment_id": "…", "text": "…"}],
//!                  "responses": [{"response_id": "…", "type": "…"}]}]}]}
//! ```
//!
//! Policy: loading twice gives the same data as loading once. Objects are upserted by id; an
//! incident keeps the number it got on its first load (numbers come from the customer's
//! sequence, so later incidents never collide with demo ones), and its `update_time` never
//! goes backwards, so an incremental sync stays correct across reloads. No history records
//! are written: demo data describes a state, not a sequence of changes.

use super::incidents::build;
use super::keys::{Keys, Obj};
use super::model::{
    Comment, INCIDENT_STATUSES, Incident, Link, ORIGIN_CLIENT, ORIGIN_SOC, PENDING, RESOLVED,
    RESPONSE_STATUSES, Response, decode, kind, object, resolution_value,
};
use super::{Ctx, SOC_AUTHOR, assets, soc};
use portcullis_core::mdr::{ROOT_WITHOUT_TENANTS, is_client_id_syntax};
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use portcullis_store::{CustomerRecord, StoreError, TenantRecord};
use serde_json::Value;

/// What a load touched (created or replaced).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Customers.
    pub customers: usize,
    /// Tenants.
    pub tenants: usize,
    /// Assets.
    pub assets: usize,
    /// Incidents.
    pub incidents: usize,
    /// Responses.
    pub responses: usize,
    /// Comments.
    pub comments: usize,
}

/// Loads the document; an error names the offending object (`customers[0].incidents[2]: …`).
pub async fn load_demo(state: &AppState, doc: &Value) -> MdrResult<DemoSummary> {
    let root = doc
        .as_object()
        .ok_or_else(|| MdrError::bad_request("the document is not a JSON object"))?;
    let customers = array(&Keys(root), "customers")?;
    let mut summary = DemoSummary::default();
    for (i, c) in customers.iter().enumerate() {
        let at = format!("customers[{i}]");
        let c = as_object(c, &at)?;
        load_customer(state, c, &at, &mut summary).await?;
    }
    Ok(summary)
}

fn located(at: &str) -> impl Fn(MdrError) -> MdrError + '_ {
    move |e| {
        if e.status() == axum::http::StatusCode::BAD_REQUEST
            || e.status() == axum::http::StatusCode::NOT_FOUND
        {
            MdrError::bad_request(format!("{at}: {}", e.message()))
        } else {
            e
        }
    }
}

fn as_object<'a>(v: &'a Value, at: &str) -> MdrResult<&'a Obj> {
    v.as_object()
        .ok_or_else(|| MdrError::bad_request(format!("{at}: not a JSON object")))
}

/// An optional array key (absent = empty).
fn array<'a>(keys: &Keys<'a>, key: &str) -> MdrResult<&'a [Value]> {
    match keys.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a.as_slice()),
        Some(_) => Err(MdrError::invalid(key)),
    }
}

/// An id of 1–64 ASCII letters and digits.
fn plain_id<'a>(keys: &Keys<'a>, key: &str) -> MdrResult<&'a str> {
    keys.require(&[key])?;
    let id = keys.req_str(key)?;
    if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(MdrError::invalid(key))
    }
}

/// An asset id: `0x` + 32 hex digits.
fn asset_id<'a>(keys: &Keys<'a>) -> MdrResult<&'a str> {
    keys.require(&["asset_id"])?;
    let id = keys.req_str("asset_id")?;
    let ok = id
        .strip_prefix("0x")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(id)
    } else {
        Err(MdrError::invalid("asset_id"))
    }
}

async fn load_customer(
    state: &AppState,
    c: &Obj,
    at: &str,
    summary: &mut DemoSummary,
) -> MdrResult<()> {
    let keys = Keys(c);
    let err = located(at);
    keys.require(&["client_id", "name"]).map_err(&err)?;
    let client_id = keys.req_str("client_id").map_err(&err)?;
    if !is_client_id_syntax(client_id) {
        return Err(err(MdrError::invalid("client_id")));
    }
    let name = keys.req_str("name").map_err(&err)?;
    if state.store.customer(client_id).await?.is_none() {
        let record = CustomerRecord {
            client_id: client_id.to_owned(),
            name: name.trim().to_owned(),
            created_at: state.clock.now(),
        };
        match state.store.create_customer(&record).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    summary.customers += 1;

    for (i, t) in array(&keys, "tenants").map_err(&err)?.iter().enumerate() {
        let at = format!("{at}.tenants[{i}]");
        load_tenant(state, client_id, as_object(t, &at)?)
            .await
            .map_err(located(&at))?;
        summary.tenants += 1;
    }
    // The context is built after the tenants exist, so names resolve.
    let ctx = Ctx::soc(state, client_id).await?;
    for (i, a) in array(&keys, "assets").map_err(&err)?.iter().enumerate() {
        let at = format!("{at}.assets[{i}]");
        load_asset(state, &ctx, as_object(a, &at)?)
            .await
            .map_err(located(&at))?;
        summary.assets += 1;
    }
    for (i, inc) in array(&keys, "incidents").map_err(&err)?.iter().enumerate() {
        let at = format!("{at}.incidents[{i}]");
        load_incident(state, &ctx, as_object(inc, &at)?, &at, summary).await?;
        summary.incidents += 1;
    }
    Ok(())
}

async fn load_tenant(state: &AppState, client_id: &str, t: &Obj) -> MdrResult<()> {
    let keys = Keys(t);
    keys.require(&["tenant_name"])?;
    let name = keys.req_str("tenant_name")?.trim();
    if name.is_empty() || name == ROOT_WITHOUT_TENANTS {
        return Err(MdrError::invalid("tenant_name"));
    }
    let given = match keys.get("tenant_id") {
        None => None,
        Some(_) => Some(plain_id(&keys, "tenant_id")?),
    };
    let existing = state.store.tenants(client_id).await?;
    if let Some(e) = existing.iter().find(|e| e.tenant_name == name) {
        // Same name: the tenant exists; a different id for it is a contradiction.
        return match given {
            Some(id) if id != e.tenant_id => Err(MdrError::invalid("tenant_id")),
            _ => Ok(()),
        };
    }
    if let Some(id) = given
        && existing.iter().any(|e| e.tenant_id == id)
    {
        return Err(MdrError::invalid("tenant_name"));
    }
    let record = TenantRecord {
        tenant_id: given.map_or_else(
            || portcullis_core::mdr::new_id20(state.rng.as_ref()),
            str::to_owned,
        ),
        client_id: client_id.to_owned(),
        tenant_name: name.to_owned(),
    };
    state.store.create_tenant(&record).await?;
    Ok(())
}

async fn load_asset(state: &AppState, ctx: &Ctx, a: &Obj) -> MdrResult<()> {
    let keys = Keys(a);
    let id = asset_id(&keys)?;
    let asset = assets::from_keys(&keys, id.to_owned(), ctx.now_ms)?;
    let tenant_id = soc::tenant_of(ctx, &keys)?;
    let link = Link {
        parent_id: None,
        tenant_id: tenant_id.as_deref(),
    };
    let o = object(
        &ctx.client_id,
        kind::ASSET,
        id,
        link,
        (asset.first_seen, asset.last_seen),
        &asset,
    )?;
    state.store.upsert_object(&o, None).await?;
    Ok(())
}

/// An optional time key, else `default`.
fn time(keys: &Keys<'_>, key: &str, default: i64) -> MdrResult<i64> {
    Ok(keys.int(key)?.unwrap_or(default))
}

async fn load_incident(
    state: &AppState,
    ctx: &Ctx,
    inc: &Obj,
    at: &str,
    summary: &mut DemoSummary,
) -> MdrResult<()> {
    let keys = Keys(inc);
    let err = located(at);
    let id = plain_id(&keys, "incident_id").map_err(&err)?;
    let new = soc::new_incident(state, ctx, &keys).await.map_err(&err)?;
    let previous: Option<Incident> = match state
        .store
        .object(&ctx.client_id, kind::INCIDENT, id)
        .await?
    {
        Some(o) => Some(decode(&o)?),
        None => None,
    };
    let status = keys.str("status").map_err(&err)?.unwrap_or("Open");
    if !INCIDENT_STATUSES.contains(&status) {
        return Err(err(MdrError::invalid("status")));
    }
    let resolution = match keys.str("resolution").map_err(&err)? {
        None => None,
        Some(r) => Some(resolution_value(r).ok_or_else(|| err(MdrError::invalid("resolution")))?),
    };
    let number = match &previous {
        Some(p) => p.incident_number,
        None => state.store.next_incident_number(&ctx.client_id).await?,
    };
    let creation_time = time(&keys, "creation_time", ctx.now_ms).map_err(&err)?;
    let tenant_id = new.tenant_id.clone();
    let mut incident = build(new, id.to_owned(), number, creation_time);
    incident.status = status.to_owned();
    incident.status_description = keys
        .str("status_description")
        .map_err(&err)?
        .unwrap_or("")
        .to_owned();
    incident.resolution = resolution.map(str::to_owned);

    let link = Link {
        parent_id: Some(id),
        tenant_id: tenant_id.as_deref(),
    };
    let mut latest = time(&keys, "update_time", creation_time).map_err(&err)?;
    let mut comments = Vec::new();
    for (i, c) in array(&keys, "comments").map_err(&err)?.iter().enumerate() {
        let at = format!("{at}.comments[{i}]");
        let c = comment(id, as_object(c, &at)?, creation_time).map_err(located(&at))?;
        latest = latest.max(c.creation_time);
        comments.push(c);
    }
    let mut responses = Vec::new();
    for (i, r) in array(&keys, "responses").map_err(&err)?.iter().enumerate() {
        let at = format!("{at}.responses[{i}]");
        let r = response(id, as_object(r, &at)?, creation_time).map_err(located(&at))?;
        latest = latest.max(r.update_time);
        responses.push(r);
    }
    // Never backwards: a reload must not hide changes from a client syncing by update_time.
    incident.update_time = previous
        .as_ref()
        .map_or(latest, |p| latest.max(p.update_time));
    if status == RESOLVED {
        incident.resolved_ms = Some(time(&keys, "resolved_time", latest).map_err(&err)?);
    }

    for c in &comments {
        let o = object(
            &ctx.client_id,
            kind::COMMENT,
            &c.comment_id,
            link,
            (c.creation_time, c.creation_time),
            c,
        )?;
        state.store.upsert_object(&o, None).await?;
        summary.comments += 1;
    }
    for r in &responses {
        let o = object(
            &ctx.client_id,
            kind::RESPONSE,
            &r.response_id,
            link,
            (r.creation_time, r.update_time),
            r,
        )?;
        state.store.upsert_object(&o, None).await?;
        summary.responses += 1;
    }
    let own = Link {
        parent_id: None,
        tenant_id: tenant_id.as_deref(),
    };
    let o = object(
        &ctx.client_id,
        kind::INCIDENT,
        id,
        own,
        (incident.creation_time, incident.update_time),
        &incident,
    )?;
    state.store.upsert_object(&o, None).await?;
    Ok(())
}

fn comment(incident_id: &str, c: &Obj, default_time: i64) -> MdrResult<Comment> {
    let keys = Keys(c);
    let id = plain_id(&keys, "comment_id")?;
    keys.require(&["text"])?;
    let origin = keys.str("origin")?.unwrap_or(ORIGIN_SOC);
    if origin != ORIGIN_SOC && origin != ORIGIN_CLIENT {
        return Err(MdrError::invalid("origin"));
    }
    Ok(Comment {
        comment_id: id.to_owned(),
        incident_id: incident_id.to_owned(),
        author_name: keys.str("author_name")?.unwrap_or(SOC_AUTHOR).to_owned(),
        text: keys.req_str("text")?.to_owned(),
        creation_time: time(&keys, "creation_time", default_time)?,
        origin: origin.to_owned(),
        was_read: origin == ORIGIN_CLIENT,
        // A demo comment belongs to no connection, so no client can delete it.
        connection_id: None,
    })
}

fn response(incident_id: &str, r: &Obj, default_time: i64) -> MdrResult<Response> {
    let keys = Keys(r);
    let id = plain_id(&keys, "response_id")?;
    keys.require(&["type"])?;
    let status = keys.str("status")?.unwrap_or(PENDING);
    if !RESPONSE_STATUSES.contains(&status) {
        return Err(MdrError::invalid("status"));
    }
    let creation_time = time(&keys, "creation_time", default_time)?;
    Ok(Response {
        response_id: id.to_owned(),
        incident_id: incident_id.to_owned(),
        kind: keys.req_str("type")?.to_owned(),
        parameters: keys.object("parameters")?.cloned().unwrap_or_default(),
        description: keys.str("description")?.unwrap_or("").to_owned(),
        creation_time,
        update_time: time(&keys, "update_time", creation_time)?,
        asset_id: keys.str("asset_id")?.map(str::to_owned),
        status: status.to_owned(),
        comment: keys.str("comment")?.map(str::to_owned),
        connection_id: None,
    })
}
