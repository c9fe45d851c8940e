//! Identity headers (`docs/gateway.md`, "Identity headers"): the names Portcullis sets for the
//! upstream, and the rule that strips every client-sent header that could be mistaken for one.
//!
//! Names are compared after lower-casing and mapping `_` and `.` to `-`, because WSGI, PHP and
//! several frameworks fold `X_Portcullis_User` and `X.Portcullis.User` into the same variable as
//! `X-Portcullis-User`. Every preset's names are stripped whichever preset a route uses.

use serde::{Deserialize, Serialize};

/// An extra, opt-in set of identity headers beside `X-Portcullis-*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Only `X-Portcullis-*`.
    #[default]
    None,
    /// oauth2-proxy's `X-Auth-Request-User`, `-Email`, `-Groups`, `-Preferred-Username`.
    XAuthRequest,
    /// Authelia's `Remote-User`, `-Email`, `-Groups`, `-Name`.
    Remote,
    /// `X-Forwarded-User`, `X-Forwarded-Email`, `X-Forwarded-Groups`.
    XForwardedUser,
}

/// Prefixes (normalised) of header namespaces that are identity headers.
const PREFIXES: [&str; 3] = ["x-portcullis-", "x-auth-request-", "remote-"];
/// Single identity header names (normalised) outside those namespaces.
const NAMES: [&str; 4] = [
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-preferred-username",
];

/// Lower-cases `name` and maps `_` and `.` to `-`.
pub fn normalize_name(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'_' | b'.' => '-',
            b => char::from(b.to_ascii_lowercase()),
        })
        .collect()
}

/// One byte of a name as [`normalize_name`] maps it.
fn fold(b: u8) -> u8 {
    match b {
        b'_' | b'.' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

/// True when `name`, normalised, starts with the normalised `prefix` (no allocation: this
/// runs for every header of every proxied request).
fn folded_starts_with(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && name.bytes().zip(prefix.bytes()).all(|(a, b)| fold(a) == b)
}

/// True when a header of this name must never reach the upstream from the client.
pub fn is_identity_header(name: &str) -> bool {
    PREFIXES.iter().any(|p| folded_starts_with(name, p))
        || NAMES
            .iter()
            .any(|n| n.len() == name.len() && folded_starts_with(name, n))
}

/// True when the name holds a character other proxies or frameworks alias to `-`.
pub fn has_alias_chars(name: &str) -> bool {
    name.bytes().any(|b| b == b'_' || b == b'.')
}

/// Who the gateway decided the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Username (for an MDR connection: its name).
    pub user: String,
    /// User id (for an MDR connection: its connection id).
    pub user_id: String,
    /// E-mail, when known.
    pub email: String,
    /// `read` or `read write`.
    pub scopes: String,
    /// Roles (`docs/gateway.md`, "Roles").
    pub roles: Vec<String>,
    /// `session`, `basic`, `bearer` or `mdr`.
    pub method: &'static str,
}

/// The identity headers for `preset`, `X-Portcullis-*` first.
pub fn identity_headers(id: &Identity, preset: Preset) -> Vec<(&'static str, String)> {
    let roles = id.roles.join(",");
    let mut out = vec![
        ("x-portcullis-user", id.user.clone()),
        ("x-portcullis-user-id", id.user_id.clone()),
        ("x-portcullis-scopes", id.scopes.clone()),
        ("x-portcullis-roles", roles.clone()),
        ("x-portcullis-auth-method", id.method.to_owned()),
    ];
    let email = (!id.email.is_empty()).then(|| id.email.clone());
    let (user, mail, groups, extra) = match preset {
        Preset::None => return out,
        Preset::XAuthRequest => (
            "x-auth-request-user",
            "x-auth-request-email",
            "x-auth-request-groups",
            Some("x-auth-request-preferred-username"),
        ),
        Preset::Remote => (
            "remote-user",
            "remote-email",
            "remote-groups",
            Some("remote-name"),
        ),
        Preset::XForwardedUser => (
            "x-forwarded-user",
            "x-forwarded-email",
            "x-forwarded-groups",
            None,
        ),
    };
    out.push((user, id.user.clone()));
    if let Some(e) = email {
        out.push((mail, e));
    }
    out.push((groups, roles));
    if let Some(x) = extra {
        out.push((x, id.user.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_identity_headers() {
        for n in [
            "X-Portcullis-User",
            "x_portcullis_user",
            "X.Portcullis.User",
            "X-PORTCULLIS-ROLES",
            "x-portcullis-anything-new",
            "X-Auth-Request-User",
            "Remote-User",
            "remote_groups",
            "X-Forwarded-User",
            "X_Forwarded_Email",
        ] {
            assert!(is_identity_header(n), "{n}");
        }
        for n in [
            "x-forwarded-for",
            "authorization",
            "x-request-id",
            "remoteuser",
        ] {
            assert!(!is_identity_header(n), "{n}");
        }
        assert!(has_alias_chars("X_A") && has_alias_chars("X.A") && !has_alias_chars("X-A"));
    }

    #[test]
    fn presets() {
        let id = Identity {
            user: "alice".into(),
            user_id: "7".into(),
            email: String::new(),
            scopes: "read".into(),
            roles: vec!["user".into()],
            method: "bearer",
        };
        assert_eq!(identity_headers(&id, Preset::None).len(), 5);
        let h = identity_headers(&id, Preset::Remote);
        assert!(h.contains(&("remote-user", "alice".into())));
        assert!(!h.iter().any(|(n, _)| *n == "remote-email"));
        for (n, _) in identity_headers(&id, Preset::XAuthRequest) {
            assert!(is_identity_header(n), "{n}");
        }
    }
}
