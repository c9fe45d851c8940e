//! One error type for the AWX surface, rendered in AWX's dialect.
//!
//! Policy: the client message is fixed per variant and never carries internal detail; the
//! cause of a 5xx is logged by the server, not sent. Storage failures are 503 with
//! `Retry-After` (fail closed), never 401/403, which would make clients discard valid
//! credentials.

use crate::service::error::{Forbidden, Problem, Refusal, ServiceError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_store::StoreError;
use serde_json::{Map, Value, json};

/// The AWX generic 401 text.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided. To establish a login session, visit /api/login/.";
/// The AWX generic 403 text.
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";
/// The Bearer challenge sent with every API 401.
pub const CHALLENGE: &str = "Bearer realm=api authorization_url=/api/o/authorize/";
/// The 400 text for a NUL character in client input (Django REST framework's wording, which
/// AWX answers for a NUL in a field).
pub const NUL_REFUSED: &str = "Null characters are not allowed.";
/// The 400 text when the database refused a value of the request.
pub const VALUE_REFUSED: &str = "The request contains a value that cannot be stored.";
/// The 408 text for a body that did not arrive within the body read timeout.
pub const BODY_TIMEOUT: &str = "The request body was not received in time.";
/// AWX's 415 text.
pub const UNSUPPORTED_MEDIA: &str = "You did not use correct Content-Type in your HTTP request. If you are using our REST API, the Content-Type must be application/json";

/// Everything an AWX API handler can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No or failed credentials (generic 401).
    #[error("not authenticated")]
    NotAuthenticated,
    /// A presented Bearer token was malformed, unknown, expired or revoked.
    #[error("invalid token")]
    InvalidToken,
    /// Authenticated but not allowed (generic 403).
    #[error("permission denied")]
    PermissionDenied,
    /// A read-scope token tried an unsafe method.
    #[error("insufficient scope")]
    InsufficientScope,
    /// A specific 403 text (`Cannot delete user.` …).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// CSRF check failed; the reason is AWX's text.
    #[error("CSRF failed: {0}")]
    Csrf(String),
    /// Object not found.
    #[error("not found")]
    NotFound,
    /// No such route.
    #[error("no route")]
    NoRoute,
    /// Method not offered by the view.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    /// Field validation errors (`{"field": ["msg"]}`).
    #[error("validation failed")]
    Validation(Vec<(String, Vec<String>)>),
    /// A 400 with a `detail` message.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The database refused a value of the request ([`StoreError::InvalidInput`]: a NUL
    /// character that slipped past the input checks, a number out of range). Client input,
    /// so 400 with a fixed message; the string is the database's reason, for the debug log.
    #[error("value refused by the database: {0}")]
    InvalidValue(String),
    /// The body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is too large.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body did not arrive within `limits.body_read_timeout_seconds` (408).
    #[error("request body timed out")]
    BodyTimeout,
    /// A page past the last one.
    #[error("invalid page")]
    InvalidPage,
    /// The request line is too long.
    #[error("uri too long")]
    UriTooLong,
    /// A header field or the header section is too large.
    #[error("headers too large")]
    HeadersTooLarge,
    /// Too many failed password checks from this client network (429 + `Retry-After`).
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// The account is locked for this source: answered exactly like bad credentials, plus
    /// `Retry-After` (`docs/security.md`, "Brute-force limits").
    #[error("locked for {0} s")]
    Locked(u64),
    /// Storage, directory or password pool unavailable: fail closed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect: logged, answered with a generic 500.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(field) => Self::Validation(vec![(
                field.clone(),
                vec![format!("A record with this {field} already exists.")],
            )]),
            StoreError::Unavailable(msg) => Self::Unavailable(msg),
            StoreError::InvalidInput(msg) => Self::InvalidValue(msg),
        }
    }
}

impl From<ServiceError> for ApiError {
    /// The AWX renderer of the service error: the only place a domain refusal becomes an
    /// AWX status and sentence.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => Self::NotFound,
            ServiceError::Forbidden(why) => match why {
                Forbidden::NotPermitted | Forbidden::RoleNotAllowed => Self::PermissionDenied,
                Forbidden::InsufficientScope => Self::InsufficientScope,
                Forbidden::CannotDeleteUser => Self::Forbidden("Cannot delete user.".into()),
                Forbidden::CannotDeactivateUser => {
                    Self::Forbidden("Cannot deactivate user.".into())
                }
                Forbidden::CannotChangeUsername => {
                    Self::Forbidden("Cannot change username.".into())
                }
                Forbidden::CannotChangeFields(fields) => {
                    Self::Forbidden(format!("Cannot change {}.", fields.join(", ")))
                }
                Forbidden::ExternalUserTokens { kind } => Self::Forbidden(external_refusal(&kind)),
            },
            ServiceError::Invalid(fields) => Self::Validation(
                fields
                    .iter()
                    .map(|(field, problems)| {
                        (field.to_owned(), problems.iter().map(awx_problem).collect())
                    })
                    .collect(),
            ),
            ServiceError::Conflict(text) => Self::BadRequest(text.into_owned()),
            ServiceError::Locked { retry_after } => Self::Locked(retry_after),
            ServiceError::Throttled { retry_after } => Self::Throttled(retry_after),
            ServiceError::CredentialRefused(_, Refusal::Missing) => Self::NotAuthenticated,
            ServiceError::CredentialRefused(..) => Self::InvalidToken,
            ServiceError::ValueRefused(why) => Self::InvalidValue(why),
            ServiceError::Unavailable(why) => Self::Unavailable(why),
            ServiceError::Internal(why) => Self::Internal(why),
        }
    }
}

