//! Rendering the gateway's refusals (`docs/gateway.md`, "Answers"). API callers get 401 with
//! the AWX body (or the MDR body for MDR credentials) and `WWW-Authenticate`, never a
//! `Location`; a browser gets sent to the login page with a relative `next`, on the configured
//! public origin and never on the request's `Host`; an authenticated caller the policy refuses
//! gets 403, never a redirect (a redirect there loops); ambiguous input 400; an internal failure
//! 503. There is no fail-open.

use super::decide::Refusal;
use crate::error::ErrorCause;
use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// How the asking proxy expects a browser to be redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nginx `auth_request` passes only 401 and 403 on (any other status becomes 500), so the
    /// redirect rides on the 401 as `Location` for an `error_page` to follow.
    Nginx,
    /// Traefik, Caddy, Envoy and the built-in proxy pass the answer itself: 302 or 303.
    Redirect,
}

/// Everything but unreserved characters is escaped in `next`.
const NEXT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A browser navigation, not an API call: asks for HTML, sends no `Authorization`, and is not
/// an XHR.
pub fn is_browser(headers: &HeaderMap) -> bool {
    let accepts_html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    let xhr = headers
        .get("x-requested-with")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"XMLHttpRequest"));
    accepts_html && !xhr && !headers.contains_key(header::AUTHORIZATION)
}

/// The login URL for a browser that asked for `path_and_query` (already canonical).
pub fn login_location(state: &AppState, path_and_query: &str) -> String {
    format!(
        "{}{}?next={}",
        state.gateway.public_origin().unwrap_or(""),
        state.config.gateway.login_path,
        utf8_percent_encode(path_and_query, NEXT)
    )
}

fn json(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn detail(status: StatusCode, text: &str) -> Response {
    json(status, serde_json::json!({ "detail": text }).to_string())
}

/// Renders `r`. `browser_target` is the canonical path and query when the caller is a browser
/// that may be sent to the login page.
pub fn render(
    state: &AppState,
    r: &Refusal,
    dialect: Dialect,
    method: &Method,
    browser_target: Option<&str>,
) -> Response {
    match r {
        Refusal::BadRequest(why) => {
            let mut resp = detail(StatusCode::BAD_REQUEST, why);
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        Refusal::NotFound => detail(StatusCode::NOT_FOUND, "Not found."),
        Refusal::MethodNotAllowed(allow) => {
            let mut resp = detail(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method \"{method}\" not allowed."),
            );
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            resp
        }
        Refusal::Unauthenticated {
            mdr,
            presented,
            retry_after,
        } => {
            let mut resp = if *mdr {
                let text = if *presented {
                    "invalid access token"
                } else {
                    "authorization required"
                };
                json(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({ "error": text }).to_string(),
                )
            } else if *presented {
                detail(StatusCode::UNAUTHORIZED, "Invalid token.")
            } else {
                detail(
                    StatusCode::UNAUTHORIZED,
                    "Authentication credentials were not provided.",
                )
            };
            // The MDR dialect keeps the MDR surface's realm, so a proxy that rebuilds the body
            // (nginx keeps only the status and this header) can tell the two apart.
            let challenge = match (*mdr, *presented) {
                (false, false) => "Bearer realm=\"api\"",
                (false, true) => "Bearer realm=\"api\", error=\"invalid_token\"",
                (true, false) => "Bearer realm=\"mdr\"",
                (true, true) => "Bearer realm=\"mdr\", error=\"invalid_token\"",
            };
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            if let Some(s) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*s));
            }
            if let Some(target) = browser_target
                && let Ok(loc) = HeaderValue::from_str(&login_location(state, target))
            {
                if dialect == Dialect::Redirect {
                    *resp.status_mut() = if matches!(*method, Method::GET | Method::HEAD) {
                        StatusCode::FOUND
                    } else {
                        StatusCode::SEE_OTHER
                    };
                    resp.headers_mut().remove(header::WWW_AUTHENTICATE);
                }
                resp.headers_mut().insert(header::LOCATION, loc);
            }
            resp
        }
        Refusal::Forbidden(_) => detail(
            StatusCode::FORBIDDEN,
            "You do not have permission to perform this action.",
        ),
        Refusal::Csrf(why) => detail(StatusCode::FORBIDDEN, why),
        Refusal::Throttled(s) => {
            let mut resp = detail(StatusCode::TOO_MANY_REQUESTS, "Request was throttled.");
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*s));
            resp
        }
        Refusal::Unavailable(cause) => {
            let mut resp = detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable.",
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            resp.extensions_mut().insert(ErrorCause(cause.clone()));
            resp
        }
    }
}
