//! The client's own wire types (`docs/mdr-api.md`, "Token exchange", "Access token failures",
//! "Resource API"). Deliberately not shared with the server: the end-to-end tests then check the
//! format itself.

use crate::token::Token;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/{client_id}/session/confirm`.
#[derive(Debug, Serialize)]
pub struct ExchangeRequest<'a> {
    /// The refresh token being spent.
    pub refresh_token: &'a str,
}

/// 200 answer of `session/confirm`: exactly these two keys.
#[derive(Debug, Deserialize)]
pub struct TokenPair {
    /// New access token.
    pub access_token: Token,
    /// New refresh token of the same family.
    pub refresh_token: Token,
}

/// Every MDR error body: `{"error": "<message>"}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
}

/// Answer of a `*/count` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Count {
    /// Number of matching objects.
    pub count: u64,
}

/// The 403 messages after which the client exchanges and retries once (C8).
pub const RETRY_AFTER_EXCHANGE: [&str; 2] = ["access token expired", "access token revoked"];

/// A resource call's answer, whatever its status.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `Retry-After` in seconds, when sent as a number.
    pub retry_after: Option<u64>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `error` text of an `{"error": …}` body, if the body is one.
    pub fn error_message(&self) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(&self.body)
            .ok()
            .map(|b| b.error)
    }

    /// Decodes the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The error text, or a short description when the body is not an error body.
    pub fn describe_error(&self) -> String {
        self.error_message().unwrap_or_else(|| {
            if self.body.is_empty() {
                "empty body".into()
            } else {
                format!("unreadable body of {} bytes", self.body.len())
            }
        })
    }

    /// C8: a 403 whose message says the access token expired or was revoked, or whose body
    /// cannot be read, calls for one exchange and one retry.
    pub fn calls_for_exchange(&self) -> bool {
        self.status == 403
            && self
                .error_message()
                .is_none_or(|m| RETRY_AFTER_EXCHANGE.contains(&m.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> ApiResponse {
        ApiResponse {
            status,
            content_type: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_expired_revoked_or_unreadable_403s_call_for_an_exchange() {
        assert!(resp(403, r#"{"error": "access token expired"}"#).calls_for_exchange());
        assert!(resp(403, r#"{"error": "access token revoked"}"#).calls_for_exchange());
        assert!(resp(403, "<html>").calls_for_exchange());
        assert!(resp(403, "").calls_for_exchange());
        assert!(
            !resp(
                403,
                r#"{"error": "operation not permitted for this API connection"}"#
            )
            .calls_for_exchange()
        );
        assert!(
            !resp(
                403,
                r#"{"error": "access token does not belong to this client"}"#
            )
            .calls_for_exchange()
        );
        assert!(!resp(401, r#"{"error": "access token expired"}"#).calls_for_exchange());
        assert!(!resp(200, "[]").calls_for_exchange());
    }

    #[test]
    fn error_descriptions() {
        assert_eq!(
            resp(404, r#"{"error":"not found"}"#).describe_error(),
            "not found"
        );
        assert_eq!(resp(502, "").describe_error(), "empty body");
        assert_eq!(
            resp(502, "oops").describe_error(),
            "unreadable body of 4 bytes"
        );
    }
}
