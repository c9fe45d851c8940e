//! The AWX JSON body extractor. Its rejection is an [`ApiError`] in AWX's shape:
//! an empty body (any or no `Content-Type`) is `{}`, as the documented
//! `curl -X POST …/api/v2/tokens/` sends none; a non-empty body of another type is 415; an
//! oversized body 413 (at once when its `Content-Length` says so, see
//! [`crate::extract::body`]); malformed JSON, nesting deeper than 32 or a non-object 400; a NUL
//! character in any string or key 400 (`{"field": ["Null characters are not allowed."]}` as
//! Django REST framework answers it, see [`crate::extract::nul`]).

use crate::error::{ApiError, NUL_REFUSED};
use crate::extract::body::{self, BodyError};
use crate::extract::nul::{self, NulAt};
use crate::state::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

/// Deepest JSON nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// A JSON object body.
#[derive(Debug, Clone, Default)]
pub struct AwxJson(pub Map<String, Value>);

/// True for `application/json` and `application/*+json`, with any parameters.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Depth of the deepest array/object nesting, ignoring brackets inside strings.
fn depth(bytes: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses a JSON object from raw bytes with the rules above (content type already checked).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if depth(bytes) > MAX_DEPTH {
        return Err(ApiError::BadRequest(
            "JSON parse error - nesting is too deep".into(),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => match nul::in_object(&m) {
            None => Ok(m),
            Some(NulAt::Field(field)) => Err(ApiError::Validation(vec![(
                field.to_owned(),
                vec![NUL_REFUSED.to_owned()],
            )])),
            Some(NulAt::Key) => Err(ApiError::BadRequest(NUL_REFUSED.into())),
        },
        Ok(other) => Err(ApiError::Validation(vec![(
            "non_field_errors".into(),
            vec![format!(
                "Invalid data. Expected a dictionary, but got {}.",
                match other {
                    Value::Array(_) => "list",
                    Value::String(_) => "str",
                    Value::Number(_) => "int",
                    Value::Bool(_) => "bool",
                    _ => "NoneType",
                }
            )],
        )])),
        Err(e) => Err(ApiError::BadRequest(format!("JSON parse error - {e}"))),
    }
}

impl FromRequest<AppState> for AwxJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("invalid").to_owned());
        let bytes = body::read(req.into_body(), state.config.limits.json_body)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => ApiError::PayloadTooLarge,
                BodyError::Unreadable => {
                    ApiError::BadRequest("Could not read the request body.".into())
                }
            })?;
        if bytes.is_empty() {
            return Ok(Self(Map::new()));
        }
        match content_type {
            Some(ct) if is_json(&ct) => {}
            _ => return Err(ApiError::UnsupportedMediaType),
        }
        if std::str::from_utf8(&bytes).is_err() {
            return Err(ApiError::BadRequest(
                "JSON parse error - request body is not valid UTF-8".into(),
            ));
        }
        parse_object(&bytes).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn depth_ignores_strings() {
        assert_eq!(depth(br#"{"a": "[[[[{{{"}"#), 1);
        assert_eq!(depth(b"[[[]]]"), 3);
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(parse_object(deep.as_bytes()).is_err());
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_the_field() {
        assert_eq!(
            parse_object(br#"{"ok": "x", "description": "a\u0000b"}"#).unwrap_err(),
            ApiError::Validation(vec![("description".into(), vec![NUL_REFUSED.into()])])
        );
        assert_eq!(
            parse_object(br#"{"m": {"deep": ["\u0000"]}}"#).unwrap_err(),
            ApiError::Validation(vec![("m".into(), vec![NUL_REFUSED.into()])])
        );
        assert_eq!(
            parse_object(br#"{"a\u0000": 1}"#).unwrap_err(),
            ApiError::BadRequest(NUL_REFUSED.into())
        );
        // An escaped backslash before `u0000` is no NUL.
        assert!(parse_object(br#"{"a": "\\u0000"}"#).is_ok());
    }

    #[test]
    fn non_objects_are_validation_errors() {
        assert!(matches!(parse_object(b"[1]"), Err(ApiError::Validation(_))));
        assert!(matches!(parse_object(b"{"), Err(ApiError::BadRequest(_))));
        assert_eq!(parse_object(b"  ").unwrap().len(), 0);
    }
}
