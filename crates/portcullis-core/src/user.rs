//! The user record as the rules see it.

use crate::ids::UserId;
use std::fmt;
use time::OffsetDateTime;

/// A Portcullis user (local or from an external directory).
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Numeric id.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// E-mail address, may be empty.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Argon2id PHC string or legacy Django hash; `None` for external users.
    pub password_hash: Option<String>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// System auditor flag (reads everything).
    pub is_system_auditor: bool,
    /// Disabled users cannot authenticate.
    pub is_active: bool,
    /// `None` for local users, else `"ldap"`, `"enterprise"` or `"social"`.
    pub external_account: Option<String>,
    /// Directory DN for LDAP users, empty otherwise.
    pub ldap_dn: String,
    /// Bumped by every password change, disable or source change; invalidates sessions'
    /// CSRF binding and the Basic credential cache.
    pub auth_generation: i64,
    /// Date joined.
    pub created_at: OffsetDateTime,
    /// Last successful interactive login.
    pub last_login: Option<OffsetDateTime>,
}

impl fmt::Debug for User {
    // Hand-written so the password hash never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_superuser", &self.is_superuser)
            .field("is_active", &self.is_active)
            .field("external_account", &self.external_account)
            .finish_non_exhaustive()
    }
}

impl User {
    /// True for users managed by an external directory.
    pub fn is_external(&self) -> bool {
        self.external_account.is_some()
    }

    /// True when the user may read every object (superuser or system auditor).
    pub fn can_read_all(&self) -> bool {
        self.is_superuser || self.is_system_auditor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_hash() {
        let u = User {
            id: UserId(1),
            username: "a".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: Some("$argon2id$secret".into()),
            is_superuser: false,
            is_system_auditor: false,
            is_active: true,
            external_account: None,
            ldap_dn: String::new(),
            auth_generation: 0,
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_login: None,
        };
        assert!(!format!("{u:?}").contains("argon2id"));
    }
}
