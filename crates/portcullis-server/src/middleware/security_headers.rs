//! Security headers on every response, each exactly once (`docs/security.md`, "Response headers").

use axum::http::{HeaderMap, HeaderValue, header};

/// CSP for HTML pages (login, CSRF failure, console).
pub const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers to a response's header map (`hsts` when the public URL is https).
pub fn apply(h: &mut HeaderMap, hsts: bool) {
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if hsts {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    if is_html {
        h.insert("content-security-policy", HeaderValue::from_static(CSP));
        h.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
    }
}
