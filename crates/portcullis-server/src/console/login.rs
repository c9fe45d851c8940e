//! The console's login and logout (`docs/console.md`, "Signing in").
//!
//! Policy: the same password check (`service::login::check_password`, brute-force limits and
//! audit included) and the same session as `/api/login/`: a console login also logs the
//! browser into the API and the reverse, and a logout from either ends both. Unlike the AWX
//! form, which must word every refusal alike for compatibility, the console says when a locked
//! account or a throttled network may try again: the lock is keyed by the name whether or not
//! the account exists, so saying so tells nothing about which accounts exist. `next` is
//! followed only when it is a same-origin path.

use crate::api::awx::discovery::csrf_cookie_for;
use crate::api::awx::login::{BAD_LOGIN, end_session, logged_out_cookies};
use crate::api::awx::response::{SessionCookies, SessionStart};
use crate::auth::{csrf, session};
use crate::console::form::{CSRF_FIELD, FormData};
use crate::console::page::{Console, ConsoleError, render, see_other, wait_text};
use crate::extract::client_ip::request_origin;
use crate::service::error::ServiceError;
use crate::service::login::{self, PasswordVia, check_password};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use portcullis_core::policy::next_is_allowed;
use secrecy::SecretString;
use serde::Deserialize;

/// Where a login goes without a usable `next`.
const LANDING: &str = "/console/";
/// Longest username the form accepts (as the API's login).
const MAX_USERNAME_CHARS: usize = 150;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    csrf_field: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    /// Single sign-on is configured: the page offers "Sign in with SSO" (`docs/sso.md`).
    sso: bool,
}

/// The login page's query.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    logged_out: Option<String>,
    /// A failed single sign-on login's code (`/sso/error/`).
    sso_error: Option<String>,
}

/// `next` when it is a same-site path or an exact gateway origin (`docs/gateway.md`, "Login
/// redirects"), else the console's landing page.
fn safe_next(state: &AppState, next: Option<&str>) -> String {
    next.filter(|n| next_is_allowed(n, state.gateway.redirect_origins()))
        .unwrap_or(LANDING)
        .to_owned()
}

fn form_page(
    state: &AppState,
    parts: &Parts,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let binding = session::cookie_hash(state, &parts.headers);
    let (token, cookie) = csrf_cookie_for(state, &parts.headers, binding.as_ref());
    let mut resp = render(
        status,
        &LoginPage {
            csrf_token: &token,
            csrf_field: CSRF_FIELD,
            next,
            username,
            error,
            notice,
            sso: state.settings.get().sso.configured(),
        },
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /console/login/`
pub async fn form(State(state): State<AppState>, parts: Parts) -> Response {
    let q: LoginQuery = crate::console::page::query(&parts);
    let next = safe_next(&state, q.next.as_deref());
    // Already signed in (a live session): straight on to the page asked for. A storage
    // failure here is not fatal: the form is shown and the login itself will say so.
    if let Ok(Some(_)) = session::load(&state, &parts.headers).await {
        return see_other(false, &next);
    }
    if let Some(code) = q.sso_error.as_deref() {
        let text = crate::service::sso::failure_text(code);
        return form_page(&state, &parts, StatusCode::OK, &next, "", Some(text), None);
    }
    let notice = if q.expired.is_some() {
        Some("Your session has expired. Please log in again.")
    } else if q.logged_out.is_some() {
        Some("You have been logged out.")
    } else {
        None
    };
    form_page(&state, &parts, StatusCode::OK, &next, "", None, notice)
}

/// `POST /console/login/`
pub async fn submit(State(state): State<AppState>, parts: Parts, form: FormData) -> Response {
    let next = safe_next(&state, form.get("next"));
    if let Err(reason) = csrf::check_login_form(&state, &parts, form.get(CSRF_FIELD)) {
        tracing::info!(event = "csrf_failure", surface = "console", reason = %reason);
        return ConsoleError::Csrf.respond(false);
    }
    let username = form.text("username");
    let password = form.get("password").unwrap_or("");
    let again = |status: StatusCode, error: &str| {
        form_page(&state, &parts, status, &next, &username, Some(error), None)
    };
    if username.is_empty() || password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter both a username and a password.",
        );
    }
    if username.chars().count() > MAX_USERNAME_CHARS {
        return again(StatusCode::UNAUTHORIZED, BAD_LOGIN);
    }
    let origin = request_origin(&state, &parts);
    let secret = SecretString::from(password.to_owned());
    let user = match check_password(
        &state,
        &username,
        &secret,
        PasswordVia::Console,
        origin.client_ip,
    )
    .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return again(StatusCode::UNAUTHORIZED, BAD_LOGIN),
        Err(ServiceError::Locked { retry_after }) => {
            let msg = format!(
                "Too many failed attempts for this account. Try again in {}.",
                wait_text(retry_after)
            );
            return with_retry_after(again(StatusCode::TOO_MANY_REQUESTS, &msg), retry_after);
        }
        Err(ServiceError::Throttled { retry_after }) => {
            let msg = format!(
                "Too many failed attempts from your network. Try again in {}.",
                wait_text(retry_after)
            );
            return with_retry_after(again(StatusCode::TOO_MANY_REQUESTS, &msg), retry_after);
        }
        Err(ServiceError::ValueRefused(_)) => return again(StatusCode::UNAUTHORIZED, BAD_LOGIN),
        Err(e) => return ConsoleError::from(e).respond(false),
    };
    let planted = session::cookie_hash(&state, &parts.headers);
    match login::start_session(&state, planted, &user).await {
        Ok((token, csrf_token)) => {
            let mut resp = see_other(false, &next);
            SessionCookies::new(&state, SessionStart::Login, &token, &csrf_token).apply(&mut resp);
            resp
        }
        Err(e) => ConsoleError::from(e).respond(false),
    }
}

fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `POST /console/logout/` (behind the chain, so its CSRF token is checked): ends the session
/// for the console and the API alike.
pub async fn logout(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    let hash = session::cookie_hash(&state, &parts.headers);
    if let Err(e) = end_session(&state, hash.as_ref()).await {
        return ConsoleError::from(ServiceError::Unavailable(e.to_string())).respond(false);
    }
    let mut resp = c.see_other("/console/login/?logged_out=1");
    logged_out_cookies(&state, &parts.headers, &mut resp);
    resp
}
