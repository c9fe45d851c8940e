//! The MDR surface: `POST /api/v1/{client_id}/<resource>/<action>` (`docs/mdr-api.md`, "Surface
//! conventions", "Token exchange", "Resource API"), plus the JWKS document.
//!
//! Policy: the route table is checked before authentication (an unknown action is 404 even without
//! a token); every method is `POST`, anything else is 405; bodies are JSON objects under the
//! tolerant Content-Type rules of `docs/mdr-api.md`, "Surface conventions"; every answer carries
//! `Cache-Control: no-store`.

pub mod body;
pub mod caller;
pub mod error;
pub mod session;

use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use error::MdrError;
use tower_http::set_header::SetResponseHeaderLayer;

/// An MDR action's route: `POST` only, anything else the MDR 405 with `Allow: POST`, and
/// `Cache-Control: no-store` on every answer. Every `/api/v1/{client_id}/…` route goes
/// through this, the auth server's and a mounted resource server's alike.
pub fn action(mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    mr.fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// MDR's 405: every action is `POST`.
pub async fn method_not_allowed() -> Response {
    let mut r = MdrError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

/// True for paths of the MDR surface, whose unknown routes answer in the MDR dialect.
pub fn is_mdr_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// `GET /.well-known/jwks.json`: the public keys that verify MDR access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "mdr",
    responses((status = 200, description = "JSON Web Key Set", content_type = "application/json",
        body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut r = Response::new(Body::from(state.mdr.keys.jwks()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// A JSON success body (`application/json; charset=utf-8`).
pub fn json_ok(value: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}
