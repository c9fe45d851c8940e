//! Per-handler requirements, as extractors: a protected view takes [`Authed`], an open view
//! [`MaybeAuthed`]. Both read the [`AuthContext`] the chain left in the request.
//!
//! Order of the checks for a protected view (`docs/awx-compat.md`, "Order of checks"): a principal
//! must exist (else 401, or 403 for a CSRF failure, or 503 when storage failed), then the scope
//! mask (a token without `write` may only read — also for superusers), then the handler's own
//! permission rules.

use crate::auth::chain::{self, AuthContext, Failure};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use std::sync::Arc;

/// An authenticated caller whose scope allows the request's method.
#[derive(Debug, Clone)]
pub struct Authed(pub Principal);

/// An authenticated superuser (AWX's system administrator) whose scope allows the method:
/// the coarse requirement of a view, declared in its signature. Refused with AWX's 403 after
/// the checks of [`Authed`], before the body is read, as Django REST framework checks
/// permissions before a view parses its input.
#[derive(Debug, Clone)]
pub struct Superuser(pub Principal);

/// An authenticated caller who may read everything (superuser or system auditor).
#[derive(Debug, Clone)]
pub struct Reader(pub Principal);

/// The chain's verdict on an open view, where failures are ignored.
#[derive(Debug, Clone)]
pub struct MaybeAuthed(pub Arc<AuthContext>);

/// The chain's verdict: the one the chain layer left, or — on a route registered outside
/// the chain layer by mistake — the verdict of running the chain here, so moving a route
/// between routers can never turn into an unauthenticated view or a 500.
pub(crate) async fn context(parts: &mut Parts, state: &AppState) -> Arc<AuthContext> {
    if let Some(ctx) = parts.extensions.get::<Arc<AuthContext>>() {
        return ctx.clone();
    }
    let ctx = Arc::new(chain::run(state, parts).await);
    parts.extensions.insert(ctx.clone());
    ctx
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ctx = context(parts, state).await;
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

impl FromRequestParts<AppState> for Superuser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authed(p) = Authed::from_request_parts(parts, state).await?;
        if !authz::is_administrator(&p.user) {
            return Err(ApiError::PermissionDenied);
        }
        Ok(Self(p))
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authed(p) = Authed::from_request_parts(parts, state).await?;
        if !authz::may_read_everything(&p.user) {
            return Err(ApiError::PermissionDenied);
        }
        Ok(Self(p))
    }
}

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(context(parts, state).await))
    }
}
