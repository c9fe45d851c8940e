//! Parsing of `Authorization` header values (RFC 7617 Basic, RFC 6750 Bearer).
//!
//! Policy: the scheme is case-insensitive; Basic credentials must be padded standard base64
//! decoding to at most 1 200 bytes of UTF-8, split at the first `:`, with a non-empty username
//! free of control characters; a Bearer value must be exactly one b64token of at most 4 096
//! bytes. Anything else is "malformed", which callers treat as a failed credential.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;

/// Largest decoded Basic credential, in bytes.
pub const MAX_BASIC_DECODED: usize = 1200;
/// Largest Bearer credential, in bytes.
pub const MAX_BEARER: usize = 4096;

/// A parsed `Authorization` header.
#[derive(Debug)]
pub enum Authorization {
    /// `Basic` with well-formed credentials.
    Basic {
        /// The username as sent.
        username: String,
        /// The password as sent (not trimmed or normalised).
        password: SecretString,
    },
    /// `Bearer` with exactly one token.
    Bearer(SecretString),
    /// A known scheme with a malformed value.
    Malformed(Scheme),
    /// A scheme Portcullis does not recognise: counts as no credentials.
    Unknown,
}

/// The schemes Portcullis recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 7617.
    Basic,
    /// RFC 6750.
    Bearer,
}

/// Parses the raw bytes of one `Authorization` header.
pub fn parse_authorization(raw: &[u8]) -> Authorization {
    let Ok(text) = std::str::from_utf8(raw) else {
        // Non-UTF-8 bytes: we cannot even tell the scheme apart reliably; treat as a malformed
        // credential of whichever scheme the ASCII prefix names.
        return match scheme_of(raw) {
            Some(s) => Authorization::Malformed(s),
            None => Authorization::Unknown,
        };
    };
    let (scheme, rest) = match text.split_once(' ') {
        Some((s, r)) => (s, r),
        None => (text, ""),
    };
    if scheme.eq_ignore_ascii_case("basic") {
        parse_basic(rest.trim_start_matches(' '))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        parse_bearer(rest.trim_start_matches(' '))
    } else {
        Authorization::Unknown
    }
}

fn scheme_of(raw: &[u8]) -> Option<Scheme> {
    let head: Vec<u8> = raw.iter().take(7).map(u8::to_ascii_lowercase).collect();
    if head.starts_with(b"basic ") {
        Some(Scheme::Basic)
    } else if head.starts_with(b"bearer ") {
        Some(Scheme::Bearer)
    } else {
        None
    }
}

fn parse_basic(value: &str) -> Authorization {
    let malformed = Authorization::Malformed(Scheme::Basic);
    // 1 200 decoded bytes are at most 1 600 base64 characters.
    if value.is_empty() || value.len() > MAX_BASIC_DECODED.div_ceil(3) * 4 {
        return malformed;
    }
    let Ok(decoded) = STANDARD.decode(value) else {
        return malformed;
    };
    if decoded.len() > MAX_BASIC_DECODED {
        return malformed;
    }
    let Ok(text) = String::from_utf8(decoded) else {
        return malformed;
    };
    let Some((user, pass)) = text.split_once(':') else {
        return malformed;
    };
    if user.is_empty() || user.chars().any(char::is_control) {
        return malformed;
    }
    Authorization::Basic {
        username: user.to_owned(),
        password: SecretString::from(pass.to_owned()),
    }
}

/// RFC 6750 §2.1 b64token: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fn parse_bearer(value: &str) -> Authorization {
    if value.len() > MAX_BEARER || !is_b64token(value) {
        return Authorization::Malformed(Scheme::Bearer);
    }
    Authorization::Bearer(SecretString::from(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    fn basic(u: &str, p: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{u}:{p}")))
    }

    #[test]
    fn basic_splits_at_first_colon_and_keeps_password_exact() {
        match parse_authorization(basic("admin", " pa:ss ").as_bytes()) {
            Authorization::Basic { username, password } => {
                assert_eq!(username, "admin");
                assert_eq!(password.expose_secret(), " pa:ss ");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert!(matches!(
            parse_authorization(b"bEaReR abc.def"),
            Authorization::Bearer(_)
        ));
        assert!(matches!(
            parse_authorization(
                basic("a", "b")
                    .to_lowercase()
                    .replacen("basic", "BASIC", 1)
                    .as_bytes()
            ),
            Authorization::Basic { .. } | Authorization::Malformed(Scheme::Basic)
        ));
    }

    #[test]
    fn malformed_values_are_reported_as_such() {
        for raw in [
            "Basic",
            "Basic !!!",
            "Basic YWRtaW4",  // unpadded
            "Basic YWRtaW4=", // no colon
            "Bearer",
            "Bearer a b",
        ] {
            assert!(
                matches!(
                    parse_authorization(raw.as_bytes()),
                    Authorization::Malformed(_)
                ),
                "{raw}"
            );
        }
        assert!(matches!(
            parse_authorization(format!("Bearer {}", "a".repeat(5000)).as_bytes()),
            Authorization::Malformed(Scheme::Bearer)
        ));
        assert!(matches!(
            parse_authorization(b"Basic \xff\xfe"),
            Authorization::Malformed(Scheme::Basic)
        ));
        assert!(matches!(
            parse_authorization(b"Digest x"),
            Authorization::Unknown
        ));
    }

    #[test]
    fn control_characters_in_username_are_refused() {
        assert!(matches!(
            parse_authorization(basic("ad\nmin", "x").as_bytes()),
            Authorization::Malformed(Scheme::Basic)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn basic_round_trips(u in "[^:\\p{Cc}]{1,40}", p in "\\PC{0,80}") {
            match parse_authorization(basic(&u, &p).as_bytes()) {
                Authorization::Basic { username, password } => {
                    prop_assert_eq!(username, u);
                    prop_assert_eq!(password.expose_secret(), p.as_str());
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse_authorization(&raw);
        }
    }
}
