//! The MDR caller extractor: the access token of `POST /api/v1/{client_id}/…` checked for
//! the path's customer, and the route's role requirement.
//!
//! Policy: checks run in a fixed order — Client ID syntax (404), the access token (401/403:
//! the Bearer verifier chain with [`BearerContext::Mdr`], the same chain that checks AWX
//! tokens), then the route's [`RoleRequirement`] (403, [`authz::mdr_role_allows`]) — all
//! before the body is read, so a refused caller learns nothing from what it sent. A route
//! declares its requirement in its signature: `MdrCaller` for any role,
//! `MdrCaller<Decide>` for the calls that decide on responses.

use super::error::MdrError;
use crate::auth::bearer::{self, BearerContext};
use crate::service::error::{Credential, Refusal, ServiceError};
use crate::service::mdr_session;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portcullis_core::authz::{self, MdrAction};
use portcullis_core::mdr::{Role, is_client_id_syntax};
use portcullis_core::principal::{Connection, Principal};
use std::marker::PhantomData;

/// What a route requires of the caller's role.
pub trait RoleRequirement: Send + Sync + 'static {
    /// True when `role` may call the route.
    fn permits(role: Role) -> bool;
}

/// Any authenticated connection, whatever its role.
#[derive(Debug, Clone, Copy)]
pub struct AnyRole;

impl RoleRequirement for AnyRole {
    fn permits(role: Role) -> bool {
        authz::mdr_role_allows(role, MdrAction::Use)
    }
}

/// A role that may decide on responses (`response/update`, `responses/update`).
#[derive(Debug, Clone, Copy)]
pub struct Decide;

impl RoleRequirement for Decide {
    fn permits(role: Role) -> bool {
        authz::mdr_role_allows(role, MdrAction::DecideResponses)
    }
}

/// An authenticated API connection calling for the path's customer, with the role `R`
/// requires. The route must have exactly one path parameter, `{client_id}`.
#[derive(Debug, Clone)]
pub struct MdrCaller<R = AnyRole> {
    /// The path's customer.
    pub client_id: String,
    /// The caller: [`portcullis_core::principal::AuthVia::MdrAccess`], with its connection.
    pub principal: Principal,
    /// The calling connection as read for this request (name, role, tenant scope).
    pub connection: Connection,
    _requirement: PhantomData<fn() -> R>,
}

fn refused(why: Refusal) -> Response {
    MdrError::from(ServiceError::CredentialRefused(Credential::MdrAccess, why)).into_response()
}

impl<R: RoleRequirement> FromRequestParts<AppState> for MdrCaller<R> {
    /// The MDR error as a response; a path that cannot be decoded keeps axum's own
    /// rejection, as it had before the MDR routes were typed.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(client_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !is_client_id_syntax(&client_id) {
            return Err(MdrError::no_route().into_response());
        }
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(token) = mdr_session::bearer_token(authorization) else {
            return Err(refused(Refusal::Missing));
        };
        let context = BearerContext::Mdr {
            client_id: &client_id,
        };
        let principal = match bearer::authenticate(state, token, context).await {
            Ok(Ok(p)) => p,
            Ok(Err(why)) => return Err(refused(why)),
            Err(e) => return Err(MdrError::from(e).into_response()),
        };
        let Some(connection) = principal.connection.clone() else {
            // Only the MDR verifier answers in this context; anything else is a defect.
            return Err(MdrError::internal("MDR caller without a connection").into_response());
        };
        if !R::permits(connection.role) {
            return Err(MdrError::not_permitted().into_response());
        }
        Ok(Self {
            client_id,
            principal,
            connection,
            _requirement: PhantomData,
        })
    }
}
