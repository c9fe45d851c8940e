//! The protected resource API (`mdr-api.md` §9): authentication, body parsing and dispatch.

use crate::api::mdr::error::MdrError;
use crate::service::mdr_session;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_core::mdr::is_client_id_syntax;

/// Largest JSON body of a resource call.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// One resource call: `path` is a known `resource/action` other than `session/confirm`.
pub async fn call(state: &AppState, client_id: &str, path: &str, req: Request) -> Response {
    if !is_client_id_syntax(client_id) {
        return MdrError::no_route().into_response();
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = match mdr_session::authenticate(state, client_id, authorization.as_deref()).await
    {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let _ = (caller, path);
    MdrError::no_route().into_response()
}
