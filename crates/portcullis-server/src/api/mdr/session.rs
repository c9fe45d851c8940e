//! `POST /api/v1/{client_id}/session/confirm` (`docs/mdr-api.md`, "Token exchange"): checks 0–5
//! here, 6–10 in the service.

use super::body;
use super::error::MdrError;
use crate::extract::client_ip::request_origin;
use crate::service::mdr_session;
use crate::state::AppState;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use portcullis_core::jwt::MAX_TOKEN_BYTES;
use portcullis_core::mdr::is_client_id_syntax;

/// Largest `session/confirm` body.
const CONFIRM_BODY_LIMIT: usize = 64 * 1024;

/// The exchange.
pub async fn confirm(state: &AppState, client_id: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let source = request_origin(state, &parts).client_ip;
    if let Err(e) = mdr_session::exchange_throttled(state, source) {
        return e.into_response();
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
        Err(e) => e.into_response(),
    }
}
