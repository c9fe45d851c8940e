//! `POST /api/o/revoke_token/` (RFC 7009).

use super::client_auth::authenticate_client;
use super::error::{INVALID_REQUEST, OAuthError, no_store};
use super::form::read_form;
use crate::service::{audit, tokens};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::token::{self, TokenKind};
use portcullis_store::RevokeOutcome;
use serde_json::json;

/// `POST /api/o/revoke_token/` (RFC 7009)
#[utoipa::path(post, path = "/api/o/revoke_token/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint; client credentials"),
    responses((status = 200, description = "Revoked, or unknown (empty body)"),
              (status = 400, description = "Another client's token: unauthorized_client"),
              (status = 401, description = "invalid_client")))]
pub async fn revoke_token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let outcome = async {
        let form = read_form(&state, &parts, body).await?;
        let app = authenticate_client(&state, &parts, &form).await?;
        let Some(presented) = form.get("token") else {
            return Err(INVALID_REQUEST);
        };
        let hash = match TokenKind::of(presented) {
            Some(k @ (TokenKind::AppAccess | TokenKind::AppRefresh)) => {
                token::parse(k, presented).ok()
            }
            // PATs are revoked with DELETE /api/v2/tokens/<id>/, not by a client.
            Some(TokenKind::PersonalAccess) => {
                return Err(OAuthError::BadRequest("unauthorized_client", None));
            }
            _ => None,
        };
        let Some(hash) = hash else {
            return Ok(RevokeOutcome::Unknown);
        };
        let entry = tokens::activity(
            &state,
            None,
            "delete",
            None,
            json!({"application": app.id.0, "token": tokens::MASKED, "via": "revoke_token"}),
        );
        let outcome = state
            .store
            .revoke_token_by_hash(&hash, app.id, state.clock.now(), entry)
            .await?;
        state.changes.catch_up(&state).await;
        if let RevokeOutcome::Revoked { user_id } = outcome {
            audit::Event::new("token_revoked", audit::Outcome::Success)
                .via("revoke_token")
                .user_id(user_id.0)
                .client_id(&app.client_id)
                .token(&hash.log_ref())
                .emit();
        }
        Ok(outcome)
    }
    .await;
    match outcome {
        Ok(RevokeOutcome::WrongClient) => {
            OAuthError::BadRequest("unauthorized_client", None).into_response()
        }
        Ok(_) => {
            let mut resp = (StatusCode::OK, "").into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}
