//! `POST /api/o/token/`: the form side of the password, refresh-token and
//! authorization-code grants; the grants themselves are `service::oauth`.

use super::client_auth::authenticate_client;
use super::error::{OAuthError, OAuthResult, no_store};
use super::form::{Form, read_form};
use crate::extract::client_ip::request_origin;
use crate::service::oauth::{self as grants, Grant};
use crate::service::tokens;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portcullis_core::scope::Scope;
use secrecy::SecretString;
use serde_json::json;

/// Parses a requested scope, defaulting to `read write` (`docs/awx-compat.md`, "Token endpoint").
fn requested_scope(form: &Form) -> OAuthResult<String> {
    match form.get("scope") {
        None => Ok("read write".into()),
        Some(s) if Scope::parse(s).is_some() => Ok(s.to_owned()),
        Some(_) => Err(OAuthError::BadRequest("invalid_scope", None)),
    }
}

fn token_response(issued: &tokens::Issued) -> Response {
    let expires_in = (issued.record.expires_at - issued.record.created_at).whole_seconds();
    let body = json!({
        "access_token": issued.token.expose(),
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": issued.record.scope,
        "refresh_token": issued.refresh.as_ref().map(|r| r.expose()),
    });
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut resp);
    resp
}

/// `POST /api/o/token/`
#[utoipa::path(post, path = "/api/o/token/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "grant_type=password (username, password, scope) | refresh_token (refresh_token, scope) | authorization_code (code, redirect_uri, code_verifier); client credentials in Basic or the form"),
    responses((status = 200, description = "{access_token, expires_in, token_type, scope, refresh_token}"),
              (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type, unauthorized_client, invalid_scope"),
              (status = 401, description = "invalid_client"),
              (status = 403, description = "External user while not allowed (text/html)")))]
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    match grant(&state, &parts, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn grant(state: &AppState, parts: &Parts, body: Body) -> OAuthResult<Response> {
    let form = read_form(state, parts, body).await?;
    let grant_type = form.get("grant_type");
    if !matches!(
        grant_type,
        Some(
            "password" | "refresh_token" | "authorization_code" | "client_credentials" | "implicit"
        )
    ) {
        return Err(OAuthError::BadRequest("unsupported_grant_type", None));
    }
    let app = authenticate_client(state, parts, &form).await?;
    let missing = || OAuthError::BadRequest("invalid_request", None);
    let issued = match grant_type {
        Some("password") => {
            grants::allow_grant(state, &app, Grant::Password)?;
            let scope = requested_scope(&form)?;
            let (Some(username), Some(password)) = (form.get("username"), form.get("password"))
            else {
                return Err(missing());
            };
            let password = SecretString::from(password.to_owned());
            let client = request_origin(state, parts).client_ip;
            grants::password_grant(state, &app, username, &password, &scope, client).await?
        }
        Some("refresh_token") => {
            let Some(presented) = form.get("refresh_token") else {
                return Err(missing());
            };
            grants::refresh_grant(state, &app, presented, form.get("scope")).await?
        }
        Some("authorization_code") => {
            grants::allow_grant(state, &app, Grant::AuthorizationCode)?;
            let (Some(code), Some(redirect_uri)) = (form.get("code"), form.get("redirect_uri"))
            else {
                return Err(missing());
            };
            grants::code_grant(state, &app, code, redirect_uri, form.get("code_verifier")).await?
        }
        // Machine clients use the MDR-style exchange; these grants are never offered.
        _ => return Err(OAuthError::BadRequest("unauthorized_client", None)),
    };
    Ok(token_response(&issued))
}
