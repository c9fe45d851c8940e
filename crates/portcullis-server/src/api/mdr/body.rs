//! Request bodies of the MDR surface (`mdr-api.md` §3): tolerant Content-Type, size limits,
//! "a JSON object, empty = `{}`".

use super::error::{MdrError, MdrResult};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt as _;

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

/// Reads at most `limit` bytes of the body; more is 413.
pub async fn read_limited(body: Body, limit: usize) -> MdrResult<Vec<u8>> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(MdrError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                ))
            } else {
                Err(MdrError::bad_request("request body is not a JSON object"))
            }
        }
    }
}

/// Parses a JSON object; an empty (or all-whitespace) body is `{}`.
pub fn json_object(bytes: &[u8]) -> MdrResult<serde_json::Map<String, serde_json::Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(MdrError::bad_request("request body is not a JSON object")),
    }
}

/// The whole §3 pipeline: Content-Type, limit, JSON object.
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
