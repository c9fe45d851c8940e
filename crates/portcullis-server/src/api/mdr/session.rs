//! `POST /api/v1/{client_id}/session/confirm` (`docs/mdr-api.md`, "Token exchange"): checks 0–5
//! here, 6–10 in the service.

use super::body;
use super::error::MdrError;
use crate::extract::client_ip::request_origin;
use crate::service::mdr_session;
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::jwt::MAX_TOKEN_BYTES;
use portcullis_core::mdr::is_client_id_syntax;

/// Largest `session/confirm` body.
const CONFIRM_BODY_LIMIT: usize = 64 * 1024;

/// `POST /api/v1/{client_id}/session/confirm`: the exchange, answered `no-store`.
#[utoipa::path(post, path = "/api/v1/{client_id}/session/confirm", tag = "mdr",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    request_body(content = ConfirmRequest, description = "The connection's refresh token", content_type = "application/json"),
    responses(
        (status = 200, description = "A new access token and the rotated refresh token", body = TokenPair),
        (status = 400, description = "Invalid body", body = super::error::MdrErrorBody),
        (status = 401, description = "Refresh token refused", body = super::error::MdrErrorBody),
        (status = 404, description = "Unknown Client ID syntax", body = super::error::MdrErrorBody),
        (status = 413, description = "Body too large", body = super::error::MdrErrorBody),
        (status = 429, description = "Too many exchanges from this source", body = super::error::MdrErrorBody),
        (status = 503, description = "Unavailable; retry later", body = super::error::MdrErrorBody)))]
pub async fn session_confirm(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> Response {
    let mut resp = confirm(&state, &client_id, req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The body of `session/confirm`.
#[derive(Debug, utoipa::ToSchema)]
pub struct ConfirmRequest {
    /// The refresh token (at most 4096 bytes).
    pub refresh_token: String,
}

/// The answer of `session/confirm`.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenPair {
    /// The access JWT.
    pub access_token: String,
    /// The rotated refresh token.
    pub refresh_token: String,
}

/// The exchange.
pub async fn confirm(state: &AppState, client_id: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let source = request_origin(state, &parts).client_ip;
    if let Err(e) = mdr_session::exchange_throttled(state, source) {
        return MdrError::from(e).into_response();
    }
    if !is_client_id_syntax(client_id) {
        return MdrError::no_route().into_response();
    }
    let req = Request::from_parts(parts, body);
    let obj = match body::json_body(req, CONFIRM_BODY_LIMIT).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let token = match obj.get("refresh_token") {
        Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= MAX_TOKEN_BYTES => s,
        _ => return MdrError::required("refresh_token").into_response(),
    };
    match mdr_session::exchange(state, client_id, token, source).await {
        Ok(pair) => super::json_ok(&serde_json::json!({
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
        })),
        Err(e) => MdrError::from(e).into_response(),
    }
}
