//! Session login and logout (`docs/awx-compat.md`, "Session login"): the AWX CSRF form at
//! `/api/login/`, the `awx_sessionid` cookie, `/api/logout/` and `/accounts/profile/`.
//!
//! Policy: login CSRF is enforced (Origin, Referer on HTTPS, double-submit token); every
//! login issues a new session id and deletes any id the request carried (no fixation);
//! failures all look alike (401 form, dummy-hash timing); `next` is followed only when it is
//! a same-site relative path; a NUL character in a field is bad input (400, the form again).

use crate::api::awx::discovery::csrf_cookie_for;
use crate::api::awx::response::{
    SessionCookies, SessionStart, add_cookie, csrf_failure, html, is_form, never_cache, parse_form,
    set,
};
use crate::auth::chain::SessionCookieHandled;
use crate::auth::{cookies, csrf, session};
use crate::error::{ApiError, NUL_REFUSED};
use crate::extract::body::{self, BodyError};
use crate::extract::client_ip::request_origin;
use crate::extract::nul;
use crate::service::error::ServiceError;
use crate::service::login::{self, PasswordVia, check_password};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::policy::next_is_safe;
use portcullis_core::token::TokenHash;
use secrecy::SecretString;

/// Where a successful login goes without a safe `next`.
const DEFAULT_LANDING: &str = "/accounts/profile/";
/// AWX's failed-login text.
pub const BAD_LOGIN: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";
/// Longest username a login form may carry.
const MAX_USERNAME_CHARS: usize = 150;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let binding = session::cookie_hash(state, headers);
    let (token, cookie) = csrf_cookie_for(state, headers, binding.as_ref());
    let page = LoginPage {
        csrf_token: &token,
        next,
        username,
        error,
    };
    let mut resp = match page.render() {
        Ok(body) => html(status, body),
        Err(e) => return ApiError::Internal(format!("login template: {e}")).into_response(),
    };
    add_cookie(&mut resp, &cookie);
    never_cache(state, &mut resp);
    resp
}

/// True when the client accepts HTML (`*/*`, `text/*`, `text/html`, or no `Accept`).
fn accepts_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim();
        matches!(media, "*/*" | "text/*" | "text/html" | "")
    })
}

/// `GET /api/login/`
#[utoipa::path(get, path = "/api/login/", tag = "session",
    responses((status = 200, description = "HTML login form; sets csrftoken", content_type = "text/html"),
              (status = 406, description = "JSON-only Accept")))]
pub async fn login_form(State(state): State<AppState>, parts: Parts) -> Response {
    if !accepts_html(&parts.headers) {
        let mut resp = (StatusCode::NOT_ACCEPTABLE, "").into_response();
        set(&mut resp, "content-type", "text/plain");
        return resp;
    }
    let next = query_next(&parts).unwrap_or_else(|| "/api/".into());
    render_form(&state, &parts.headers, StatusCode::OK, &next, "", None)
}

fn query_next(parts: &Parts) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).ok()?;
    pairs.into_iter().find(|(k, _)| k == "next").map(|(_, v)| v)
}

/// `POST /api/login/`
#[utoipa::path(post, path = "/api/login/", tag = "session",
    request_body(content_type = "application/x-www-form-urlencoded", description = "username, password, next, csrfmiddlewaretoken"),
    responses((status = 302, description = "Logged in; awx_sessionid set"),
              (status = 401, description = "Bad credentials: the form again", content_type = "text/html"),
              (status = 403, description = "CSRF failure", content_type = "text/html"),
              (status = 415, description = "Not a form body")))]
