//! LDAP directories (`docs/ldap.md`): the `ldap` settings category and logins of directory
//! users against a real OpenLDAP `slapd` started per test (`portcullis_server::testing::slapd`).

mod console;
mod harness;
mod login;
mod settings;

use crate::harness::{Builder, TestApp};
use portcullis_server::testing::slapd::{BASE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};
use serde_json::{Value, json};

/// A group's DN in the fixture.
pub fn group(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE_DN}")
}

/// A person's DN in the fixture.
pub fn person(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE_DN}")
}

/// Settings for the fixture directory at `uri`: user search, attribute map, groupOfNames
/// groups, superusers from `portcullis-admins`, auditors from `auditors`.
pub fn directory_settings(uri: &str) -> Value {
    json!({
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": SERVICE_DN,
        "AUTH_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 5},
        "AUTH_LDAP_USER_SEARCH": [format!("ou=people,{BASE_DN}"), "SCOPE_SUBTREE", "(uid=%(user)s)"],
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_GROUP_SEARCH": [format!("ou=groups,{BASE_DN}"), "SCOPE_SUBTREE", "(objectClass=groupOfNames)"],
        "AUTH_LDAP_GROUP_TYPE": "GroupOfNamesType",
        "AUTH_LDAP_GROUP_TYPE_PARAMS": {"member_attr": "member", "name_attr": "cn"},
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": {
            "is_superuser": [group("portcullis-admins")],
            "is_system_auditor": [group("auditors")],
        },
    })
}

/// A started directory and an app trusting its test CA, with `admin` (default password) and
/// the directory settings applied. `None` when slapd or PostgreSQL is not available (each
/// reports its own skip).
pub async fn directory_app(builder: Builder) -> Option<(Slapd, TestApp)> {
    let slapd = Slapd::start().await?;
    let ca = slapd.ca_file().to_owned();
    let app = builder
        .config(|c| c.ldap.ca_file = Some(ca))
        .build()
        .await?;
    app.admin().await;
    app.set(directory_settings(&slapd.url())).await;
    Some((slapd, app))
}
