//! The MDR dialect of errors (`docs/mdr-api.md`, "Conventions", "Surface conventions", "Token
//! exchange", "Access token failures"): exactly `{"error": "<message>"}`, `Cache-Control:
//! no-store`, and the `WWW-Authenticate` / `Retry-After` headers `docs/mdr-api.md`, "Errors" fixes.

use crate::error::{ApiError, ErrorCause};
use crate::service::error::{
    Credential, Forbidden, Problem, Refusal, ServiceError, UNNAMED_OBJECT,
};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_store::StoreError;
use std::borrow::Cow;

/// The 400 text for a NUL character in the request.
pub const NUL_REFUSED: &str = "null characters are not allowed";
/// The 400 text for a value the database refused.
pub const VALUE_REFUSED: &str = "request contains a value that cannot be stored";

/// `WWW-Authenticate` when no token was presented.
pub const CHALLENGE: &str = "Bearer realm=\"mdr\"";
/// `WWW-Authenticate` when a presented token failed.
pub const CHALLENGE_INVALID: &str = "Bearer realm=\"mdr\", error=\"invalid_token\"";
/// `WWW-Authenticate` when the connection's role does not allow the method.
pub const CHALLENGE_SCOPE: &str = "Bearer realm=\"mdr\", error=\"insufficient_scope\"";

/// An MDR-surface failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdrError {
    /// Status code.
    status: StatusCode,
    /// The `error` text.
    message: Cow<'static, str>,
    /// `WWW-Authenticate`, when the spec asks for one.
    challenge: Option<&'static str>,
    /// `Retry-After` seconds.
    retry_after: Option<u64>,
    /// What went wrong on our side, for the log (never sent).
    cause: Option<String>,
}

impl MdrError {
    /// A plain error.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            challenge: None,
            retry_after: None,
            cause: None,
        }
    }

    /// The `error` text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 400.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 `'<key>' is required`.
    pub fn required(key: &str) -> Self {
        Self::bad_request(format!("'{key}' is required"))
    }

    /// 400 `invalid value for '<key>'`.
    pub fn invalid(key: &str) -> Self {
        Self::bad_request(format!("invalid value for '{key}'"))
    }

    /// 404 `<kind> not found` (also for out-of-scope objects).
    pub fn not_found(kind: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{kind} not found"))
    }

    /// 404 `not found` (unknown route or Client ID syntax).
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not found")
    }

    /// 409.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 401 from `session/confirm` (no challenge: the exchange is not Bearer-authenticated).
    pub fn refresh_refused(message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 401/403 of a resource call, with the matching challenge.
    pub fn access_refused(status: StatusCode, message: &'static str, presented: bool) -> Self {
        let mut e = Self::new(status, message);
        e.challenge = Some(if presented {
            CHALLENGE_INVALID
        } else {
            CHALLENGE
        });
        e
    }

    /// 403 for a role that does not allow the method.
    pub fn not_permitted() -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "operation not permitted for this API connection",
        );
        e.challenge = Some(CHALLENGE_SCOPE);
        e
    }

    /// 503 with `Retry-After`: fail closed.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service temporarily unavailable",
        );
        e.retry_after = Some(5);
        e.cause = Some(cause.into());
        e
    }

    /// 400 for a value the database refused (client input, not an outage).
    pub fn value_refused(cause: impl Into<String>) -> Self {
        let cause: String = cause.into();
        // Client input: a debug line, never a warning.
        tracing::debug!(cause = %cause, "value refused by the database");
        Self::bad_request(VALUE_REFUSED)
    }

    /// 400 for a NUL character in the request.
    pub fn nul_refused() -> Self {
        Self::bad_request(NUL_REFUSED)
    }

    /// 429 with `Retry-After`.
    pub fn too_many(retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        e.retry_after = Some(retry_after);
        e
    }

    /// 500: a defect.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        e.cause = Some(cause.into());
        e
    }
}

impl From<StoreError> for MdrError {
    /// Only for store calls whose `NotFound`/`Conflict` the caller did not expect: anything
    /// the caller can explain it maps itself.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => Self::unavailable(why),
            StoreError::NotFound => Self::no_route(),
            StoreError::Conflict(field) => Self::conflict(format!("{field} is already taken")),
            StoreError::InvalidInput(why) => Self::value_refused(why),
        }
    }
}

