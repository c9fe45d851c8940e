//! The CSRF check of `docs/awx-compat.md`, "CSRF", in AWX's order and with AWX's reason texts:
//! Origin, then (HTTPS only) Referer, then the double-submit token whose cookie carries the
//! server's MAC (bound to the session after login).

use crate::extract::client_ip::RequestOrigin;
use crate::state::AppState;
use axum::http::HeaderMap;
use portcullis_core::csrf::{TOKEN_LEN, tokens_equal};
use portcullis_core::token::TokenHash;

/// Where the presented token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `X-CSRFToken` header.
    Header,
    /// The `csrfmiddlewaretoken` form field.
    Form,
}

/// True when `origin` equals the public origin or matches a trusted entry (exactly, or a
/// `scheme://*.example.com` pattern).
pub fn origin_trusted(origin: &str, public: &str, trusted: &[String]) -> bool {
    if origin == public {
        return true;
    }
    trusted.iter().any(|t| {
        if t == origin {
            return true;
        }
        let Some((scheme, rest)) = t.split_once("://*.") else {
            return false;
        };
        origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://"))
            .is_some_and(|host| host.ends_with(&format!(".{rest}")) && !host.contains('/'))
    })
}

/// Check 1 alone (used for Basic requests with an unsafe method).
pub fn check_origin(
    state: &AppState,
    headers: &HeaderMap,
    req: &RequestOrigin,
) -> Result<(), String> {
    let Some(origin) = headers
        .get("origin")
        .map(|v| v.to_str().unwrap_or("<invalid>"))
    else {
        return Ok(());
    };
    let trusted = state.settings.get().auth.csrf_trusted_origins.clone();
    if origin_trusted(origin, &req.public_origin, &trusted) {
        Ok(())
    } else {
        Err(format!(
            "Origin checking failed - {origin} does not match any trusted origins."
        ))
    }
}

fn check_referer(state: &AppState, headers: &HeaderMap, req: &RequestOrigin) -> Result<(), String> {
    let Some(referer) = headers.get("referer") else {
        return Err("Referer checking failed - no Referer.".into());
    };
    let Ok(parsed) = referer.to_str().map(url::Url::parse) else {
        return Err("Referer checking failed - Referer is malformed.".into());
    };
    let Ok(url) = parsed else {
        return Err("Referer checking failed - Referer is malformed.".into());
    };
    if url.host_str().is_none() {
        return Err("Referer checking failed - Referer is malformed.".into());
    }
    if url.scheme() != "https" {
        return Err("Referer checking failed - Referer is insecure while host is secure.".into());
    }
    let origin = url.origin().ascii_serialization();
    let trusted = state.settings.get().auth.csrf_trusted_origins.clone();
    if origin_trusted(&origin, &req.public_origin, &trusted) {
        Ok(())
    } else {
        Err(format!(
            "Referer checking failed - {} does not match any trusted origins.",
            url.as_str()
        ))
    }
}

/// The full check for a session-authenticated unsafe request or a form POST. `binding` is
/// the session the token must be bound to (`None` before login); `form_token` is the
/// `csrfmiddlewaretoken` field when the body is a form.
pub fn check(
    state: &AppState,
    headers: &HeaderMap,
    req: &RequestOrigin,
    binding: Option<&TokenHash>,
    form_token: Option<&str>,
) -> Result<(), String> {
    check_origin(state, headers, req)?;
    if headers.get("origin").is_none() && req.https {
        check_referer(state, headers, req)?;
    }
    let cookies = crate::auth::cookies::values(headers, crate::auth::cookies::CSRF_COOKIE);
    let cookie = match cookies.as_slice() {
        [one] if state.csrf.is_valid(one, binding) => *one,
        _ => return Err("CSRF cookie not set.".into()),
    };
    let (presented, source) = match headers.get("x-csrftoken") {
        Some(v) => (v.to_str().unwrap_or(""), TokenSource::Header),
        None => match form_token {
            Some(f) => (f, TokenSource::Form),
            None => return Err("CSRF token missing.".into()),
        },
    };
    let label = match source {
        TokenSource::Header => "CSRF token from the 'X-Csrftoken' HTTP header",
        TokenSource::Form => "CSRF token from POST",
    };
    if presented.is_empty() {
        return Err("CSRF token missing.".into());
    }
    if presented.len() != TOKEN_LEN {
        return Err(format!("{label} has incorrect length."));
    }
    if !tokens_equal(cookie, presented) {
        return Err(format!("{label} incorrect."));
    }
    Ok(())
}

/// Checks a login form's CSRF: the token may be unbound (from the login page of a browser
/// without a session) or bound to a session the browser still carries. Shared by the API's
/// `/api/login/` and the console's login.
pub fn check_login_form(
    state: &AppState,
    parts: &axum::http::request::Parts,
    form_token: Option<&str>,
) -> Result<(), String> {
    let origin = crate::extract::client_ip::request_origin(state, parts);
    let first = check(state, &parts.headers, &origin, None, form_token);
    match (
        first,
        crate::auth::session::cookie_hash(state, &parts.headers),
    ) {
        (Err(_), Some(bound)) => check(state, &parts.headers, &origin, Some(&bound), form_token),
        (r, _) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_origin_patterns() {
        let t = vec![
            "https://evil.example".to_owned(),
            "https://*.corp.example".to_owned(),
        ];
        assert!(origin_trusted(
            "http://127.0.0.1:8052",
            "http://127.0.0.1:8052",
            &[]
        ));
        assert!(origin_trusted("https://evil.example", "http://x", &t));
        assert!(origin_trusted("https://a.corp.example", "http://x", &t));
        assert!(!origin_trusted("http://a.corp.example", "http://x", &t));
        assert!(!origin_trusted("https://corp.example", "http://x", &t));
        assert!(!origin_trusted("https://evil.example.com", "http://x", &t));
    }
}
