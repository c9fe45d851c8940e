//! Console form bodies: the CSRF token of a form post handed to the authenticator chain, and
//! the [`FormData`] extractor the handlers read fields from (`docs/console.md`, "Forms").
//!
//! Policy: the chain checks CSRF on every unsafe request that carries the session, from the
//! `X-CSRFToken` header. htmx sends that header on every request (`hx-headers` on `<body>`); a
//! plain form post carries the token as the `csrfmiddlewaretoken` field instead, so this layer
//! reads a form body (under the body limit) and presents the field as the header before the
//! chain runs. A form post with neither is refused by the chain like any other.

use crate::console::page::{ConsoleError, is_htmx};
use crate::extract::body::{self, BodyError};
use crate::extract::nul;
use crate::service::error::ServiceError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The form field that carries the CSRF token (Django's name, as the AWX login form uses).
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    crate::api::awx::response::is_form(headers)
}

fn too_large(htmx: bool) -> Response {
    let mut r = ConsoleError::from(ServiceError::field(
        "form",
        "The form is too large to be accepted.",
    ))
    .respond(htmx);
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r
}

fn unreadable(htmx: bool) -> Response {
    let mut r = ConsoleError::from(ServiceError::field("form", "The form could not be read."))
        .respond(htmx);
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// Middleware: presents a form post's `csrfmiddlewaretoken` as `X-CSRFToken`.
pub async fn promote_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !unsafe_method || req.headers().contains_key("x-csrftoken") || !is_form(req.headers()) {
        return next.run(req).await;
    }
    let htmx = is_htmx(req.headers());
    let (mut parts, body) = req.into_parts();
    let bytes = match body::read(body, state.config.limits.json_body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(htmx),
        Err(BodyError::Unreadable) => return unreadable(htmx),
    };
    let pairs = crate::api::awx::response::parse_form(&bytes);
    if let Some(v) = pairs
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .and_then(|(_, v)| HeaderValue::from_str(v).ok())
    {
        parts.headers.insert("x-csrftoken", v);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A console form body: its fields in order. Refuses a body that is not a form (415), too
/// large (413) or that holds a NUL character (400), each as a console message.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }

    /// A checkbox: present and not "off"/"false".
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !matches!(v, "" | "off" | "false" | "0"))
    }

    /// Every value of `name` (multi-selects).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let htmx = is_htmx(req.headers());
        if !is_form(req.headers()) {
            let mut r = ConsoleError::from(ServiceError::field(
                "form",
                "The console accepts form posts only.",
            ))
            .respond(htmx);
            *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Err(r);
        }
        let bytes: Bytes = match body::read(req.into_body(), state.config.limits.json_body).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => return Err(too_large(htmx)),
            Err(BodyError::Unreadable) => return Err(unreadable(htmx)),
        };
        let pairs = crate::api::awx::response::parse_form(&bytes);
        if nul::in_pairs(&pairs) {
            let mut r = ConsoleError::from(ServiceError::field(
                "form",
                "A field holds a NUL character, which cannot be stored.",
            ))
            .respond(htmx);
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Err(r);
        }
        Ok(Self(pairs))
    }
}
