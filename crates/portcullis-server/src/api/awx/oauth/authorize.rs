//! `/api/o/authorize/`: the login redirect, the consent page and the consent decision of the
//! authorization-code flow (the code itself is issued by `service::oauth`).

use crate::api::awx::response::{csrf_failure, html, is_form, never_cache, parse_form};
use crate::auth::{csrf, session};
use crate::error::ApiError;
use crate::extract::body::{self, BodyError};
use crate::extract::client_ip::request_origin;
use crate::extract::nul;
use crate::service::oauth::{self as grants, CodeRequest};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::scope::Scope;
use portcullis_core::user::User;

/// The consent page.
#[derive(Template)]
#[template(path = "authorize.html")]
struct ConsentPage<'a> {
    application: &'a str,
    username: &'a str,
    scope: &'a str,
    csrf_token: &'a str,
    params: Vec<(&'static str, String)>,
}

/// The error page of the authorization endpoint (no redirect to an unverified URI).
#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

fn error_page(state: &AppState, message: &str) -> Response {
    let mut resp = html(
        StatusCode::BAD_REQUEST,
        ErrorPage { message }.render().unwrap_or_default(),
    );
    never_cache(state, &mut resp);
    resp
}

/// A validated authorization request: the code request and the client's `state`.
struct AuthzRequest {
    code: CodeRequest,
    state_param: Option<String>,
}

/// Validates the authorization request parameters. `Err(page)` is shown to the user without
/// redirecting anywhere, as RFC 6749 §4.1.2.1 requires for a bad client or redirect URI.
async fn authz_request(
    state: &AppState,
    params: &[(String, String)],
) -> Result<AuthzRequest, Response> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let bad = |m: &str| error_page(state, m);
    if get("response_type").as_deref() != Some("code") {
        return Err(bad(
            "Unsupported response type: only response_type=code is offered.",
        ));
    }
    let Some(client_id) = get("client_id") else {
        return Err(bad("Missing client_id."));
    };
    let app = match state.store.application_by_client_id(&client_id).await {
        Ok(Some(a)) if a.authorization_grant_type == "authorization-code" => a,
        Ok(_) => return Err(bad("Unknown client.")),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let registered: Vec<&str> = app.redirect_uris.split_whitespace().collect();
    let redirect_uri = match get("redirect_uri") {
        Some(r) if registered.contains(&r.as_str()) => r,
        None if registered.len() == 1 => registered
            .first()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
        _ => return Err(bad("Mismatching redirect URI.")),
    };
    let scope = get("scope").unwrap_or_else(|| "read write".into());
    if Scope::parse(&scope).is_none() {
        return Err(bad("Invalid scope."));
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), m) => {
            let m = m.unwrap_or_else(|| "plain".into());
            if !matches!(m.as_str(), "S256" | "plain") {
                return Err(bad("Unsupported code_challenge_method."));
            }
            Some((c, m))
        }
        (None, _) => None,
    };
    // Public clients cannot keep a secret: they must bind the code with PKCE S256.
    if app.secret_hash.is_none() && !matches!(&challenge, Some((_, m)) if m == "S256") {
        return Err(bad(
            "Public clients must use PKCE with code_challenge_method=S256.",
        ));
    }
    Ok(AuthzRequest {
        code: CodeRequest {
            app,
            redirect_uri,
            scope,
            challenge,
        },
        state_param: get("state"),
    })
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn with_params(uri: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!(
        "{uri}{sep}{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// Issues a code and redirects back to the client.
async fn approve(state: &AppState, user: &User, req: &AuthzRequest) -> Response {
    let code = match grants::issue_code(state, user, &req.code).await {
        Ok(c) => c,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state_param {
        pairs.push(("state", s.as_str()));
    }
    redirect(&with_params(&req.code.redirect_uri, &pairs))
}

/// `GET /api/o/authorize/`: login redirect, consent page, or (skip_authorization) a code.
#[utoipa::path(get, path = "/api/o/authorize/", tag = "oauth2",
    params(("response_type" = String, Query, description = "`code`"), ("client_id" = String, Query, description = "Client id"),
           ("redirect_uri" = Option<String>, Query, description = "A registered redirect URI"), ("scope" = Option<String>, Query, description = "read/write"),
           ("state" = Option<String>, Query, description = "Echoed"), ("code_challenge" = Option<String>, Query, description = "PKCE"),
           ("code_challenge_method" = Option<String>, Query, description = "S256 or plain")),
    responses((status = 200, description = "Consent page", content_type = "text/html"), (status = 302, description = "To login, or back to the client"),
              (status = 400, description = "Unknown client or redirect URI (an HTML page), or a NUL character in the query (JSON)")))]
pub async fn authorize_form(State(state): State<AppState>, parts: Parts) -> Response {
    let live = match session::load(&state, &parts.headers).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let Some(live) = live else {
        let target = parts
            .uri
            .path_and_query()
            .map_or("/api/o/authorize/", |pq| pq.as_str());
        let next: String =
            percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        return redirect(&format!("/api/login/?next={next}"));
    };
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let req = match authz_request(&state, &params).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if req.code.app.skip_authorization {
        return approve(&state, &live.user, &req).await;
    }
    let csrf_token = state.csrf.mint(state.rng.as_ref(), Some(&live.hash));
    let mut hidden: Vec<(&'static str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", req.code.app.client_id.clone()),
        ("redirect_uri", req.code.redirect_uri.clone()),
        ("scope", req.code.scope.clone()),
    ];
    if let Some(s) = &req.state_param {
        hidden.push(("state", s.clone()));
    }
    if let Some((c, m)) = &req.code.challenge {
        hidden.push(("code_challenge", c.clone()));
        hidden.push(("code_challenge_method", m.clone()));
    }
    let page = ConsentPage {
        application: &req.code.app.name,
        username: &live.user.username,
        scope: &req.code.scope,
        csrf_token: &csrf_token,
        params: hidden,
    };
    let mut resp = html(StatusCode::OK, page.render().unwrap_or_default());
    let cookie = crate::auth::cookies::csrf(&csrf_token, state.config.secure_cookies());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    never_cache(&state, &mut resp);
    resp
}

/// `POST /api/o/authorize/`: the consent decision (session + CSRF).
#[utoipa::path(post, path = "/api/o/authorize/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The consent form: allow, csrfmiddlewaretoken and the request parameters"),
    responses((status = 302, description = "Back to the client with code or error=access_denied"),
              (status = 403, description = "CSRF failure", content_type = "text/html")))]
