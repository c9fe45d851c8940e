//! `attachments/list`, `attachments/download`, `attachments/upload` (`docs/mdr-api.md`,
//! "Endpoints", "Behaviour").

use super::multipart::read_upload;
use crate::api::mdr::error::MdrResult;
use crate::api::mdr::json_ok;
use crate::service::mdr_resources::{Ctx, Keys, attachments as svc};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// `attachments/list`: a bare array, oldest first.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::list(state, ctx, keys).await
}

/// `attachments/download`: the stored bytes as `application/octet-stream`.
pub async fn download(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Response> {
    let (bytes, name) = svc::download(state, ctx, keys).await?;
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// `attachment; filename="<full_name>"`. A name that is not plain printable ASCII gets an
/// ASCII stand-in there (a header cannot carry it raw) plus the exact name in `filename*`.
pub fn content_disposition(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\');
    if plain {
        return format!("attachment; filename=\"{name}\"");
    }
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(name, NON_ALPHANUMERIC);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// `attachments/upload`: parts `file` and `meta`; the created attachment.
pub async fn upload(state: &AppState, ctx: &Ctx, req: Request) -> MdrResult<Response> {
    let upload = read_upload(req, state.config.mdr.attachments.max_size).await?;
    Ok(json_ok(&svc::upload(state, ctx, upload).await?))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn disposition() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\""
        );
        assert_eq!(
            content_disposition("ä \"q\".txt"),
            "attachment; filename=\"_ _q_.txt\"; filename*=UTF-8''%C3%A4%20%22q%22%2Etxt"
        );
    }
}
