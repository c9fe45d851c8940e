//! The console's JSON management API under `/console/api/` (`docs/mdr-api.md`, "Customers, tenants
//! and connections", "SOC-side data").
//!
//! Policy: authenticated by the same authenticator chain as the AWX API (the console login is
//! the AWX session with its CSRF rule; HTTP Basic and personal tokens of a superuser work too,
//! for scripts), answered in the MDR dialect (`{"error": …}`), superusers only for now.

pub mod mdr;

use crate::api::mdr::error::MdrError;
use crate::auth::check::Authed;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use portcullis_core::authz;
use portcullis_core::principal::Principal;

/// A superuser calling the console API.
#[derive(Debug, Clone)]
pub struct ConsoleAdmin(pub Principal);

impl FromRequestParts<AppState> for ConsoleAdmin {
    type Rejection = MdrError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, MdrError> {
        let Authed(p) = Authed::from_request_parts(parts, state)
            .await
            .map_err(console_error)?;
        if !authz::may_manage_mdr(&p.user) {
            return Err(MdrError::new(StatusCode::FORBIDDEN, "permission denied"));
        }
        Ok(Self(p))
    }
}

/// Any authenticated caller of the console API; the service called decides what they may do
/// (the per-customer MDR administrator role, `docs/mdr-api.md`, "MDR administrators").
#[derive(Debug, Clone)]
pub struct ConsoleCaller(pub Principal);

impl FromRequestParts<AppState> for ConsoleCaller {
    type Rejection = MdrError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, MdrError> {
        let Authed(p) = Authed::from_request_parts(parts, state)
            .await
            .map_err(console_error)?;
        Ok(Self(p))
    }
}

/// The chain's verdict in the console's dialect.
fn console_error(e: ApiError) -> MdrError {
    match e {
        ApiError::NotAuthenticated | ApiError::InvalidToken | ApiError::Locked(_) => {
            MdrError::new(StatusCode::UNAUTHORIZED, "authentication required")
        }
        ApiError::Csrf(reason) => MdrError::new(
            StatusCode::FORBIDDEN,
            format!("CSRF check failed: {reason}"),
        ),
        ApiError::InsufficientScope => MdrError::new(
            StatusCode::FORBIDDEN,
            "a read-scoped token cannot change anything",
        ),
        ApiError::Throttled(secs) => MdrError::too_many(secs),
        ApiError::InvalidValue(why) => MdrError::value_refused(why),
        ApiError::Unavailable(why) => MdrError::unavailable(why),
        other => MdrError::internal(other.to_string()),
    }
}
