//! Shared rendering of AWX objects: timestamps and the user object.

use portcullis_core::principal::Principal;
use portcullis_core::user::User;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// ISO-8601 UTC with microseconds and `Z` (`2024-05-14T09:12:44.118203Z`).
pub fn awx_time(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// AWX's user object (`docs/awx-compat.md`, "User object"), keys in AWX's order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserResponse {
    /// User id.
    pub id: i64,
    /// Always `user`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Relative URL of the user.
    pub url: String,
    /// Related resource URLs.
    #[schema(value_type = Object)]
    pub related: Value,
    /// Capabilities of the caller on this user.
    #[schema(value_type = Object)]
    pub summary_fields: Value,
    /// Date joined.
    pub created: String,
    /// Last login (date joined if never).
    pub modified: String,
    /// Login name.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail.
    pub email: String,
    /// Superuser flag.
    pub is_superuser: bool,
    /// System auditor flag.
    pub is_system_auditor: bool,
    /// `$encrypted$` for local users; absent for external users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<&'static str>,
    /// Directory DN (`""` for local users).
    pub ldap_dn: String,
    /// Last successful login.
    pub last_login: Option<String>,
    /// `null`, `ldap`, `enterprise` or `social`.
    pub external_account: Option<String>,
    /// Social links; always empty.
    #[schema(value_type = Vec<Object>)]
    pub auth: Vec<Value>,
}

impl UserResponse {
    /// Renders `u` as seen by `viewer`.
    pub fn new(u: &User, viewer: &Principal) -> Self {
        let id = u.id.0;
        let (edit, delete) = portcullis_core::authz::user_capabilities(viewer, u);
        Self {
            id,
            kind: "user",
            url: format!("/api/v2/users/{id}/"),
            related: json!({
                "tokens": format!("/api/v2/users/{id}/tokens/"),
                "authorized_tokens": format!("/api/v2/users/{id}/authorized_tokens/"),
                "personal_tokens": format!("/api/v2/users/{id}/personal_tokens/"),
                "activity_stream": format!("/api/v2/users/{id}/activity_stream/"),
            }),
            summary_fields: json!({"user_capabilities": {"edit": edit, "delete": delete}}),
            created: awx_time(u.created_at),
            modified: awx_time(u.last_login.unwrap_or(u.created_at)),
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            is_superuser: u.is_superuser,
            is_system_auditor: u.is_system_auditor,
            password: (!u.is_external()).then_some("$encrypted$"),
            ldap_dn: u.ldap_dn.clone(),
            last_login: u.last_login.map(awx_time),
            external_account: u.external_account.clone(),
            auth: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn microsecond_timestamps() {
        assert_eq!(
            awx_time(datetime!(2024-05-14 09:12:44.118 UTC)),
            "2024-05-14T09:12:44.118000Z"
        );
    }
}
