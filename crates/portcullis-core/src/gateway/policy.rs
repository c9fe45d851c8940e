//! The per-route decision (`docs/gateway.md`, "Policy"): after the credential is verified, may
//! this caller use this route with this method? One function, used by both gateway modes and
//! by `portcullis gateway explain`.

use super::route::{CredentialKind, Route};
use crate::mdr::Role;
use crate::principal::{AuthVia, Principal};

/// Why an authenticated caller is refused (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// The token's scope does not allow the method, or a required scope is missing.
    Scope,
    /// None of the required roles.
    Role,
    /// Not one of the allowed users.
    User,
}

impl Deny {
    /// Metric label and explanation.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Scope => "scope",
            Self::Role => "role",
            Self::User => "user",
        }
    }
}

/// The credential kind a principal authenticated with.
pub fn kind_of(p: &Principal) -> CredentialKind {
    match p.via {
        AuthVia::Session => CredentialKind::Session,
        AuthVia::Basic => CredentialKind::Basic,
        AuthVia::MdrAccess => CredentialKind::Mdr,
        _ => CredentialKind::Bearer,
    }
}

/// The roles a principal holds: `admin` (superuser), `auditor` (system auditor), `user` (any
/// user account), and for an MDR connection `mdr` plus `mdr:administrator`,
/// `mdr:senior-security-officer` or `mdr:security-officer`.
pub fn roles_of(p: &Principal) -> Vec<String> {
    if let Some(c) = &p.connection {
        let role = match c.role {
            Role::MdrAdministrator => "mdr:administrator",
            Role::SeniorSecurityOfficer => "mdr:senior-security-officer",
            Role::SecurityOfficer => "mdr:security-officer",
        };
        return vec!["mdr".to_owned(), role.to_owned()];
    }
    let mut roles = Vec::with_capacity(3);
    if p.user.is_superuser {
        roles.push("admin".to_owned());
    }
    if p.user.is_system_auditor {
        roles.push("auditor".to_owned());
    }
    roles.push("user".to_owned());
    roles
}

/// `read` or `read write`, as the upstream is told.
pub fn scopes_of(p: &Principal) -> &'static str {
    if p.scope.allows_write() {
        "read write"
    } else {
        "read"
    }
}

/// The decision for an authenticated caller on `route` with `method`: the AWX method rule
/// (GET/HEAD/OPTIONS need `read`, others `write`), then the route's scopes, roles and users.
pub fn authorize(route: &Route, method: &str, p: &Principal) -> Result<(), Deny> {
    if !p.scope.allows_method(method) {
        return Err(Deny::Scope);
    }
    if route
        .scopes
        .iter()
        .any(|s| s == "write" && !p.scope.allows_write())
    {
        return Err(Deny::Scope);
    }
    if !route.roles.is_empty() {
        let held = roles_of(p);
        if !route.roles.iter().any(|r| held.contains(r)) {
            return Err(Deny::Role);
        }
    }
    if !route.users.is_empty() && !route.users.contains(&p.user.username) {
        return Err(Deny::User);
    }
    Ok(())
}
