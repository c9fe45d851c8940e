//! Request id (`X-API-Request-Id`, AWX's name), timing headers and the AWX API-view headers,
//! plus one access-log record per request (path without query string: tokens never reach
//! the log through it).

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response};
use axum::middleware::Next;
use portcullis_core::rng::bytes;
use std::time::Instant;

/// Paths that are form or OAuth views, not API views (no `X-API-Node`/`-Product-*`).
fn is_api_view(path: &str) -> bool {
    path.starts_with("/api/")
        && !matches!(
            path,
            "/api/login/" | "/api/logout/" | "/api/o/token/" | "/api/o/revoke_token/" | "/api/o/authorize/"
        )
}

/// The id of the current request, for logs and error reports.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Assigns the request id, times the request and sets AWX's headers.
pub async fn layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response<axum::body::Body> {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-api-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .unwrap_or_else(|| uuid::Builder::from_random_bytes(bytes(state.rng.as_ref())).into_uuid())
        .simple()
        .to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    let elapsed = format!("{:.3}s", started.elapsed().as_secs_f64());
    let h = resp.headers_mut();
    let put = |h: &mut axum::http::HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    put(h, "x-api-request-id", &id);
    put(h, "access-control-expose-headers", "X-API-Request-Id");
    put(h, "x-api-total-time", &elapsed);
    put(h, "content-language", "en");
    if is_api_view(&path) {
        put(h, "x-api-time", &elapsed);
        put(h, "x-api-node", &state.node);
        put(h, "x-api-product-name", &state.config.api.product_name);
        if !h.contains_key("vary") {
            put(h, "vary", "Accept");
        }
    }
    let status = resp.status().as_u16();
    tracing::debug!(request_id = %id, %method, path = %path.escape_debug(), status, elapsed = %elapsed, "request");
    if let Some(cause) = resp.extensions().get::<crate::error::ErrorCause>() {
        tracing::warn!(request_id = %id, %method, path = %path.escape_debug(), status, cause = %cause.0, "request failed");
    }
    resp
}
