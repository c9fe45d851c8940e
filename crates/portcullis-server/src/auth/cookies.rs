//! Reading the `Cookie` header and rendering every `Set-Cookie` Portcullis sends, in one
//! place, in AWX's exact attribute order (clients and tests compare them textually).

use axum::http::{HeaderMap, header};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Name of the CSRF cookie.
pub const CSRF_COOKIE: &str = "csrftoken";
/// Name of the UI hint cookie.
pub const LOGGED_IN_COOKIE: &str = "userLoggedIn";

/// All values of cookie `name` across every `Cookie` header of the request.
pub fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
        .collect()
}

/// The single value of cookie `name`; `None` when absent or sent more than once.
pub fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    match values(headers, name).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn secure(on: bool) -> &'static str {
    if on { "; Secure" } else { "" }
}

/// IMF-fixdate (`Tue, 14 May 2024 09:42:44 GMT`), the `expires` format browsers expect.
pub fn imf_fixdate(t: OffsetDateTime) -> String {
    // RFC 2822 gives "Tue, 14 May 2024 09:42:44 +0000"; HTTP wants "GMT".
    t.format(&Rfc2822)
        .map(|s| s.replace(" +0000", " GMT"))
        .unwrap_or_default()
}

/// `csrftoken=<64>; Path=/; SameSite=Lax[; Secure]` (no expiry).
pub fn csrf(value: &str, secure_flag: bool) -> String {
    format!(
        "{CSRF_COOKIE}={value}; Path=/; SameSite=Lax{}",
        secure(secure_flag)
    )
}

/// The session cookie with idle `Max-Age` and matching `expires`.
pub fn session(
    name: &str,
    value: &str,
    max_age: i64,
    now: OffsetDateTime,
    secure_flag: bool,
) -> String {
    let expires = imf_fixdate(now + time::Duration::seconds(max_age));
    format!(
        "{name}={value}; expires={expires}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax{}",
        secure(secure_flag)
    )
}

/// Deletion of the session cookie.
pub fn session_deleted(name: &str) -> String {
    format!("{name}=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax")
}

/// `userLoggedIn=true|false`.
pub fn logged_in(on: bool, secure_flag: bool) -> String {
    format!(
        "{LOGGED_IN_COOKIE}={on}; Path=/; SameSite=Lax{}",
        secure(secure_flag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use time::macros::datetime;

    #[test]
    fn parses_several_headers_and_duplicates() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; csrftoken=x"));
        h.append(header::COOKIE, HeaderValue::from_static("csrftoken=y"));
        assert_eq!(values(&h, "csrftoken"), vec!["x", "y"]);
        assert_eq!(single(&h, "csrftoken"), None);
        assert_eq!(single(&h, "a"), Some("1"));
    }

    #[test]
    fn renders_awx_shapes() {
        let t = datetime!(2024-05-14 09:12:44 UTC);
        assert_eq!(
            session("awx_sessionid", "v", 1800, t, true),
            "awx_sessionid=v; expires=Tue, 14 May 2024 09:42:44 GMT; HttpOnly; Max-Age=1800; Path=/; SameSite=Lax; Secure"
        );
        assert_eq!(csrf("t", false), "csrftoken=t; Path=/; SameSite=Lax");
        assert_eq!(
            session_deleted("awx_sessionid"),
            "awx_sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
        );
    }
}
