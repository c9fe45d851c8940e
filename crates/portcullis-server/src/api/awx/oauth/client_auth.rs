//! RFC 6749 §2.3.1 client authentication at `/api/o/`, with the failed-attempt throttle.

use super::error::{OAuthError, OAuthResult};
use super::form::Form;
use crate::extract::client_ip::request_origin;
use crate::service::throttle;
use crate::state::AppState;
use axum::http::header;
use axum::http::request::Parts;
use portcullis_core::basic::{Authorization, parse_authorization};
use portcullis_core::token::{self, TokenKind};
use portcullis_store::ApplicationRecord;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// RFC 6749 §2.3.1 client authentication: Basic or form fields. Confidential clients must
/// present their secret; public clients only their id.
pub(crate) async fn authenticate_client(
    state: &AppState,
    parts: &Parts,
    form: &Form,
) -> OAuthResult<ApplicationRecord> {
    let (client_id, secret): (String, Option<SecretString>) = match parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| parse_authorization(v.as_bytes()))
    {
        Some(Authorization::Basic { username, password }) => (username, Some(password)),
        Some(_) => return Err(OAuthError::InvalidClient),
        None => match form.get("client_id") {
            Some(id) => (
                id.to_owned(),
                form.get("client_secret")
                    .map(|s| SecretString::from(s.to_owned())),
            ),
            None => return Err(OAuthError::InvalidClient),
        },
    };
    // Failed client authentications are counted per client id and source network (a
    // sliding window of 20 in 10 min → 429 for that network only), whether or not the id
    // exists, so guessing a secret is bounded too.
    let source = request_origin(state, parts).client_ip;
    throttle::client_check(state, &client_id, source).await?;
    let verdict = client_verdict(state, &client_id, secret).await?;
    if verdict.is_none() {
        throttle::client_failed(state, &client_id, source).await?;
    }
    verdict.ok_or(OAuthError::InvalidClient)
}

/// The application whose credentials these are, if they are right.
async fn client_verdict(
    state: &AppState,
    client_id: &str,
    secret: Option<SecretString>,
) -> OAuthResult<Option<ApplicationRecord>> {
    let Some(app) = state.store.application_by_client_id(client_id).await? else {
        return Ok(None);
    };
    match (&app.secret_hash, secret) {
        (None, _) => Ok(Some(app)),
        (Some(stored), Some(presented)) => {
            let Ok(hash) = token::parse(TokenKind::ClientSecret, presented.expose_secret()) else {
                return Ok(None);
            };
            Ok(bool::from(hash.as_bytes().ct_eq(stored.as_bytes())).then_some(app))
        }
        (Some(_), None) => Ok(None),
    }
}
