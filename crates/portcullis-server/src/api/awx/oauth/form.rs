//! The form bodies of `/api/o/`: form-encoded only, each parameter at most once, never
//! credentials in the query string.

use super::error::{INVALID_REQUEST, NUL_REFUSED, OAuthError, OAuthResult};
use crate::api::awx::response::is_form;
use crate::extract::body::{self, BodyError};
use crate::extract::nul;
use crate::state::AppState;
use axum::body::Body;
use axum::http::request::Parts;

/// A parsed form body: each parameter at most once (RFC 6749 §3.1).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// The non-empty value of `k`.
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Reads a form body; anything else is `invalid_request`, and so are credentials in the
/// query string (they would end up in access logs).
pub(crate) async fn read_form(state: &AppState, parts: &Parts, body: Body) -> OAuthResult<Form> {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|_| INVALID_REQUEST)?;
    if nul::in_pairs(&query) {
        return Err(NUL_REFUSED);
    }
    if query.iter().any(|(k, _)| {
        matches!(
            k.as_str(),
            "client_id" | "client_secret" | "password" | "refresh_token" | "code"
        )
    }) {
        return Err(INVALID_REQUEST);
    }
    if !is_form(&parts.headers) {
        return Err(INVALID_REQUEST);
    }
    let bytes = body::read(body, state.config.limits.auth_body)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => OAuthError::PayloadTooLarge,
            BodyError::Unreadable => INVALID_REQUEST,
        })?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| INVALID_REQUEST)?;
    if nul::in_pairs(&pairs) {
        return Err(NUL_REFUSED);
    }
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs.iter().skip(i + 1).any(|(other, _)| other == k) {
            return Err(INVALID_REQUEST);
        }
    }
    Ok(Form(pairs))
}
