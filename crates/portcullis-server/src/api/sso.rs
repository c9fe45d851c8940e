//! `/sso/…`: single sign-on through an OpenID Connect provider, at AWX's URLs (`docs/sso.md`).
//! Thin over `service::sso`: these handlers read the request, set cookies and redirect.
//!
//! Every answer carries `Cache-Control: no-store`. A login failure sends the browser to
//! `/sso/error/` (or `/sso/inactive/`) with a short code, which the console's login page
//! turns into a sentence from a fixed list; a storage failure is AWX's 503.

use crate::api::awx::response::{SessionCookies, SessionStart};
use crate::auth::{cookies, session};
use crate::error::ApiError;
use crate::extract::body::{self, BodyError};
use crate::extract::client_ip::request_origin;
use crate::service::sso::login::{self, Callback};
use crate::service::sso::{SsoFailure, logout};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::sso::flow::FLOW_LIFETIME;
use serde::Deserialize;
use serde_json::json;

/// The cookie that binds a callback to the browser that began the login.
pub const FLOW_COOKIE: &str = "portcullis_sso";
/// Where the console sends a signed-in browser.
const CONSOLE: &str = "/console/";

fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    no_store(&mut resp);
    resp
}

fn add_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn flow_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{FLOW_COOKIE}={value}; HttpOnly; Max-Age={max_age}; Path=/sso/; SameSite=Lax{secure}")
}

/// The answer to a failed login: 503 for storage, else a redirect with the failure's code.
fn failed(state: &AppState, f: SsoFailure) -> Response {
    let mut resp = match f {
        SsoFailure::Storage(e) => ApiError::from(e).into_response(),
        SsoFailure::Inactive => redirect(StatusCode::FOUND, "/sso/inactive/"),
        other => redirect(
            StatusCode::FOUND,
            &format!("/sso/error/?reason={}", other.code()),
        ),
    };
    add_cookie(&mut resp, &flow_cookie(state, "", 0));
    no_store(&mut resp);
    resp
}

/// `/sso/login/oidc/`'s query.
#[derive(Debug, Default, Deserialize)]
struct BeginQuery {
    next: Option<String>,
}

fn query<T: Default + for<'de> Deserialize<'de>>(parts: &Parts) -> T {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default()
}

/// `GET /sso/login/oidc/`
#[utoipa::path(get, path = "/sso/login/oidc/", tag = "sso",
    params(("next" = Option<String>, Query, description = "Same-origin path to land on after the login")),
    responses((status = 302, description = "To the provider's authorization endpoint; or to /sso/error/ when single sign-on is not configured or the provider cannot be reached"),
              (status = 400, description = "Malformed request (a NUL character in the query)"),
              (status = 429, description = "Too many logins begun from this network in the last minute"),
              (status = 503, description = "Storage unavailable")))]
pub async fn begin(State(state): State<AppState>, parts: Parts) -> Response {
    let q: BeginQuery = query(&parts);
    let origin = request_origin(&state, &parts);
    match login::begin(
        &state,
        q.next.as_deref(),
        &origin.public_origin,
        origin.client_ip,
    )
    .await
    {
        Ok(b) => {
            let mut resp = redirect(StatusCode::FOUND, &b.location);
            add_cookie(
                &mut resp,
                &flow_cookie(&state, &b.browser, FLOW_LIFETIME.whole_seconds()),
            );
            resp
        }
        Err(f) => failed(&state, f),
    }
}

/// `GET /sso/complete/oidc/`: the `redirect_uri` to register at the provider.
#[utoipa::path(get, path = "/sso/complete/oidc/", tag = "sso",
    params(("code" = Option<String>, Query, description = "Authorization code"),
           ("state" = Option<String>, Query, description = "The state sent by /sso/login/oidc/"),
           ("iss" = Option<String>, Query, description = "RFC 9207 issuer"),
           ("error" = Option<String>, Query, description = "The provider's refusal")),
    responses((status = 302, description = "Signed in (session cookies set) to the login's `next`; or to /sso/error/ or /sso/inactive/"),
              (status = 400, description = "Malformed request (a NUL character in the query)"),
              (status = 503, description = "Storage unavailable")))]
