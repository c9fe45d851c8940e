//! `comments/list`, `comments/create`, `comments/delete` (`docs/mdr-api.md`, "Endpoints",
//! "Behaviour") and the SOC side's comments.
//!
//! Policy: a comment's `author_name` is the creating connection's name at that moment and is
//! kept when the connection is renamed or deleted; only the creating connection (by id, not
//! by name) may delete it. A new comment is stored before the incident's `update_time` is
//! raised, so a reader that sees the new `update_time` also sees the comment.

use super::Ctx;
use super::change::{load_incident, record_details, touch_incident};
use super::history::{self, INCIDENT_COMMENT};
use super::keys::{Fields, Keys, Obj};
use super::model::{Comment, Link, ORIGIN_CLIENT, ORIGIN_SOC, decode, kind, object, render};
use super::render::html_fields;
use portcullis_core::mdr::new_id11;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use serde_json::Value;

/// The id key.
pub const ID: &str = "comment_id";
/// Longest comment accepted, in characters.
const MAX_TEXT: usize = 100_000;

fn output(c: &Comment, markdown: bool, fields: &Fields) -> Value {
    let mut o: Obj = render(c);
    if markdown {
        html_fields(&mut o);
    }
    Value::Object(fields.project(o, ID))
}

/// `comments/list`: oldest first.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["incident_id"])?;
    let incident_id = keys.req_str("incident_id")?;
    let fields = Fields::parse(keys)?;
    let markdown = keys.markdown()?;
    load_incident(state, ctx, incident_id).await?;
    let stored = state
        .store
        .objects(&ctx.client_id, kind::COMMENT, Some(incident_id))
        .await?;
    let mut out = Vec::with_capacity(stored.len());
    for o in &stored {
        out.push(output(&decode(o)?, markdown, &fields));
    }
    Ok(Value::Array(out))
}

/// Validated comment text.
fn text(keys: &Keys<'_>) -> MdrResult<String> {
    let t = keys.req_str("text")?;
    if t.trim().is_empty() || t.chars().count() > MAX_TEXT {
        return Err(MdrError::invalid("text"));
    }
    Ok(t.to_owned())
}

/// Stores a comment on `incident_id` and raises the incident's `update_time`.
async fn add(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    text: String,
    origin: &str,
    author: &str,
) -> MdrResult<Comment> {
    let loaded = load_incident(state, ctx, incident_id).await?;
    let client = origin == ORIGIN_CLIENT;
    let c = Comment {
        comment_id: new_id11(state.rng.as_ref()),
        incident_id: incident_id.to_owned(),
        author_name: author.to_owned(),
        text,
        creation_time: ctx.now_ms,
        origin: origin.to_owned(),
        was_read: client,
        connection_id: ctx.connection_id.clone().filter(|_| client),
    };
    let link = Link {
        parent_id: Some(incident_id),
        tenant_id: loaded.tenant_id(),
    };
    let o = object(
        &ctx.client_id,
        kind::COMMENT,
        &c.comment_id,
        link,
        (c.creation_time, c.creation_time),
        &c,
    )?;
    state.store.insert_object(&o, None).await?;
    let touched = match touch_incident(state, ctx, incident_id).await {
        Ok(t) => t,
        Err(e) => {
            // Without the raised update_time an incremental sync would never see the comment:
            // take it back and report the failure.
            if let Err(undo) = state
                .store
                .delete_object(&ctx.client_id, kind::COMMENT, &c.comment_id)
                .await
            {
                tracing::warn!(error = %undo, comment = %c.comment_id, "comment left without update_time");
            }
            return Err(e);
        }
    };
    history::record(
        state,
        ctx,
        &touched,
        INCIDENT_COMMENT,
        Value::Object(render(&c)),
    )
    .await;
    Ok(c)
}

/// `comments/create`.
pub async fn create(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["incident_id", "text"])?;
    let incident_id = keys.req_str("incident_id")?;
    let text = text(keys)?;
    let markdown = keys.markdown()?;
    let author = ctx.author_name.clone();
    let c = add(state, ctx, incident_id, text, ORIGIN_CLIENT, &author).await?;
    Ok(output(&c, markdown, &Fields::default()))
}

/// A SOC-side comment (`docs/mdr-api.md`, "SOC-side data"): `origin` `"soc"`, `was_read` false; the
/// author is `author_name` if given, else the SOC.
pub async fn create_soc(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    keys: &Keys<'_>,
) -> MdrResult<Value> {
    keys.require(&["text"])?;
    let text = text(keys)?;
    let author = keys
        .str("author_name")?
        .filter(|a| !a.trim().is_empty())
        .unwrap_or(&ctx.author_name)
        .to_owned();
    let c = add(state, ctx, incident_id, text, ORIGIN_SOC, &author).await?;
    Ok(Value::Object(render(&c)))
}

/// `comments/delete`: `{}`; 403 for a comment another connection (or the SOC) wrote.
pub async fn delete(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&[ID])?;
    let id = keys.req_str(ID)?;
    let c: Comment = match state
        .store
        .object(&ctx.client_id, kind::COMMENT, id)
        .await?
    {
        Some(o) if ctx.scope.contains(o.tenant_id.as_deref()) => decode(&o)?,
        _ => return Err(MdrError::not_found("comment")),
    };
    if ctx.connection_id.is_none() || c.connection_id != ctx.connection_id {
        return Err(MdrError::not_permitted());
    }
    match state
        .store
        .delete_object(&ctx.client_id, kind::COMMENT, id)
        .await
    {
        Ok(()) => {}
        Err(portcullis_store::StoreError::NotFound) => return Err(MdrError::not_found("comment")),
        Err(e) => return Err(e.into()),
    }
    let touched = touch_incident(state, ctx, &c.incident_id).await?;
    record_details(state, ctx, &touched).await;
    Ok(Value::Object(Obj::new()))
}
