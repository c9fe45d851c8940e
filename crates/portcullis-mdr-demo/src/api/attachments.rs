//! `attachments/list`, `attachments/download`, `attachments/upload`.

use super::multipart::read_upload;
use super::{Call, JsonObject, TAG};
use crate::service::{Keys, attachments as svc};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_server::api::mdr::caller::AnyRole;
use portcullis_server::api::mdr::error::MdrResult;
use portcullis_server::api::mdr::json_ok;
use portcullis_server::state::AppState;

super::json_action!(
    /// `attachments/list`: a bare array, oldest first.
    list, "/api/v1/{client_id}/attachments/list", AnyRole, svc::list,
    "a bare array of attachments, oldest first"
);

/// `attachments/download`: the stored bytes as `application/octet-stream`.
#[utoipa::path(
    post,
    path = "/api/v1/{client_id}/attachments/download",
    tag = TAG,
    params(("client_id" = String, Path, description = "The customer's Client ID")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "the stored bytes", content_type = "application/octet-stream"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "no valid access token"),
        (status = 403, description = "token of another client, revoked, or role not permitted"),
        (status = 404, description = "unknown customer or attachment"),
    ),
    security(("mdr_access_token" = []))
)]
pub async fn download(
    State(state): State<AppState>,
    call: Call,
    JsonObject(body): JsonObject,
) -> MdrResult<Response> {
    let (bytes, name) = svc::download(&state, &call.ctx, &Keys(&body)).await?;
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

/// `attachments/upload`: parts `file` and `meta`; the created attachment.
#[utoipa::path(
    post,
    path = "/api/v1/{client_id}/attachments/upload",
    tag = TAG,
    params(("client_id" = String, Path, description = "The customer's Client ID")),
    request_body(content = Object, content_type = "multipart/form-data",
        description = "parts `file` (the bytes, with a file name) and `meta` (a JSON object)"),
    responses(
        (status = 200, description = "the created attachment", content_type = "application/json"),
        (status = 400, description = "invalid part or value"),
        (status = 401, description = "no valid access token"),
        (status = 403, description = "token of another client, revoked, or role not permitted"),
        (status = 404, description = "unknown customer or incident"),
        (status = 413, description = "attachment too large"),
        (status = 415, description = "not multipart/form-data"),
    ),
    security(("mdr_access_token" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    call: Call,
    req: Request,
) -> MdrResult<Response> {
    let upload = read_upload(req, state.config.mdr.attachments.max_size).await?;
    Ok(json_ok(&svc::upload(&state, &call.ctx, upload).await?))
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