pub async fn complete(State(state): State<AppState>, parts: Parts) -> Response {
    let callback: Callback = query(&parts);
    let origin = request_origin(&state, &parts);
    let browser = cookies::single(&parts.headers, FLOW_COOKIE);
    let planted = session::cookie_hash(&state, &parts.headers);
    match login::complete(&state, &callback, browser, planted, origin.client_ip).await {
        Ok(done) => {
            let mut resp = redirect(StatusCode::FOUND, &done.next);
            SessionCookies::new(&state, SessionStart::Login, &done.session, &done.csrf_token)
                .apply(&mut resp);
            add_cookie(&mut resp, &flow_cookie(&state, "", 0));
            resp
        }
        Err(f) => failed(&state, f),
    }
}

/// `GET /sso/complete/`: AWX's landing after a login; on to the console.
#[utoipa::path(get, path = "/sso/complete/", tag = "sso",
    responses((status = 301, description = "To the console; `userLoggedIn=true` and `X-API-Session-Cookie-Name` when signed in")))]
pub async fn landing(State(state): State<AppState>, parts: Parts) -> Response {
    let mut resp = redirect(StatusCode::MOVED_PERMANENTLY, CONSOLE);
    if let Ok(Some(_)) = session::load(&state, &parts.headers).await {
        add_cookie(
            &mut resp,
            &cookies::logged_in(true, state.config.secure_cookies()),
        );
        if let Ok(v) = HeaderValue::from_str(&state.config.session.cookie_name) {
            resp.headers_mut().insert("x-api-session-cookie-name", v);
        }
    }
    resp
}

/// `/sso/error/`'s query.
#[derive(Debug, Default, Deserialize)]
struct ErrorQuery {
    reason: Option<String>,
}

/// `GET /sso/error/`: to the console's login page, which names the failure.
#[utoipa::path(get, path = "/sso/error/", tag = "sso",
    params(("reason" = Option<String>, Query, description = "Failure code")),
    responses((status = 302, description = "To /console/login/ with the failure code"),
              (status = 400, description = "Malformed request (a NUL character in the query)")))]
pub async fn error(parts: Parts) -> Response {
    let q: ErrorQuery = query(&parts);
    let code: String = q
        .reason
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .take(32)
        .collect();
    let code = if code.is_empty() {
        "failed".into()
    } else {
        code
    };
    redirect(
        StatusCode::FOUND,
        &format!("/console/login/?sso_error={code}"),
    )
}

/// `GET /sso/inactive/`
#[utoipa::path(get, path = "/sso/inactive/", tag = "sso",
    responses((status = 302, description = "To /console/login/, which says the account is inactive")))]
pub async fn inactive() -> Response {
    redirect(StatusCode::FOUND, "/console/login/?sso_error=inactive")
}

fn logout_refused(error: &str) -> Response {
    let mut resp = (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": "The logout token was refused."})),
    )
        .into_response();
    no_store(&mut resp);
    resp
}

/// `POST /sso/backchannel-logout/oidc/`: the provider's back-channel logout (OpenID
/// Back-Channel Logout 1.0): `logout_token` in a form body.
#[utoipa::path(post, path = "/sso/backchannel-logout/oidc/", tag = "sso",
    request_body(content_type = "application/x-www-form-urlencoded", description = "logout_token=<JWT>"),
    responses((status = 200, description = "The sessions the token names ended (none, if none were open)"),
              (status = 400, description = "The token was refused; nothing changed"),
              (status = 413, description = "Body too large"),
              (status = 503, description = "Storage unavailable")))]
pub async fn backchannel_logout(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body): (Parts, Body) = req.into_parts();
    if !crate::api::awx::response::is_form(&parts.headers) {
        return logout_refused("invalid_request");
    }
    let bytes = match body::read(body, state.config.limits.auth_body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        Err(BodyError::Unreadable) => return logout_refused("invalid_request"),
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let tokens: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.as_str())
        .collect();
    let [token] = tokens.as_slice() else {
        return logout_refused("invalid_request");
    };
    match logout::backchannel(&state, token).await {
        Ok(_) => {
            let mut resp = StatusCode::OK.into_response();
            no_store(&mut resp);
            resp
        }
        Err(SsoFailure::Storage(e)) => ApiError::from(e).into_response(),
        Err(SsoFailure::Provider(_) | SsoFailure::Misconfigured(_)) => {
            let mut resp = StatusCode::SERVICE_UNAVAILABLE.into_response();
            no_store(&mut resp);
            resp
        }
        Err(f) => {
            tracing::info!(event = "sso_logout_refused", reason = f.code(), error = %f);
            logout_refused("invalid_request")
        }
    }
}
