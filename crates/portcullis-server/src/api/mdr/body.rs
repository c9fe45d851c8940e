//! Request bodies of the MDR surface (`docs/mdr-api.md`, "Surface conventions"): tolerant
//! Content-Type, size limits, "a JSON object, empty = `{}`".

use super::error::{MdrError, MdrResult};
use crate::extract::body::BodyError;
use crate::extract::nul::{self, NulAt};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};

/// True when the Content-Type is one under which the body is read as JSON.
pub fn json_content_type(req: &Request) -> bool {
    let Some(v) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(v) = v.to_str() else {
        return false;
    };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/json"
            | "text/plain"
            | "application/x-www-form-urlencoded"
            | "application/octet-stream"
            | ""
    ) || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads at most `limit` bytes of the body; more is 413, at once when the declared
/// `Content-Length` says so.
pub async fn read_limited(body: Body, limit: usize) -> MdrResult<Vec<u8>> {
    match crate::extract::body::read(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(BodyError::TooLarge) => Err(MdrError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        )),
        Err(BodyError::Unreadable) => {
            Err(MdrError::bad_request("request body is not a JSON object"))
        }
    }
}

/// Parses a JSON object; an empty (or all-whitespace) body is `{}`. A NUL character in any string
/// is refused like any other invalid value of its field (`docs/mdr-api.md`, "Surface conventions"
/// validation), and one in a key as such (see [`crate::extract::nul`]).
pub fn json_object(bytes: &[u8]) -> MdrResult<serde_json::Map<String, serde_json::Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => {
            refuse_nul(&m)?;
            Ok(m)
        }
        _ => Err(MdrError::bad_request("request body is not a JSON object")),
    }
}

/// 400 when a string or key of `m` holds a NUL: `invalid value for '<field>'`, or
/// `null characters are not allowed` when the key itself holds it.
pub fn refuse_nul(m: &serde_json::Map<String, serde_json::Value>) -> MdrResult<()> {
    match nul::in_object(m) {
        None => Ok(()),
        Some(NulAt::Field(field)) => Err(MdrError::invalid(field)),
        Some(NulAt::Key) => Err(MdrError::nul_refused()),
    }
}

/// The whole `docs/mdr-api.md`, "Surface conventions" pipeline: Content-Type, limit, JSON object.
pub async fn json_body(
    req: Request,
    limit: usize,
) -> MdrResult<serde_json::Map<String, serde_json::Value>> {
    if !json_content_type(&req) {
        return Err(MdrError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type",
        ));
    }
    let bytes = read_limited(req.into_body(), limit).await?;
    json_object(&bytes)
}

/// A whole request body read under `limits.json_body` for the console's JSON API, refused
/// in the MDR dialect: 413 `request body too large` (at once when the declared
/// `Content-Length` says so).
#[derive(Debug, Clone)]
pub struct MdrBytes(pub Vec<u8>);

impl FromRequest<AppState> for MdrBytes {
    type Rejection = MdrError;

    async fn from_request(req: Request, state: &AppState) -> MdrResult<Self> {
        read_limited(req.into_body(), state.config.limits.json_body)
            .await
            .map(Self)
    }
}