const AUTH_REQUIRED: &str = "authorization required";
const INVALID_ACCESS: &str = "invalid access token";
const OTHER_CLIENT_ACCESS: &str = "access token does not belong to this client";
const EXPIRED_ACCESS: &str = "access token expired";
const REVOKED_ACCESS: &str = "access token revoked";
const INVALID_REFRESH: &str = "invalid refresh token";
const OTHER_CLIENT_REFRESH: &str = "refresh token does not belong to this client";
const EXPIRED_REFRESH: &str = "refresh token expired";
const REVOKED_REFRESH: &str = "refresh token revoked";
const CONCURRENT: &str = "refresh token already used by a concurrent request";
const REUSED: &str = "refresh token already used; all tokens of this connection have been revoked";

impl From<ServiceError> for MdrError {
    /// The MDR renderer of the service error (docs/mdr-api.md, "Errors"): the only place a
    /// domain refusal becomes an MDR status, sentence and challenge.
    fn from(e: ServiceError) -> Self {
        match e {
            // A store `NotFound` nobody named: the MDR surface's plain 404.
            ServiceError::NotFound(UNNAMED_OBJECT) => Self::no_route(),
            ServiceError::NotFound(kind) => Self::not_found(kind),
            ServiceError::Forbidden(Forbidden::RoleNotAllowed) => Self::not_permitted(),
            ServiceError::Forbidden(Forbidden::InsufficientScope) => Self::new(
                StatusCode::FORBIDDEN,
                "a read-scoped token cannot change anything",
            ),
            ServiceError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "permission denied"),
            ServiceError::Invalid(fields) => match fields.iter().next() {
                Some((key, problems)) => match problems.first() {
                    Some(Problem::Required) => Self::required(key),
                    Some(Problem::Says(text)) => Self::bad_request(text.clone()),
                    Some(Problem::Invalid) | None => Self::invalid(key),
                },
                None => Self::bad_request("invalid request"),
            },
            ServiceError::Conflict(text) => Self::conflict(text),
            ServiceError::Locked { retry_after } | ServiceError::Throttled { retry_after } => {
                Self::too_many(retry_after)
            }
            ServiceError::CredentialRefused(Credential::MdrAccess, why) => {
                let (status, text) = match why {
                    Refusal::Missing => {
                        return Self::access_refused(
                            StatusCode::UNAUTHORIZED,
                            AUTH_REQUIRED,
                            false,
                        );
                    }
                    Refusal::Invalid => (StatusCode::UNAUTHORIZED, INVALID_ACCESS),
                    Refusal::OtherClient => (StatusCode::FORBIDDEN, OTHER_CLIENT_ACCESS),
                    Refusal::Expired => (StatusCode::FORBIDDEN, EXPIRED_ACCESS),
                    Refusal::Revoked | Refusal::Reused | Refusal::Concurrent => {
                        (StatusCode::FORBIDDEN, REVOKED_ACCESS)
                    }
                };
                Self::access_refused(status, text, true)
            }
            ServiceError::CredentialRefused(Credential::MdrRefresh, why) => match why {
                Refusal::Missing | Refusal::Invalid => Self::refresh_refused(INVALID_REFRESH),
                Refusal::OtherClient => Self::refresh_refused(OTHER_CLIENT_REFRESH),
                Refusal::Expired => Self::refresh_refused(EXPIRED_REFRESH),
                Refusal::Revoked => Self::refresh_refused(REVOKED_REFRESH),
                Refusal::Reused => Self::refresh_refused(REUSED),
                Refusal::Concurrent => Self::conflict(CONCURRENT),
            },
            ServiceError::CredentialRefused(Credential::Awx | Credential::OAuthGrant, _) => {
                Self::new(StatusCode::UNAUTHORIZED, "authentication required")
            }
            ServiceError::ValueRefused(why) => Self::value_refused(why),
            ServiceError::Unavailable(why) => Self::unavailable(why),
            ServiceError::Internal(why) => Self::internal(why),
        }
    }
}

impl From<ApiError> for MdrError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unavailable(why) => Self::unavailable(why),
            ApiError::InvalidValue(why) => Self::value_refused(why),
            other => Self::internal(other.to_string()),
        }
    }
}

/// The body of every MDR error, for the OpenAPI document.
#[derive(Debug, utoipa::ToSchema)]
pub struct MdrErrorBody {
    /// What went wrong.
    pub error: String,
}

/// Result of an MDR handler.
pub type MdrResult<T> = Result<T, MdrError>;

impl IntoResponse for MdrError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message.as_ref() }).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = self.challenge {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(cause) = self.cause {
            resp.extensions_mut().insert(ErrorCause(cause));
        }
        resp
    }
}
