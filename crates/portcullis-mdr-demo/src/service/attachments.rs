//! `attachments/list`, `attachments/download`, `attachments/upload` (`docs/mdr-api.md`,
//! "Endpoints", "Behaviour") and the SOC side's attachments.
//!
//! Policy: the bytes are stored with the attachment object and served back unchanged; the
//! file name is reduced to its last path component without control characters, since it
//! ends up in a `Content-Disposition` header and on someone's disk.

use super::Ctx;
use super::change::{load_incident, touch_incident};
use super::history::{self, INCIDENT_ATTACHMENT};
use super::keys::{Fields, Keys, Obj};
use super::model::{Attachment, Link, ORIGIN_CLIENT, decode, kind, object, render};
use axum::http::StatusCode;
use portcullis_core::mdr::new_id20;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use serde_json::Value;

/// The id key.
pub const ID: &str = "attachment_id";
/// The name of an upload whose part carries none.
const DEFAULT_NAME: &str = "attachment";
/// Longest file name kept, in characters.
const MAX_NAME: usize = 255;

/// 413 `attachment too large`.
pub fn too_large() -> MdrError {
    MdrError::new(StatusCode::PAYLOAD_TOO_LARGE, "attachment too large")
}

/// One uploaded file, as the multipart parts delivered it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The `file` part's file name, if it had one.
    pub file_name: Option<String>,
    /// The `file` part's bytes.
    pub bytes: Vec<u8>,
    /// The `meta` part's bytes, if present.
    pub meta: Option<Vec<u8>>,
}

/// `attachments/list`: oldest first.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    keys.require(&["incident_id"])?;
    let incident_id = keys.req_str("incident_id")?;
    let fields = Fields::parse(keys)?;
    // Accepted for compatibility; attachments carry no rich text.
    keys.markdown()?;
    load_incident(state, ctx, incident_id).await?;
    let stored = state
        .store
        .objects(&ctx.client_id, kind::ATTACHMENT, Some(incident_id))
        .await?;
    let mut out = Vec::with_capacity(stored.len());
    for o in &stored {
        let a: Attachment = decode(o)?;
        out.push(Value::Object(fields.project(render(&a), ID)));
    }
    Ok(Value::Array(out))
}

/// `attachments/download`: the stored bytes and the file name.
pub async fn download(
    state: &AppState,
    ctx: &Ctx,
    keys: &Keys<'_>,
) -> MdrResult<(Vec<u8>, String)> {
    keys.require(&[ID])?;
    let id = keys.req_str(ID)?;
    let a: Attachment = match state
        .store
        .object(&ctx.client_id, kind::ATTACHMENT, id)
        .await?
    {
        Some(o) if ctx.scope.contains(o.tenant_id.as_deref()) => decode(&o)?,
        _ => return Err(MdrError::not_found("attachment")),
    };
    let bytes = state
        .store
        .object_content(&ctx.client_id, kind::ATTACHMENT, id)
        .await?
        .unwrap_or_default();
    Ok((bytes, a.full_name))
}

/// The file name to keep: the last path component, no control characters, bounded.
pub fn clean_name(raw: Option<&str>) -> String {
    let base = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        DEFAULT_NAME.to_owned()
    } else {
        name.to_owned()
    }
}

/// The `meta` part as a JSON object.
fn meta(upload: &Upload) -> MdrResult<Obj> {
    let raw = upload
        .meta
        .as_deref()
        .ok_or_else(|| MdrError::required("meta"))?;
    let m = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        // Some clients double-encode: a JSON string holding the object.
        Ok(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => m,
            _ => return Err(MdrError::invalid("meta")),
        },
        _ => return Err(MdrError::invalid("meta")),
    };
    // Its values reach storage like those of a JSON body: no NUL (see `extract::nul`).
    portcullis_server::api::mdr::body::refuse_nul(&m)?;
    Ok(m)
}

/// `attachments/upload`: `meta` holds `{"incident_id", "caption"}`.
pub async fn upload(state: &AppState, ctx: &Ctx, upload: Upload) -> MdrResult<Value> {
    let meta = meta(&upload)?;
    let keys = Keys(&meta);
    keys.require(&["incident_id"])?;
    let incident_id = keys.req_str("incident_id")?.to_owned();
    let caption = keys.str("caption")?.unwrap_or("").to_owned();
    let author = ctx.author_name.clone();
    store(
        state,
        ctx,
        &incident_id,
        caption,
        upload,
        ORIGIN_CLIENT,
        &author,
    )
    .await
}

/// Stores an attachment of `incident_id`, raises the incident's `update_time`, records it.
pub async fn store(
    state: &AppState,
    ctx: &Ctx,
    incident_id: &str,
    caption: String,
    upload: Upload,
    origin: &str,
    author: &str,
) -> MdrResult<Value> {
    if upload.bytes.len() > state.config.mdr.attachments.max_size {
        return Err(too_large());
    }
    let loaded = load_incident(state, ctx, incident_id).await?;
    let client = origin == ORIGIN_CLIENT;
    let a = Attachment {
        attachment_id: new_id20(state.rng.as_ref()),
        incident_id: incident_id.to_owned(),
        author_name: author.to_owned(),
        caption,
        creation_time: ctx.now_ms,
        file_size: i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX),
        full_name: clean_name(upload.file_name.as_deref()),
        link: None,
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
        kind::ATTACHMENT,
        &a.attachment_id,
        link,
        (a.creation_time, a.creation_time),
        &a,
    )?;
    state.store.insert_object(&o, Some(&upload.bytes)).await?;
    let touched = match touch_incident(state, ctx, incident_id).await {
        Ok(t) => t,
        Err(e) => {
            // As for comments: an attachment the incident's update_time does not announce
            // would be missed by incremental sync, so it is taken back.
            if let Err(undo) = state
                .store
                .delete_object(&ctx.client_id, kind::ATTACHMENT, &a.attachment_id)
                .await
            {
                tracing::warn!(error = %undo, attachment = %a.attachment_id, "attachment left without update_time");
            }
            return Err(e);
        }
    };
    history::record(
        state,
        ctx,
        &touched,
        INCIDENT_ATTACHMENT,
        Value::Object(render(&a)),
    )
    .await;
    Ok(Value::Object(render(&a)))
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_are_reduced_to_a_base_name() {
        assert_eq!(clean_name(Some("C:\\tmp\\report.pdf")), "report.pdf");
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("a\u{0}b\n.txt")), "ab.txt");
        assert_eq!(clean_name(Some("..")), "attachment");
        assert_eq!(clean_name(None), "attachment");
    }
}