pub async fn authorize_decision(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let live = match session::load(&state, &parts.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return redirect("/api/login/?next=%2Fapi%2Fo%2Fauthorize%2F"),
        Err(e) => return e.into_response(),
    };
    if !is_form(&parts.headers) {
        return error_page(&state, "The consent form must be form-encoded.");
    }
    let bytes = match body::read(body, state.config.limits.auth_body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return ApiError::PayloadTooLarge.into_response(),
        Err(BodyError::Unreadable) => {
            return error_page(&state, "The consent form could not be read.");
        }
    };
    let form = parse_form(&bytes);
    if nul::in_pairs(&form) {
        return error_page(&state, crate::error::NUL_REFUSED);
    }
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let origin = request_origin(&state, &parts);
    if let Err(reason) = csrf::check(
        &state,
        &parts.headers,
        &origin,
        Some(&live.hash),
        field("csrfmiddlewaretoken"),
    ) {
        return csrf_failure(&state, &reason);
    }
    let req = match authz_request(&state, &form).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if field("allow").is_some_and(|v| !v.is_empty()) {
        approve(&state, &live.user, &req).await
    } else {
        let mut pairs = vec![("error", "access_denied")];
        if let Some(s) = &req.state_param {
            pairs.push(("state", s.as_str()));
        }
        redirect(&with_params(&req.code.redirect_uri, &pairs))
    }
}
