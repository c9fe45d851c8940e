//! The `/api/o/` error answer (RFC 6749 §5.2) and its renderer of the service error: the
//! only place an OAuth2 status, `error` code or description is chosen.

use crate::api::awx::response::html;
use crate::error::ErrorCause;
use crate::service::error::{Credential, Forbidden, Refusal, ServiceError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
pub enum OAuthError {
    /// 400 with `error` and an optional description.
    BadRequest(&'static str, Option<&'static str>),
    /// 401 `invalid_client` with the Basic client-authentication challenge.
    InvalidClient,
    /// 403 `text/html` (AWX's external-user refusal on the token endpoint).
    Forbidden(String),
    /// 400 `invalid_grant` for a locked account, with `Retry-After` seconds.
    Locked(u64),
    /// 429 for a throttled client network, with `Retry-After` seconds.
    Throttled(u64),
    /// 413: the form is above `limits.auth_body` (`docs/security.md`, "Input handling").
    PayloadTooLarge,
    /// 408: the form did not arrive within `limits.body_read_timeout_seconds`.
    BodyTimeout,
    /// 503 `temporarily_unavailable`; the string is the cause, for the log only (the
    /// RFC 6749 body cannot carry it). It rides the response as an [`ErrorCause`], which the
    /// request envelope logs once with the request id.
    Unavailable(String),
}

impl From<ServiceError> for OAuthError {
    /// The `/api/o/` renderer of the service error.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden(Forbidden::ExternalUserTokens { kind }) => {
                Self::Forbidden(crate::error::external_refusal(&kind))
            }
            // The client may not use this grant (its registered type, or a switched-off
            // password grant).
            ServiceError::Forbidden(Forbidden::NotPermitted) => {
                Self::BadRequest("unauthorized_client", None)
            }
            ServiceError::Invalid(_) => Self::BadRequest("invalid_scope", None),
            ServiceError::Locked { retry_after } => Self::Locked(retry_after),
            ServiceError::Throttled { retry_after } => Self::Throttled(retry_after),
            ServiceError::CredentialRefused(Credential::Awx, _) => BAD_CREDENTIALS,
            ServiceError::CredentialRefused(Credential::OAuthGrant, why) => match why {
                Refusal::Expired => {
                    Self::BadRequest("invalid_grant", Some("The refresh token has expired."))
                }
                Refusal::Concurrent => Self::BadRequest(
                    "invalid_request",
                    Some(
                        "This refresh token was just rotated by another request; use the newest refresh token.",
                    ),
                ),
                Refusal::Missing => INVALID_REQUEST,
                Refusal::Invalid | Refusal::Revoked | Refusal::OtherClient | Refusal::Reused => {
                    Self::BadRequest("invalid_grant", None)
                }
            },
            ServiceError::ValueRefused(why) => {
                // Client input: a debug line, never a warning.
                tracing::debug!(cause = %why, "value refused by the database");
                VALUE_REFUSED
            }
            // Anything else on these endpoints is a failure to answer, never a grant.
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<portcullis_store::StoreError> for OAuthError {
    fn from(e: portcullis_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as RFC 6749 §5.1 wants for token answers.
pub(crate) fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = match self {
            Self::BadRequest(error, description) => {
                let body = match description {
                    Some(d) => json!({"error": error, "error_description": d}),
                    None => json!({ "error": error }),
                };
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
            Self::InvalidClient => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid_client"})),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"api\""),
                );
                r
            }
            Self::Forbidden(text) => html(StatusCode::FORBIDDEN, text),
            Self::Locked(secs) | Self::Throttled(secs) => {
                let (status, body) = if matches!(self, Self::Locked(_)) {
                    (
                        StatusCode::BAD_REQUEST,
                        json!({"error": "invalid_grant", "error_description": "Invalid credentials given."}),
                    )
                } else {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        json!({"error": "invalid_request", "error_description": "Too many failed attempts from this address."}),
                    )
                };
                let mut r = (status, axum::Json(body)).into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({
                    "error": "invalid_request",
                    "error_description": "Request body is too large."
                })),
            )
                .into_response(),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(json!({
                    "error": "invalid_request",
                    "error_description": crate::error::BODY_TIMEOUT
                })),
            )
                .into_response(),
            Self::Unavailable(cause) => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": "temporarily_unavailable"})),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r.extensions_mut().insert(ErrorCause(cause));
                r
            }
        };
        no_store(&mut resp);
        resp
    }
}

/// Result of an `/api/o/` step.
pub(crate) type OAuthResult<T> = Result<T, OAuthError>;

/// A malformed request.
pub(crate) const INVALID_REQUEST: OAuthError = OAuthError::BadRequest("invalid_request", None);
/// A NUL character in the query or the form.
pub(crate) const NUL_REFUSED: OAuthError =
    OAuthError::BadRequest("invalid_request", Some(crate::error::NUL_REFUSED));
/// A value the database refused.
const VALUE_REFUSED: OAuthError =
    OAuthError::BadRequest("invalid_request", Some(crate::error::VALUE_REFUSED));
/// A wrong username or password on the password grant.
const BAD_CREDENTIALS: OAuthError =
    OAuthError::BadRequest("invalid_grant", Some("Invalid credentials given."));