/// AWX's (Django REST framework's) sentence for a field problem.
fn awx_problem(p: &Problem) -> String {
    match p {
        Problem::Required => "This field is required.".into(),
        Problem::Invalid => "Invalid value.".into(),
        Problem::Says(text) => text.clone(),
    }
}

/// AWX's refusal for external users while `ALLOW_OAUTH2_FOR_EXTERNAL_USERS` is false.
pub fn external_refusal(kind: &str) -> String {
    format!(
        "(access_denied) OAuth2 Tokens cannot be created by users associated with an external authentication provider ({kind})"
    )
}

/// Builds a single-field validation error.
pub fn field_error(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![(field.to_owned(), vec![msg.into()])])
}

fn detail(msg: &str) -> Value {
    json!({ "detail": msg })
}

impl ApiError {
    /// Status and JSON body of this error.
    pub fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            Self::NotAuthenticated | Self::InvalidToken | Self::Locked(_) => {
                (StatusCode::UNAUTHORIZED, detail(NOT_AUTHENTICATED))
            }
            Self::Throttled(s) => (
                StatusCode::TOO_MANY_REQUESTS,
                detail(&format!(
                    "Request was throttled. Expected available in {s} seconds."
                )),
            ),
            Self::PermissionDenied | Self::InsufficientScope => {
                (StatusCode::FORBIDDEN, detail(NO_PERMISSION))
            }
            Self::Forbidden(msg) => (StatusCode::FORBIDDEN, detail(msg)),
            Self::Csrf(reason) => (
                StatusCode::FORBIDDEN,
                detail(&format!("CSRF Failed: {reason}")),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, detail("Not found.")),
            Self::NoRoute => (
                StatusCode::NOT_FOUND,
                detail("The requested resource could not be found."),
            ),
            Self::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail(&format!("Method \"{m}\" not allowed.")),
            ),
            Self::Validation(fields) => {
                let mut m = Map::new();
                for (k, msgs) in fields {
                    m.insert(k.clone(), json!(msgs));
                }
                (StatusCode::BAD_REQUEST, Value::Object(m))
            }
            Self::BadRequest(msg) => (StatusCode::BAD_REQUEST, detail(msg)),
            Self::InvalidValue(_) => (StatusCode::BAD_REQUEST, detail(VALUE_REFUSED)),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail(UNSUPPORTED_MEDIA),
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                detail("Request body is too large."),
            ),
            Self::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, detail(BODY_TIMEOUT)),
            Self::InvalidPage => (StatusCode::NOT_FOUND, detail("Invalid page.")),
            Self::UriTooLong => (StatusCode::URI_TOO_LONG, detail("Request URI is too long.")),
            Self::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                detail("Request header fields are too large."),
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("Service temporarily unavailable."),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("A server error has occurred."),
            ),
        }
    }
}

/// Marks a response produced by an error, so the error logger can report the cause.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// The generic 401 body, serialised once (the anonymous path is the hottest refusal).
const NOT_AUTHENTICATED_BODY: &str = "{\"detail\":\"Authentication credentials were not provided. To establish a login session, visit /api/login/.\"}";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = if matches!(
            self,
            Self::NotAuthenticated | Self::InvalidToken | Self::Locked(_)
        ) {
            (
                StatusCode::UNAUTHORIZED,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                NOT_AUTHENTICATED_BODY,
            )
                .into_response()
        } else {
            let (status, body) = self.status_and_body();
            (status, axum::Json(body)).into_response()
        };
        let h = resp.headers_mut();
        match &self {
            Self::Throttled(secs) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            Self::Locked(secs) => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
                h.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            Self::NotAuthenticated => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
            }
            Self::InvalidToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=api authorization_url=/api/o/authorize/, error=\"invalid_token\"",
                    ),
                );
            }
            Self::InsufficientScope => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=api authorization_url=/api/o/authorize/, error=\"insufficient_scope\"",
                    ),
                );
            }
            Self::Unavailable(_) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        if let Self::InvalidValue(cause) = &self {
            // Client input: worth a debug line (which value, which check), never a warning.
            tracing::debug!(cause = %cause, "value refused by the database");
        }
        if matches!(self, Self::Unavailable(_) | Self::Internal(_)) {
            resp.extensions_mut().insert(ErrorCause(self.to_string()));
        }
        resp
    }
}

/// Result of an AWX handler.
pub type ApiResult<T> = Result<T, ApiError>;