pub async fn login(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if !is_form(&parts.headers) {
        // CSRF is checked first (`docs/awx-compat.md`, "Login form"), as Django's middleware does
        // before the view runs: a cross-site post of another type gets the CSRF page, not a 415.
        // Only the header can carry the token here, since the body is not a form.
        if let Err(reason) = csrf::check_login_form(&state, &parts, None) {
            return csrf_failure(&state, &reason);
        }
        let mut resp = (StatusCode::UNSUPPORTED_MEDIA_TYPE, "").into_response();
        never_cache(&state, &mut resp);
        return resp;
    }
    let bytes = match body::read(body, state.config.limits.auth_body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return ApiError::PayloadTooLarge.into_response(),
        Err(BodyError::Unreadable) => {
            return ApiError::BadRequest("Could not read the request body.".into()).into_response();
        }
    };
    let form = parse_form(&bytes);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Err(reason) = csrf::check_login_form(&state, &parts, field("csrfmiddlewaretoken")) {
        return csrf_failure(&state, &reason);
    }
    if nul::in_pairs(&form) {
        // The form's own validation, as Django's forms refuse NUL: the form again with the
        // reason, as a 400 (bad input, not a failed login: nothing was checked or counted).
        let strip = |v: Option<&str>| v.unwrap_or("").replace('\0', "");
        return render_form(
            &state,
            &parts.headers,
            StatusCode::BAD_REQUEST,
            &strip(field("next")),
            &strip(field("username")),
            Some(NUL_REFUSED),
        );
    }
    let next = field("next").unwrap_or("").to_owned();
    let username = field("username").unwrap_or("").to_owned();
    let password = field("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return render_form(
            &state,
            &parts.headers,
            StatusCode::UNAUTHORIZED,
            &next,
            &username,
            Some("This field is required."),
        );
    }
    let origin = request_origin(&state, &parts);
    let secret = SecretString::from(password.to_owned());
    let checked = if username.chars().count() > MAX_USERNAME_CHARS {
        // Still spend a hash so timing says nothing about why it failed.
        crate::service::audit::Event::new("login_failure", crate::service::audit::Outcome::Failure)
            .via("form")
            .reason("username_too_long")
            .emit();
        state.passwords.verify(None, secret).await.map(|_| None)
    } else {
        check_password(
            &state,
            &username,
            &secret,
            PasswordVia::Form,
            origin.client_ip,
        )
        .await
    };
    let user = match checked {
        Ok(Some(u)) => u,
        Ok(None) => {
            return render_form(
                &state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                &next,
                &username,
                Some(BAD_LOGIN),
            );
        }
        Err(ServiceError::Locked { retry_after: secs }) => {
            let mut resp = render_form(
                &state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                &next,
                &username,
                Some(BAD_LOGIN),
            );
            set(&mut resp, "retry-after", &secs.to_string());
            return resp;
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let planted = session::cookie_hash(&state, &parts.headers);
    match login::start_session(&state, planted, &user).await {
        Ok((token, csrf_token)) => {
            let location = if next_is_safe(&next) {
                next.as_str()
            } else {
                DEFAULT_LANDING
            };
            let mut resp = (StatusCode::FOUND, "").into_response();
            set(&mut resp, "content-type", "text/html; charset=utf-8");
            set(&mut resp, "location", location);
            SessionCookies::new(&state, SessionStart::Login, &token, &csrf_token).apply(&mut resp);
            never_cache(&state, &mut resp);
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET`/`POST /api/logout/` (POST needs CSRF; GET works as in AWX).
#[utoipa::path(method(get, post), path = "/api/logout/", tag = "session",
    responses((status = 302, description = "Logged out; cookies cleared"),
              (status = 403, description = "POST without a valid CSRF token", content_type = "text/html")))]
pub async fn logout(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let hash = session::cookie_hash(&state, &parts.headers);
    if parts.method == axum::http::Method::POST {
        // Only the CSRF token is read from it; an unreadable body counts as an empty form.
        let bytes = body::read(body, state.config.limits.auth_body)
            .await
            .unwrap_or_default();
        let form = if is_form(&parts.headers) {
            parse_form(&bytes)
        } else {
            Vec::new()
        };
        let token = form
            .iter()
            .find(|(k, _)| k == "csrfmiddlewaretoken")
            .map(|(_, v)| v.as_str());
        let origin = request_origin(&state, &parts);
        if let Err(reason) = csrf::check(&state, &parts.headers, &origin, hash.as_ref(), token) {
            return csrf_failure(&state, &reason);
        }
    }
    if let Err(e) = end_session(&state, hash.as_ref()).await {
        // The session must not survive a logout we acknowledged: fail closed.
        return e.into_response();
    }
    let next = query_next(&parts).filter(|n| next_is_safe(n));
    let mut resp = (StatusCode::FOUND, "").into_response();
    set(&mut resp, "content-type", "text/html; charset=utf-8");
    set(&mut resp, "location", next.as_deref().unwrap_or("/api/"));
    logged_out_cookies(&state, &parts.headers, &mut resp);
    never_cache(&state, &mut resp);
    resp
}

/// Ends the session `hash` names, durably, before any answer says it ended: the one logout
/// of the API and the console (a session shared by both ends for both).
pub(crate) async fn end_session(
    state: &AppState,
    hash: Option<&TokenHash>,
) -> Result<(), ApiError> {
    if let Some(h) = hash {
        state.store.delete_session(h).await?;
        state.caches.sessions.forget(h);
        state.renewals.forget(h);
        tracing::info!(event = "logout");
    }
    Ok(())
}

/// The cookies of a logged-out browser: the session cookie deleted (when it sent one),
/// `userLoggedIn=false` and a fresh unbound CSRF token; marks the session cookie handled.
pub(crate) fn logged_out_cookies(state: &AppState, headers: &HeaderMap, resp: &mut Response) {
    let secure = state.config.secure_cookies();
    if !cookies::values(headers, &state.config.session.cookie_name).is_empty() {
        add_cookie(
            resp,
            &cookies::session_deleted(&state.config.session.cookie_name),
        );
    }
    add_cookie(resp, &cookies::logged_in(false, secure));
    let fresh = state.csrf.mint(state.rng.as_ref(), None);
    add_cookie(resp, &cookies::csrf(&fresh, secure));
    resp.extensions_mut().insert(SessionCookieHandled);
}

/// `GET /accounts/profile/`: Django's default landing page; AWX clients follow it to the API.
#[utoipa::path(get, path = "/accounts/profile/", tag = "session",
    responses((status = 302, description = "Redirect to /api/")))]
pub async fn profile() -> Response {
    let mut resp = (StatusCode::FOUND, "").into_response();
    set(&mut resp, "location", "/api/");
    resp
}
