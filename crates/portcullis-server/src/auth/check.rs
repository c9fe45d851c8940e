//! Per-handler requirements, as extractors: a protected view takes [`Authed`], an open view
//! [`MaybeAuthed`]. Both read the [`AuthContext`] the chain left in the request.
//!
//! Order of the checks for a protected view (`docs/awx-compat.md`, "Order of checks"): a principal
//! must exist (else 401, or 403 for a CSRF failure, or 503 when storage failed), then the scope
//! mask (a token without `write` may only read — also for superusers), then the handler's own
//! permission rules.

use crate::auth::chain::{AuthContext, Failure};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::principal::Principal;
use std::sync::Arc;

/// An authenticated caller whose scope allows the request's method.
#[derive(Debug, Clone)]
pub struct Authed(pub Principal);

/// The chain's verdict on an open view, where failures are ignored.
#[derive(Debug, Clone)]
pub struct MaybeAuthed(pub Arc<AuthContext>);

fn context(parts: &Parts) -> Result<Arc<AuthContext>, ApiError> {
    parts
        .extensions
        .get::<Arc<AuthContext>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("authenticator chain did not run".into()))
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let ctx = context(parts)?;
        let Some(p) = &ctx.principal else {
            return Err(match &ctx.failure {
                Some(Failure::Token) => ApiError::InvalidToken,
                Some(Failure::Csrf(reason)) => ApiError::Csrf(reason.clone()),
                Some(Failure::Unavailable(m)) => ApiError::Unavailable(m.clone()),
                Some(Failure::Locked(secs)) => ApiError::Locked(*secs),
                Some(Failure::Throttled(secs)) => ApiError::Throttled(*secs),
                Some(Failure::Credentials) | None => ApiError::NotAuthenticated,
            });
        };
        if !p.scope_allows(parts.method.as_str()) {
            return Err(ApiError::InsufficientScope);
        }
        Ok(Self(p.clone()))
    }
}

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(Self(context(parts)?))
    }
}
