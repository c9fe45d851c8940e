//! The outermost middleware, one layer for speed: input limits (`docs/security.md`, "Input
//! handling": sizes, NUL in the path or query, the body read timeout), the request id
//! (`X-API-Request-Id`, AWX's name), timing headers, AWX's API-view headers, the security headers,
//! and one access-log record per request (path without query string: tokens never reach the log
//! through it).

use crate::middleware::{limits, security_headers};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response};
use axum::middleware::Next;
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Request ids: unique per process, not secret. A random base drawn at start plus a
/// counter spread by an odd multiplier, so ids look random without a syscall per request.
#[derive(Debug)]
pub struct RequestIds {
    base: u128,
    counter: AtomicU64,
}

impl RequestIds {
    /// A generator with a random base.
    pub fn new(base: [u8; 16]) -> Self {
        Self {
            base: u128::from_be_bytes(base),
            counter: AtomicU64::new(0),
        }
    }

    /// The next id (UUID4, 32 lowercase hex).
    pub fn next(&self) -> String {
        let n = u128::from(self.counter.fetch_add(1, Ordering::Relaxed));
        let v = self
            .base
            .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
        uuid::Builder::from_random_bytes(v.to_be_bytes())
            .into_uuid()
            .simple()
            .to_string()
    }
}

/// Paths that are form or OAuth views, not API views (no `X-API-Node`/`-Product-*`).
fn is_api_view(path: &str) -> bool {
    // The forward-auth answer is read by a proxy, not a client: it carries only what the
    // proxy copies (`docs/gateway.md`, "Forward-auth"), which keeps it far under 2 KiB.
    path.starts_with("/api/")
        && !path.starts_with(crate::gateway::forward_auth::PATH)
        && !matches!(
            path,
            "/api/login/"
                | "/api/logout/"
                | "/api/o/token/"
                | "/api/o/revoke_token/"
                | "/api/o/authorize/"
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
    let surface = limits::Surface::of(req.uri().path());
    let early = match limits::check(&state.config.limits, &req) {
        Err(refusal) => Some(refusal.into_response()),
        Ok(()) => limits::refuse_nul(surface, &req),
    };
    let body_deadline = if early.is_none() {
        limits::arm_body_deadline(
            &mut req,
            Duration::from_secs(state.config.limits.body_read_timeout_seconds),
        )
    } else {
        None
    };
    let id = req
        .headers()
        .get("x-api-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .map_or_else(|| state.request_ids.next(), |u| u.simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // Every audit event of this request names its id and source (service/audit.rs).
    let audit = crate::service::audit::RequestContext {
        request_id: id.clone(),
        source: crate::extract::client_ip::client_ip(&state, req.headers(), req.extensions()),
    };
    let mut resp = match early {
        Some(refusal) => refusal,
        None => crate::service::audit::in_request(audit, next.run(req)).await,
    };
    if body_deadline.is_some_and(|fired| fired.load(Ordering::Relaxed)) {
        // Whatever the reader made of the broken-off body, the answer is the 408.
        resp = limits::body_timeout(surface);
    }
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
    security_headers::apply(h, state.config.hsts());
    let status = resp.status().as_u16();
    crate::metrics::request(
        surface.label(),
        resp.extensions().get::<crate::metrics::RouteLabel>(),
        status,
        started.elapsed(),
    );
    tracing::debug!(request_id = %id, %method, path = %path.escape_debug(), status, elapsed = %elapsed, "request");
    if let Some(cause) = resp.extensions().get::<crate::error::ErrorCause>() {
        tracing::warn!(request_id = %id, %method, path = %path.escape_debug(), status, cause = %cause.0, "request failed");
    }
    resp
}
