//! Token strings and their payload claims.
//!
//! Policy: a [`Token`] never shows its value through `Debug` or `Display`; the only way to the
//! string is [`Token::expose`]. Claims are read by decoding the JWT payload WITHOUT verifying
//! the signature (C3): the client holds no key, and the server checks every token it receives.

use crate::error::{ClientError, Result};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Longest token accepted from anywhere (the server refuses longer ones, `docs/mdr-api.md`, "Token
/// exchange" check 5).
pub const MAX_TOKEN_LEN: usize = 4096;

/// A bearer or refresh token string. `Debug` prints `Token(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token string, trimming surrounding whitespace (a pasted token often ends in a
    /// newline). Refuses empty, over-long or non-printable input.
    pub fn new(raw: impl Into<String>) -> Result<Self> {
        let raw: String = raw.into();
        let t = raw.trim();
        if t.is_empty() {
            return Err(ClientError::Token("empty".into()));
        }
        if t.len() > MAX_TOKEN_LEN {
            return Err(ClientError::Token(format!(
                "longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ClientError::Token(
                "contains spaces or non-ASCII characters".into(),
            ));
        }
        Ok(Self(t.to_owned()))
    }

    /// The token string, for an `Authorization` header, a request body or the store.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Decodes the payload's claims (no signature check).
    pub fn claims(&self) -> Result<Claims> {
        Claims::decode(&self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The claims the client reads from a token payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Token id; only its prefix is ever shown ([`Claims::jti_prefix`]).
    pub jti: String,
}

/// How many characters of a `jti` status output shows.
pub const JTI_PREFIX_LEN: usize = 8;

impl Claims {
    /// Decodes the payload segment of a compact JWS (`header.payload.signature`, base64url).
    /// Errors never quote the token.
    pub fn decode(jwt: &str) -> Result<Self> {
        let mut parts = jwt.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ClientError::Token(
                "not three dot-separated segments".into(),
            ));
        };
        // Tolerate padding although JWS forbids it: it costs nothing and some tools add it.
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| ClientError::Token("payload is not base64url".into()))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Token(format!(
                "payload lacks integer exp/iat or string jti ({})",
                e.classify_name()
            ))
        })
    }

    /// The first [`JTI_PREFIX_LEN`] characters of the `jti`, for display.
    pub fn jti_prefix(&self) -> &str {
        match self.jti.char_indices().nth(JTI_PREFIX_LEN) {
            Some((i, _)) => self.jti.get(..i).unwrap_or(&self.jti),
            None => &self.jti,
        }
    }

    /// Seconds left until `exp` at `now` (negative once expired).
    pub fn remaining(&self, now: i64) -> i64 {
        self.exp.saturating_sub(now)
    }
}

/// Names a serde_json error category without echoing input.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "wrong claim types",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds an unsigned test JWT with the given payload JSON.
    pub(crate) fn jwt(payload: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"at+jwt","kid":"k"}"#);
        let p = URL_SAFE_NO_PAD.encode(payload.as_bytes());
        format!("{h}.{p}.c2lnbmF0dXJl")
    }

    /// A test token expiring at `exp`.
    pub(crate) fn token_exp(exp: i64, jti: &str) -> Token {
        Token::new(jwt(&format!(
            r#"{{"iss":"urn:portcullis:mdr","exp":{exp},"iat":{},"jti":"{jti}"}}"#,
            exp - 3600
        )))
        .unwrap()
    }

    #[test]
    fn decodes_exp_iat_and_jti_from_the_payload() {
        let t = jwt(
            r#"{"sub":"abc","exp":1700003600,"iat":1700000000,"jti":"AbCdEfGh_ij-KLmnopqrst"}"#,
        );
        let c = Claims::decode(&t).unwrap();
        assert_eq!(c.exp, 1_700_003_600);
        assert_eq!(c.iat, 1_700_000_000);
        assert_eq!(c.jti_prefix(), "AbCdEfGh");
        assert_eq!(c.remaining(1_700_003_000), 600);
    }

    #[test]
    fn accepts_padded_payloads() {
        let p =
            base64::engine::general_purpose::URL_SAFE.encode(br#"{"exp":10,"iat":1,"jti":"x"}"#);
        let c = Claims::decode(&format!("a.{p}.b")).unwrap();
        assert_eq!(c.exp, 10);
        assert_eq!(c.jti_prefix(), "x");
    }

    #[test]
    fn rejects_malformed_tokens_without_quoting_them() {
        for bad in [
            "onlyone",
            "two.parts",
            "a.b.c.d",
            "a.!!!.c",
            &jwt("not json"),
            &jwt(r#"{"exp":"soon","iat":1,"jti":"x"}"#),
            &jwt(r#"{"exp":1.5,"iat":1,"jti":"x"}"#),
            &jwt(r#"{"iat":1,"jti":"x"}"#),
        ] {
            let e = Claims::decode(bad).unwrap_err().to_string();
            assert!(e.starts_with("token is not a readable JWT"), "{e}");
            assert!(
                bad.len() < 6 || !e.contains(bad),
                "error quotes the token: {e}"
            );
        }
    }

    #[test]
    fn token_debug_is_redacted_and_input_is_trimmed() {
        let t = Token::new("  abc.def.ghi\n").unwrap();
        assert_eq!(t.expose(), "abc.def.ghi");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(Token::new(" \n").is_err());
        assert!(Token::new("a b").is_err());
        assert!(Token::new("x".repeat(MAX_TOKEN_LEN + 1)).is_err());
    }
}
