//! Response helpers of the AWX form views (login, logout, the OAuth2 consent pages) and the
//! session-cookie block shared by a login and a password change.

use crate::auth::chain::SessionCookieHandled;
use crate::auth::cookies;
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::token::PlainToken;

#[derive(Template)]
#[template(path = "csrf_failure.html")]
struct CsrfFailurePage<'a> {
    reason: &'a str,
}

/// Sets header `name` (a value that is not a valid header value is left out).
pub(crate) fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Appends a `Set-Cookie` line.
pub(crate) fn add_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Never-cache headers of the login and logout views.
pub(crate) fn never_cache(state: &AppState, resp: &mut Response) {
    set(
        resp,
        "cache-control",
        "max-age=0, no-cache, no-store, must-revalidate, private",
    );
    set(resp, "expires", &cookies::imf_fixdate(state.clock.now()));
}

/// An HTML page with `status`.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    set(&mut resp, "content-type", "text/html; charset=utf-8");
    resp
}

/// The CSRF failure page of form views.
pub(crate) fn csrf_failure(state: &AppState, reason: &str) -> Response {
    tracing::info!(event = "csrf_failure", reason = %reason);
    let body = CsrfFailurePage { reason }.render().unwrap_or_default();
    let mut resp = html(StatusCode::FORBIDDEN, body);
    never_cache(state, &mut resp);
    resp
}

/// True when the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The pairs of a form body; an unparsable body is an empty form.
pub(crate) fn parse_form(bytes: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// Why a response carries a new session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStart {
    /// `POST /api/login/`: also the `userLoggedIn` cookie and the session cookie's name.
    Login,
    /// A password change re-keyed the caller's own session.
    Rekeyed,
}

/// The session-cookie block of a response that hands the browser a new session id: the
/// session cookie, a CSRF token bound to it, `Session-Timeout`, and the marker that tells
/// the sliding-renewal layer the cookie is already handled. Written once for the login and
/// the password change; each keeps the order of its lines.
pub(crate) struct SessionCookies {
    start: SessionStart,
    name: String,
    session: String,
    csrf: String,
    logged_in: String,
    age: i64,
}

impl SessionCookies {
    /// The block for session id `token` and its CSRF token `csrf_token`.
    pub(crate) fn new(
        state: &AppState,
        start: SessionStart,
        token: &PlainToken,
        csrf_token: &str,
    ) -> Self {
        let secure = state.config.secure_cookies();
        let age = state.settings.get().auth.session_cookie_age;
        let name = state.config.session.cookie_name.clone();
        Self {
            start,
            session: cookies::session(&name, token.expose(), age, state.clock.now(), secure),
            csrf: cookies::csrf(csrf_token, secure),
            logged_in: cookies::logged_in(true, secure),
            name,
            age,
        }
    }

    /// Adds the block to `resp`.
    pub(crate) fn apply(self, resp: &mut Response) {
        match self.start {
            SessionStart::Login => {
                set(resp, "x-api-session-cookie-name", &self.name);
                set(resp, "session-timeout", &self.age.to_string());
                add_cookie(resp, &self.logged_in);
                add_cookie(resp, &self.csrf);
                add_cookie(resp, &self.session);
            }
            SessionStart::Rekeyed => {
                add_cookie(resp, &self.session);
                add_cookie(resp, &self.csrf);
                set(resp, "session-timeout", &self.age.to_string());
            }
        }
        resp.extensions_mut().insert(SessionCookieHandled);
    }
}
