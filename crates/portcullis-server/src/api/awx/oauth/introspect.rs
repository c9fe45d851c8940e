//! `POST /api/o/introspect/` (RFC 7662).

use super::client_auth::authenticate_client;
use super::error::{OAuthError, no_store};
use super::form::read_form;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::token::{self, TokenKind};
use serde_json::{Value, json};

/// `POST /api/o/introspect/` (RFC 7662) for resource servers: authentication of a
/// confidential client is required, and anything that is not a live access token is exactly `{"active": false}`.
#[utoipa::path(post, path = "/api/o/introspect/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token; client credentials"),
    responses((status = 200, description = "{active, scope, client_id, username, token_type, exp} or {active: false}"),
              (status = 401, description = "invalid_client")))]
pub async fn introspect(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let answer = async {
        let form = read_form(&state, &parts, body).await?;
        let client = authenticate_client(&state, &parts, &form).await?;
        // A public client id is no credential (anyone can read it from the client), so only
        // confidential clients (resource servers) may introspect.
        if client.secret_hash.is_none() {
            return Err(OAuthError::InvalidClient);
        }
        let inactive = json!({"active": false});
        let Some(presented) = form.get("token") else {
            return Ok(inactive);
        };
        let hash = match TokenKind::of(presented) {
            Some(k @ (TokenKind::PersonalAccess | TokenKind::AppAccess)) => {
                token::parse(k, presented).ok()
            }
            _ => None,
        };
        let Some(hash) = hash else {
            return Ok(inactive);
        };
        let Some((t, user)) = state
            .store
            .token_for_bearer(&hash, state.clock.now())
            .await?
        else {
            return Ok(inactive);
        };
        let client_id = match t.application_id {
            Some(id) => state
                .store
                .application_by_id(id)
                .await?
                .map(|a| a.client_id),
            None => None,
        };
        Ok::<Value, OAuthError>(json!({
            "active": true,
            "scope": t.scope,
            "client_id": client_id,
            "username": user.username,
            "token_type": "Bearer",
            "exp": t.expires_at.unix_timestamp(),
            "iat": t.created_at.unix_timestamp(),
        }))
    }
    .await;
    match answer {
        Ok(v) => {
            let mut resp = (StatusCode::OK, axum::Json(v)).into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}
