//! The one canonicaliser of request targets and hosts (`docs/gateway.md`, "Canonical paths").
//! Route matching, the policy decision, the signed assertion's `htu` and the path forwarded
//! upstream all use its output, so no two parts of the gateway can read one request two ways
//! (the split-view class of path-normalisation bypasses).
//!
//! What it refuses rather than guesses at: a raw `#`, `\` or `;` anywhere in the path, encoded
//! `/`, `\`, NUL, `;` and `.` (`%2F %5C %00 %3B %2E`, any case), encoded control characters,
//! malformed percent triplets, and anything but an origin-form target. Unreserved characters
//! that were percent-encoded (`%41` → `A`) are decoded, other triplets are kept with upper-case
//! hex, `.` segments and empty segments are dropped and `..` removes the previous segment (never
//! above the root). The query is kept as sent and never matched.

use std::fmt;

/// Why a request target was refused (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// A raw `#`: fragments are never sent by a client that means well.
    Fragment,
    /// Not an origin-form target (`/…`).
    NotOriginForm,
    /// A raw backslash in the path.
    Backslash,
    /// A raw `;` in the path (path parameters, `..;x=y`).
    Semicolon,
    /// A control character, space or non-ASCII byte in the target.
    Control,
    /// A `%` not followed by two hex digits.
    BadEncoding,
    /// `%2F`, `%5C`, `%00`, `%3B`, `%2E` or an encoded control character.
    AmbiguousEncoding,
}

impl PathError {
    /// Short reason, used in the 400 body and as a metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Fragment => "fragment in request target",
            Self::NotOriginForm => "request target is not a path",
            Self::Backslash => "backslash in path",
            Self::Semicolon => "semicolon in path",
            Self::Control => "control character in request target",
            Self::BadEncoding => "malformed percent-encoding",
            Self::AmbiguousEncoding => "ambiguous percent-encoding in path",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// A canonical request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The canonical path: starts with `/`, no empty, `.` or `..` segments.
    pub path: String,
    /// The query as sent (without `?`), if any.
    pub query: Option<String>,
}

impl Target {
    /// Path and query as they are forwarded.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Canonicalises an origin-form request target (`/path?query`).
pub fn canonical_target(raw: &str) -> Result<Target, PathError> {
    if raw.contains('#') {
        return Err(PathError::Fragment);
    }
    if raw.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(PathError::Control);
    }
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (raw, None),
    };
    Ok(Target {
        path: canonical_path(path)?,
        query,
    })
}

/// Canonicalises a path (no query).
pub fn canonical_path(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    if path.contains('\\') {
        return Err(PathError::Backslash);
    }
    if path.contains(';') {
        return Err(PathError::Semicolon);
    }
    if path.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(PathError::Control);
    }
    let decoded = decode_unreserved(path)?;
    let mut segments: Vec<&str> = Vec::new();
    let raw_segments: Vec<&str> = decoded.split('/').collect();
    for seg in &raw_segments {
        match *seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    // A directory stays a directory: `/a/`, `/a/.` and `/a/b/..` all end in `/`.
    let trailing = matches!(raw_segments.last(), Some(&("" | "." | "..")));
    if out.is_empty() || trailing {
        out.push('/');
    }
    Ok(out)
}

/// Decodes percent-encoded unreserved characters and refuses the ambiguous ones.
fn decode_unreserved(path: &str) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let (Some(h), Some(l)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(PathError::BadEncoding);
        };
        let v = h * 16 + l;
        match v {
            b'/' | b'\\' | b';' | b'.' | 0x00..=0x1f | 0x7f => {
                return Err(PathError::AmbiguousEncoding);
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => {
                out.push(char::from(v));
            }
            _ => out.push_str(&format!("%{v:02X}")),
        }
        i += 3;
    }
    Ok(out)
}

/// Why a host was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError;

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed host")
    }
}

