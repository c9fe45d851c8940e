//! Security headers on every response, each exactly once (security.md §15).

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, header};
use axum::middleware::Next;

/// CSP for HTML pages (login, CSRF failure, console).
pub const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers.
pub async fn layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response<axum::body::Body> {
    let mut resp = next.run(req).await;
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = resp.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if state.config.secure_cookies() {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    if is_html {
        h.insert("content-security-policy", HeaderValue::from_static(CSP));
        h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    }
    resp
}