/// Lower-cases a `Host` value, drops a trailing dot and the default ports 80 and 443. Only
/// the characters of DNS names, IPv4 and bracketed IPv6 literals are accepted.
pub fn canonical_host(raw: &str) -> Result<String, HostError> {
    let lower = raw.trim().to_ascii_lowercase();
    if lower.is_empty() || lower.len() > 255 {
        return Err(HostError);
    }
    let (name, port) = if let Some(rest) = lower.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(HostError)?;
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(HostError);
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(HostError)?),
        };
        (format!("[{inside}]"), port)
    } else {
        let (n, p) = match lower.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (lower.as_str(), None),
        };
        let n = n.strip_suffix('.').unwrap_or(n);
        if n.is_empty()
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(HostError);
        }
        (n.to_owned(), p)
    };
    match port {
        None | Some("80" | "443") => Ok(name),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(format!("{name}:{p}"))
        }
        Some(_) => Err(HostError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(raw: &str) -> Result<String, PathError> {
        canonical_target(raw).map(|t| t.path)
    }

    #[test]
    fn dot_segments_and_slashes() {
        assert_eq!(path("/public/../admin/x"), Ok("/admin/x".into()));
        assert_eq!(path("//admin/x"), Ok("/admin/x".into()));
        assert_eq!(path("/./admin/x"), Ok("/admin/x".into()));
        assert_eq!(path("/public/./../admin"), Ok("/admin".into()));
        assert_eq!(path("/../../x"), Ok("/x".into()));
        assert_eq!(path("/a/b/.."), Ok("/a/".into()));
        assert_eq!(path("/"), Ok("/".into()));
        assert_eq!(path("/a/"), Ok("/a/".into()));
        assert_eq!(path("/.."), Ok("/".into()));
    }

    #[test]
    fn ambiguous_encodings_are_refused() {
        for raw in [
            "/public%2F..%2Fadmin/x",
            "/admin%2fx",
            "/public/%5C../admin",
            "/public/%2e%2e/admin/x",
            "/public/%2E%2E/admin/x",
            "/public/.%2e/admin/x",
            "/a%00b",
            "/a%3Bb",
            "/a%0d%0a",
        ] {
            assert_eq!(path(raw), Err(PathError::AmbiguousEncoding), "{raw}");
        }
        assert_eq!(path("/a%zz"), Err(PathError::BadEncoding));
        assert_eq!(path("/a%4"), Err(PathError::BadEncoding));
    }

    #[test]
    fn raw_refusals() {
        assert_eq!(path("/admin/x#/public/"), Err(PathError::Fragment));
        assert_eq!(path("/public/..;x=y/admin/x"), Err(PathError::Semicolon));
        assert_eq!(path("/admin;x/y"), Err(PathError::Semicolon));
        assert_eq!(path("/a\\b"), Err(PathError::Backslash));
        assert_eq!(path("/a b"), Err(PathError::Control));
        assert_eq!(path("/a\tb"), Err(PathError::Control));
        assert_eq!(path("http://x/a"), Err(PathError::NotOriginForm));
        assert_eq!(path("*"), Err(PathError::NotOriginForm));
    }

    #[test]
    fn unreserved_are_decoded_others_kept_upper() {
        assert_eq!(path("/adm%69n/x"), Ok("/admin/x".into()));
        assert_eq!(path("/a%7e%2d"), Ok("/a~-".into()));
        assert_eq!(path("/caf%c3%a9"), Ok("/caf%C3%A9".into()));
        assert_eq!(path("/a%252F"), Ok("/a%252F".into()));
    }

    #[test]
    fn query_is_kept_apart() {
        let t = canonical_target("/admin/x?next=/public/").unwrap();
        assert_eq!(t.path, "/admin/x");
        assert_eq!(t.query.as_deref(), Some("next=/public/"));
        assert_eq!(t.path_and_query(), "/admin/x?next=/public/");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            canonical_host("API.EXAMPLE.COM:443"),
            Ok("api.example.com".into())
        );
        assert_eq!(
            canonical_host("api.example.com:80"),
            Ok("api.example.com".into())
        );
        assert_eq!(
            canonical_host("api.example.com."),
            Ok("api.example.com".into())
        );
        assert_eq!(
            canonical_host("127.0.0.1:8080"),
            Ok("127.0.0.1:8080".into())
        );
        assert_eq!(canonical_host("[::1]:443"), Ok("[::1]".into()));
        assert_eq!(canonical_host("[::1]:9"), Ok("[::1]:9".into()));
        assert!(canonical_host("a b").is_err());
        assert!(canonical_host("a@b").is_err());
        assert!(canonical_host("a:x").is_err());
        assert!(canonical_host("").is_err());
    }

    proptest! {
        /// Canonical paths are fixed points and never hold a dot segment or `//`.
        #[test]
        fn canonical_is_idempotent(raw in "/[a-zA-Z0-9%./_~-]{0,40}") {
            if let Ok(p) = canonical_path(&raw) {
                prop_assert_eq!(canonical_path(&p), Ok(p.clone()));
                prop_assert!(!p.contains("//"));
                prop_assert!(!p.split('/').any(|s| s == "." || s == ".."));
                prop_assert!(p.starts_with('/'));
            }
        }
    }
}
