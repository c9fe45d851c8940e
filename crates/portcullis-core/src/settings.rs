//! Runtime authentication settings (AWX's settings API, `docs/awx-compat.md`, "Settings"): the
//! registry of keys with their categories, types, defaults and validation, and the typed snapshot
//! the request path reads.
//!
//! Policy: stored values override defaults; a write is validated as a whole before anything
//! is stored; read-only keys are ignored on write; secret values read back as `$encrypted$`
//! and writing `$encrypted$` keeps the stored value.

use crate::ldap;
use crate::policy::PasswordPolicy;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The placeholder AWX shows for secret settings and write-only fields.
pub const ENCRYPTED: &str = "$encrypted$";

/// Keys allowed inside `OAUTH2_PROVIDER`, with their defaults (seconds).
pub const OAUTH2_KEYS: [(&str, i64); 3] = [
    ("ACCESS_TOKEN_EXPIRE_SECONDS", 31_536_000),
    ("REFRESH_TOKEN_EXPIRE_SECONDS", 2_628_000),
    ("AUTHORIZATION_CODE_EXPIRE_SECONDS", 600),
];

/// A settings category (a slug under `/api/v2/settings/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// "Miscellaneous Authentication".
    Authentication,
    /// The auth-related subset of "System".
    System,
    /// LDAP directory keys.
    Ldap,
    /// "Generic OIDC": single sign-on through an OpenID Connect provider (`docs/sso.md`).
    Oidc,
}

impl Category {
    /// Every category, in the order the settings list shows them.
    pub const ALL: [Self; 4] = [Self::Authentication, Self::System, Self::Ldap, Self::Oidc];

    /// URL slug.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::System => "system",
            Self::Ldap => "ldap",
            Self::Oidc => "oidc",
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authentication => "Authentication",
            Self::System => "System",
            Self::Ldap => "LDAP",
            Self::Oidc => "Generic OIDC",
        }
    }

    /// The category with `slug`.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

/// The JSON type of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false`.
    Bool,
    /// Integer within bounds.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// String.
    Str,
    /// String that may not be `null` (AWX's `allow_null=False`).
    StrNoNull,
    /// An `http(s)://` URL, or the empty string.
    Url,
    /// `SOCIAL_AUTH_ORGANIZATION_MAP`.
    SocialOrganizationMap,
    /// `SOCIAL_AUTH_TEAM_MAP`.
    SocialTeamMap,
    /// List of strings.
    StrList,
    /// Object or `null`.
    ObjectOrNull,
    /// List or `null`.
    ListOrNull,
    /// The `OAUTH2_PROVIDER` object.
    OAuth2,
    /// Computed, never written.
    ReadOnlyList,
    /// `AUTH_LDAP_SERVER_URI`: `ldap://`/`ldaps://` URIs.
    LdapUri,
    /// A DN (`null` allowed when `null`).
    LdapDn {
        /// `null` is a value of its own (no group), not the empty string.
        null: bool,
    },
    /// `USER_DN_TEMPLATE`: a DN with `%(user)s`, or `null`.
    LdapDnTemplate,
    /// `[base, scope, filter]` (or, for the user search, a list of them).
    LdapSearch {
        /// The filter must hold `%(user)s`.
        user: bool,
    },
    /// `USER_ATTR_MAP`.
    LdapAttrMap,
    /// `GROUP_TYPE`.
    LdapGroupType,
    /// `GROUP_TYPE_PARAMS`.
    LdapGroupParams,
    /// `USER_FLAGS_BY_GROUP`.
    LdapUserFlags,
    /// `CONNECTION_OPTIONS`.
    LdapOptions,
}

/// One setting's definition.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// AWX key.
    pub key: &'static str,
    /// Category it belongs to.
    pub category: Category,
    /// JSON type and bounds.
    pub kind: Kind,
    /// Secret values read back as `$encrypted$`.
    pub secret: bool,
    /// Short label (OPTIONS metadata).
    pub label: &'static str,
    /// Help text (OPTIONS metadata).
    pub help: &'static str,
}

macro_rules! def {
    ($key:expr, $cat:ident, $kind:expr, $secret:literal, $label:expr, $help:expr) => {
        SettingDef {
            key: $key,
            category: Category::$cat,
            kind: $kind,
            secret: $secret,
            label: $label,
            help: $help,
        }
    };
}

/// The `AUTH_LDAP_*` keys of one directory server slot (AWX's first server has the prefix
/// `AUTH_LDAP_`, the additional ones `AUTH_LDAP_1_` … `AUTH_LDAP_5_`); `docs/ldap.md`.
macro_rules! ldap_slot {
    ($p:literal, $n:literal) => {
        [
            def!(
                concat!($p, "SERVER_URI"),
                Ldap,
                Kind::LdapUri,
                false,
                concat!("LDAP ", $n, "Server URI"),
                "URIs of the LDAP servers (ldap:// or ldaps://), separated by spaces or commas, tried in order. Empty disables this server."
            ),
            def!(
                concat!($p, "BIND_DN"),
                Ldap,
                Kind::LdapDn { null: false },
                false,
                concat!("LDAP ", $n, "Bind DN"),
                "DN of the service account used to search for users and groups."
            ),
            def!(
                concat!($p, "BIND_PASSWORD"),
                Ldap,
                Kind::Str,
                true,
                concat!("LDAP ", $n, "Bind Password"),
                "Password of the service account (write-only)."
            ),
            def!(
                concat!($p, "START_TLS"),
                Ldap,
                Kind::Bool,
                false,
                concat!("LDAP ", $n, "Start TLS"),
                "Whether to enable TLS when the LDAP connection is not using SSL."
            ),
            def!(
                concat!($p, "CONNECTION_OPTIONS"),
                Ldap,
                Kind::LdapOptions,
                false,
                concat!("LDAP ", $n, "Connection Options"),
                "Options of the LDAP connection. OPT_NETWORK_TIMEOUT (seconds) bounds connecting and every operation; OPT_REFERRALS is accepted (referrals are never followed)."
            ),
            def!(
                concat!($p, "USER_SEARCH"),
                Ldap,
                Kind::LdapSearch { user: true },
                false,
                concat!("LDAP ", $n, "User Search"),
                "[base DN, scope, filter] locating a user; the filter holds %(user)s. A list of such searches is tried in order."
            ),
            def!(
                concat!($p, "USER_DN_TEMPLATE"),
                Ldap,
                Kind::LdapDnTemplate,
                false,
                concat!("LDAP ", $n, "User DN Template"),
                "Alternative to user search, if user DNs are all of the same format, e.g. uid=%(user)s,ou=people,dc=example,dc=org."
            ),
            def!(
                concat!($p, "USER_ATTR_MAP"),
                Ldap,
                Kind::LdapAttrMap,
                false,
                concat!("LDAP ", $n, "User Attribute Map"),
                "Maps first_name, last_name and email to directory attributes."
            ),
            def!(
                concat!($p, "GROUP_SEARCH"),
                Ldap,
                Kind::LdapSearch { user: false },
                false,
                concat!("LDAP ", $n, "Group Search"),
                "[base DN, scope, filter] finding the groups a user belongs to."
            ),
            def!(
                concat!($p, "GROUP_TYPE"),
                Ldap,
                Kind::LdapGroupType,
                false,
                concat!("LDAP ", $n, "Group Type"),
                "Class of the groups: MemberDNGroupType, GroupOfNamesType, GroupOfUniqueNamesType, ActiveDirectoryGroupType, OrganizationalRoleGroupType, PosixGroupType or PosixUIDGroupType."
            ),
            def!(
                concat!($p, "GROUP_TYPE_PARAMS"),
                Ldap,
                Kind::LdapGroupParams,
                false,
                concat!("LDAP ", $n, "Group Type Parameters"),
                "Parameters of the group type, e.g. {\"member_attr\": \"member\", \"name_attr\": \"cn\"}."
            ),
            def!(
                concat!($p, "REQUIRE_GROUP"),
                Ldap,
                Kind::LdapDn { null: true },
                false,
                concat!("LDAP ", $n, "Require Group"),
                "Group DN required to log in; null lets every directory user in."
            ),
            def!(
                concat!($p, "DENY_GROUP"),
                Ldap,
                Kind::LdapDn { null: true },
                false,
                concat!("LDAP ", $n, "Deny Group"),
                "Group DN whose members may not log in."
            ),
            def!(
                concat!($p, "USER_FLAGS_BY_GROUP"),
                Ldap,
                Kind::LdapUserFlags,
                false,
                concat!("LDAP ", $n, "User Flags By Group"),
                "Group DNs that make a user superuser or system auditor, set at every login."
            ),
            def!(
                concat!($p, "ORGANIZATION_MAP"),
                Ldap,
                Kind::ObjectOrNull,
                false,
                concat!("LDAP ", $n, "Organization Map"),
                "Stored for compatibility; no effect."
            ),
            def!(
                concat!($p, "TEAM_MAP"),
                Ldap,
                Kind::ObjectOrNull,
                false,
                concat!("LDAP ", $n, "Team Map"),
                "Stored for compatibility; no effect."
            ),
        ]
    };
}

/// The settings other than the directory slots, in the order AWX lists them.
const BASE_SETTINGS: &[SettingDef] = &[
    def!(
        "SESSION_COOKIE_AGE",
        Authentication,
        Kind::Int {
            min: 60,
            max: 30_000_000_000
        },
        false,
        "Idle Time Force Log Out",
        "Number of seconds that a user is inactive before they will need to login again."
    ),
    def!(
        "SESSIONS_PER_USER",
        Authentication,
        Kind::Int {
            min: -1,
            max: i64::MAX
        },
        false,
        "Maximum number of simultaneous logged in sessions",
        "Maximum number of simultaneous logged in sessions a user may have. To disable enter -1."
    ),
    def!(
        "DISABLE_LOCAL_AUTH",
        Authentication,
        Kind::Bool,
        false,
        "Disable the built-in authentication system",
        "Controls whether users are prevented from using the built-in authentication system."
    ),
    def!(
        "AUTH_BASIC_ENABLED",
        Authentication,
        Kind::Bool,
        false,
        "Enable HTTP Basic Auth",
        "Enable HTTP Basic Auth for the API Browser."
    ),
    def!(
        "OAUTH2_PROVIDER",
        Authentication,
        Kind::OAuth2,
        false,
        "OAuth 2 Timeout Settings",
        "Dictionary for customizing OAuth 2 timeouts, available items are `ACCESS_TOKEN_EXPIRE_SECONDS`, `REFRESH_TOKEN_EXPIRE_SECONDS` and `AUTHORIZATION_CODE_EXPIRE_SECONDS`."
    ),
    def!(
        "ALLOW_OAUTH2_FOR_EXTERNAL_USERS",
        Authentication,
        Kind::Bool,
        false,
        "Allow External Users to Create OAuth2 Tokens",
        "Whether users from an external authentication provider may create OAuth2 tokens."
    ),
    def!(
        "LOGIN_REDIRECT_OVERRIDE",
        Authentication,
        Kind::Str,
        false,
        "Login redirect override URL",
        "URL to which unauthorized users will be redirected to log in."
    ),
    def!(
        "ALLOW_METRICS_FOR_ANONYMOUS_USERS",
        Authentication,
        Kind::Bool,
        false,
        "Allow anonymous users to poll metrics",
        "Stored for compatibility; Portcullis does not serve AWX metrics."
    ),
    def!(
        "AUTHENTICATION_BACKENDS",
        Authentication,
        Kind::ReadOnlyList,
        false,
        "Authentication Backends",
        "List of authentication backends that are enabled based on license features and other authentication settings."
    ),
    def!(
        "SOCIAL_AUTH_ORGANIZATION_MAP",
        Authentication,
        Kind::SocialOrganizationMap,
        false,
        "Social Auth Organization Map",
        "Mapping to organization admins/users from social auth accounts. Applied at every single sign-on login (docs/sso.md)."
    ),
    def!(
        "SOCIAL_AUTH_TEAM_MAP",
        Authentication,
        Kind::SocialTeamMap,
        false,
        "Social Auth Team Map",
        "Mapping of team members (users) from social auth accounts. Validated and stored; Portcullis has no teams (docs/sso.md)."
    ),
    def!(
        "SOCIAL_AUTH_USER_FIELDS",
        Authentication,
        Kind::ListOrNull,
        false,
        "Social Auth User Fields",
        "When set to an empty list `[]`, this setting prevents new user accounts from being created. Only users who have previously logged in using social auth or have a user account with a matching email address will be able to login."
    ),
    def!(
        "SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL",
        Authentication,
        Kind::Bool,
        false,
        "Use Email address for usernames",
        "Enabling this setting will tell social auth to use the full Email as username instead of the full name"
    ),
    def!(
        "LOCAL_PASSWORD_MIN_LENGTH",
        Authentication,
        Kind::Int {
            min: 0,
            max: i64::MAX
        },
        false,
        "Minimum number of characters in local password",
        "Minimum number of characters required in a local password. 0 means no minimum."
    ),
    def!(
        "LOCAL_PASSWORD_MIN_DIGITS",
        Authentication,
        Kind::Int {
            min: 0,
            max: i64::MAX
        },
        false,
        "Minimum number of digit characters in local password",
        "Minimum number of digit characters required in a local password. 0 means no minimum."
    ),
    def!(
        "LOCAL_PASSWORD_MIN_UPPER",
        Authentication,
        Kind::Int {
            min: 0,
            max: i64::MAX
        },
        false,
        "Minimum number of uppercase characters in local password",
        "Minimum number of uppercase characters required in a local password. 0 means no minimum."
    ),
    def!(
        "LOCAL_PASSWORD_MIN_SPECIAL",
        Authentication,
        Kind::Int {
            min: 0,
            max: i64::MAX
        },
        false,
        "Minimum number of special characters in local password",
        "Minimum number of special characters required in a local password. 0 means no minimum."
    ),
    def!(
        "CSRF_TRUSTED_ORIGINS",
        System,
        Kind::StrList,
        false,
        "CSRF Trusted Origins List",
        "Origins (scheme://host[:port], or https://*.example.com) trusted for CSRF checks."
    ),
    def!(
        "ACTIVITY_STREAM_ENABLED",
        System,
        Kind::Bool,
        false,
        "Enable Activity Stream",
        "Enable capturing activity for the activity stream."
    ),
    def!(
        "REMOTE_HOST_HEADERS",
        System,
        Kind::StrList,
        false,
        "Remote Host Headers",
        "Stored for compatibility; trusted proxies are configuration."
    ),
    def!(
        "PROXY_IP_ALLOWED_LIST",
        System,
        Kind::StrList,
        false,
        "Proxy IP Allowed List",
        "Stored for compatibility; trusted proxies are configuration."
    ),
    def!(
        "SOCIAL_AUTH_OIDC_KEY",
        Oidc,
        Kind::StrNoNull,
        false,
        "OIDC Key",
        "The OIDC key (Client ID) from your IDP."
    ),
    def!(
        "SOCIAL_AUTH_OIDC_SECRET",
        Oidc,
        Kind::Str,
        true,
        "OIDC Secret",
        "The OIDC secret (Client Secret) from your IDP."
    ),
    def!(
        "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT",
        Oidc,
        Kind::Url,
        false,
        "OIDC Provider URL",
        "The URL for your OIDC provider including the path up to /.well-known/openid-configuration"
    ),
    def!(
        "SOCIAL_AUTH_OIDC_VERIFY_SSL",
        Oidc,
        Kind::Bool,
        false,
        "Verify OIDC Provider Certificate",
        "Verify the OIDC provider ssl certificate."
    ),
    def!(
        "PORTCULLIS_SSO_LINK_VERIFIED_EMAIL",
        Oidc,
        Kind::Bool,
        false,
        "Link accounts by verified e-mail",
        "Portcullis only. When on, a first single sign-on login whose provider says `email_verified: true` is linked to the existing local account with that e-mail. Off by default: AWX links by e-mail unconditionally, which lets whoever controls an unverified address at the provider take over the account (docs/sso.md)."
    ),
    def!(
        "PORTCULLIS_SSO_TRUSTED_AUDIENCES",
        Oidc,
        Kind::StrList,
        false,
        "Trusted id_token audiences",
        "Portcullis only. Audiences besides the client id that an id_token may name (some providers add their project id). Empty by default."
    ),
];

/// The six directory server slots, in the order they are tried.
const LDAP_SLOTS: [[SettingDef; 16]; 6] = [
    ldap_slot!("AUTH_LDAP_", ""),
    ldap_slot!("AUTH_LDAP_1_", "1 "),
    ldap_slot!("AUTH_LDAP_2_", "2 "),
    ldap_slot!("AUTH_LDAP_3_", "3 "),
    ldap_slot!("AUTH_LDAP_4_", "4 "),
    ldap_slot!("AUTH_LDAP_5_", "5 "),
];

/// The key prefixes of the directory server slots, in the order they are tried.
pub const LDAP_PREFIXES: [&str; 6] = [
    "AUTH_LDAP_",
    "AUTH_LDAP_1_",
    "AUTH_LDAP_2_",
    "AUTH_LDAP_3_",
    "AUTH_LDAP_4_",
    "AUTH_LDAP_5_",
];

/// Every setting Portcullis knows: the base settings, then the directory slots.
pub static SETTINGS: std::sync::LazyLock<Vec<SettingDef>> = std::sync::LazyLock::new(|| {
    BASE_SETTINGS
        .iter()
        .chain(LDAP_SLOTS.iter().flatten())
        .copied()
        .collect()
});

/// Looks up a definition by key.
pub fn def(key: &str) -> Option<&'static SettingDef> {
    SETTINGS.iter().find(|d| d.key == key)
}

/// The part of an `AUTH_LDAP_*` key after its slot prefix (`SERVER_URI` for
/// `AUTH_LDAP_1_SERVER_URI`), or `None` for other keys.
pub fn ldap_suffix(key: &str) -> Option<&str> {
    // Longest prefixes first: `AUTH_LDAP_` is a prefix of the numbered ones.
    LDAP_PREFIXES.iter().rev().find_map(|p| key.strip_prefix(p))
}

/// Stored overrides: key → JSON value.
pub type Stored = BTreeMap<String, Value>;

/// The default value of `d`, given the other stored values (for computed keys).
pub fn default_value(d: &SettingDef, stored: &Stored) -> Value {
    if let Some(suffix) = ldap_suffix(d.key) {
        return ldap::default_value(suffix);
    }
    match d.key {
        "SESSION_COOKIE_AGE" => json!(1800),
        "SESSIONS_PER_USER" => json!(-1),
        "AUTH_BASIC_ENABLED" | "ACTIVITY_STREAM_ENABLED" | "SOCIAL_AUTH_OIDC_VERIFY_SSL" => {
            json!(true)
        }
        "OAUTH2_PROVIDER" => oauth2_object(&Map::new()),
        "REMOTE_HOST_HEADERS" => json!(["REMOTE_ADDR", "REMOTE_HOST"]),
        "AUTHENTICATION_BACKENDS" => authentication_backends(stored),
        _ => match d.kind {
            Kind::Bool => json!(false),
            Kind::Int { .. } => json!(0),
            Kind::Str | Kind::Url => json!(""),
            Kind::StrList | Kind::ReadOnlyList => json!([]),
            Kind::ObjectOrNull | Kind::ListOrNull => Value::Null,
            Kind::OAuth2 => oauth2_object(&Map::new()),
            _ => Value::Null,
        },
    }
}

/// True when a directory server slot has a `SERVER_URI`, AWX's test for listing the LDAP
/// backend and for allowing `DISABLE_LOCAL_AUTH` (`docs/ldap.md`).
pub fn ldap_configured(stored: &Stored) -> bool {
    LDAP_PREFIXES.iter().any(|p| {
        stored
            .get(&format!("{p}SERVER_URI"))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    })
}

/// True when the OIDC key, secret and endpoint are all set: AWX's test for enabling the
/// OIDC backend (`docs/sso.md`).
pub fn oidc_configured(stored: &Stored) -> bool {
    [
        "SOCIAL_AUTH_OIDC_KEY",
        "SOCIAL_AUTH_OIDC_SECRET",
        "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT",
    ]
    .iter()
    .all(|k| {
        stored
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    })
}

/// AWX's list, in AWX's order: directory, then social, then the local model backend.
fn authentication_backends(stored: &Stored) -> Value {
    let mut list = Vec::new();
    if ldap_configured(stored) {
        list.push("awx.sso.backends.LDAPBackend");
    }
    if oidc_configured(stored) {
        list.push("social_core.backends.open_id_connect.OpenIdConnectAuth");
    }
    list.push("awx.main.backends.AWXModelBackend");
    json!(list)
}

/// `OAUTH2_PROVIDER` with every key present: given values, defaults for the rest.
fn oauth2_object(given: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    for (k, default) in OAUTH2_KEYS {
        m.insert(
            k.to_owned(),
            given.get(k).cloned().unwrap_or_else(|| json!(default)),
        );
    }
    Value::Object(m)
}

/// The value in force for `d`.
pub fn effective(d: &SettingDef, stored: &Stored) -> Value {
    if d.kind == Kind::ReadOnlyList {
        return default_value(d, stored);
    }
    stored
        .get(d.key)
        .cloned()
        .unwrap_or_else(|| default_value(d, stored))
}

/// The value as the API shows it (secrets masked when set).
pub fn shown(d: &SettingDef, stored: &Stored) -> Value {
    let v = effective(d, stored);
    if d.secret && v.as_str().is_some_and(|s| !s.is_empty()) {
        json!(ENCRYPTED)
    } else {
        v
    }
}

/// The object shown for a category slug (`all`, `changed` or a category).
pub fn category_object(slug: &str, stored: &Stored) -> Option<Map<String, Value>> {
    let pick: Box<dyn Fn(&SettingDef) -> bool> = match slug {
        "all" => Box::new(|_| true),
        "changed" => Box::new(|d| {
            d.kind != Kind::ReadOnlyList
                && stored
                    .get(d.key)
                    .is_some_and(|v| *v != default_value(d, stored))
        }),
        other => {
            let cat = Category::from_slug(other)?;
            Box::new(move |d| d.category == cat)
        }
    };
    Some(
        SETTINGS
            .iter()
            .filter(|d| pick(d))
            .map(|d| (d.key.to_owned(), shown(d, stored)))
            .collect(),
    )
}

/// True when `slug` names a settings view (`all`, `changed` or a category).
pub fn slug_exists(slug: &str) -> bool {
    matches!(slug, "all" | "changed") || Category::from_slug(slug).is_some()
}

/// True when `d` is writable through the view `slug`.
pub fn writable_in(d: &SettingDef, slug: &str) -> bool {
    d.kind != Kind::ReadOnlyList
        && match slug {
            "all" | "changed" => true,
            other => Category::from_slug(other) == Some(d.category),
        }
}

/// Field errors in AWX's shape: key → messages, in insertion order.
pub type FieldErrors = Vec<(String, Vec<String>)>;

/// Python's name of a JSON value's type, as DRF's messages show it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn check_value(d: &SettingDef, v: &Value, token_max_lifetime: i64) -> Result<Value, Vec<String>> {
    let one = |s: String| Err(vec![s]);
    match d.kind {
        Kind::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => one("Must be a valid boolean.".into()),
        },
        Kind::Int { min, max } => {
            let Some(n) = v.as_i64() else {
                return one("A valid integer is required.".into());
            };
            if n < min {
                one(format!(
                    "Ensure this value is greater than or equal to {min}."
                ))
            } else if n > max {
                one(format!("Ensure this value is less than or equal to {max}."))
            } else {
                Ok(v.clone())
            }
        }
        Kind::Str => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Null => Ok(json!("")),
            _ => one("Not a valid string.".into()),
        },
        Kind::StrNoNull => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Null => one("This field may not be null.".into()),
            _ => one("Not a valid string.".into()),
        },
        Kind::Url => match v {
            Value::Null => Ok(json!("")),
            Value::String(s) if s.is_empty() => Ok(v.clone()),
            Value::String(s) if url_ok(s) => Ok(v.clone()),
            Value::String(_) => one("Enter a valid URL.".into()),
            _ => one("Not a valid string.".into()),
        },
        Kind::SocialOrganizationMap => crate::sso::maps::check_organization_map(v),
        Kind::SocialTeamMap => crate::sso::maps::check_team_map(v),
        Kind::StrList => match v {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(v.clone()),
            Value::Array(_) => one("Not a valid string.".into()),
            other => one(format!(
                "Expected a list of items but got type \"{}\".",
                type_name(other)
            )),
        },
        Kind::ObjectOrNull => match v {
            Value::Object(_) | Value::Null => Ok(v.clone()),
            other => one(format!(
                "Expected a dictionary of items but got type \"{}\".",
                type_name(other)
            )),
        },
        Kind::ListOrNull => match v {
            Value::Array(_) | Value::Null => Ok(v.clone()),
            other => one(format!(
                "Expected a list of items but got type \"{}\".",
                type_name(other)
            )),
        },
        Kind::OAuth2 => check_oauth2(v, token_max_lifetime),
        Kind::ReadOnlyList => Ok(v.clone()),
        Kind::LdapUri => ldap::check_uri(v),
        Kind::LdapDn { null } => ldap::check_dn(v, null),
        Kind::LdapDnTemplate => ldap::check_dn_template(v),
        Kind::LdapSearch { user } => ldap::check_search(v, user),
        Kind::LdapAttrMap => ldap::check_attr_map(v),
        Kind::LdapGroupType => ldap::check_group_type(v),
        Kind::LdapGroupParams => ldap::check_group_params(v),
        Kind::LdapUserFlags => ldap::check_user_flags(v),
        Kind::LdapOptions => ldap::check_options(v),
    }
}

/// An absolute `http(s)://host…` URL without spaces or controls, as Django's URL check
/// accepts for a provider address.
fn url_ok(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn check_oauth2(v: &Value, token_max_lifetime: i64) -> Result<Value, Vec<String>> {
    let Value::Object(m) = v else {
        return Err(vec![format!(
            "Expected a dictionary of items but got type \"{}\".",
            type_name(v)
        )]);
    };
    let invalid: Vec<&str> = m
        .keys()
        .filter(|k| !OAUTH2_KEYS.iter().any(|(name, _)| name == k))
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(vec![format!("Invalid key names: {}", invalid.join(", "))]);
    }
    let mut errors = Vec::new();
    for (k, val) in m {
        match val.as_i64() {
            Some(n) if n >= 1 => {
                if k == "ACCESS_TOKEN_EXPIRE_SECONDS" && n > token_max_lifetime {
                    errors.push(format!(
                        "ACCESS_TOKEN_EXPIRE_SECONDS must be at most {token_max_lifetime}."
                    ));
                }
            }
            _ => errors.push(format!("{k} must be a positive integer.")),
        }
    }
    if errors.is_empty() {
        Ok(oauth2_object(m))
    } else {
        Err(errors)
    }
}

/// Validates a PUT/PATCH body against the view `slug`. Returns the changes to store
/// (key → new value), or AWX-shaped field errors. Unknown and read-only keys are ignored.
pub fn validate_patch(
    slug: &str,
    patch: &Map<String, Value>,
    stored: &Stored,
    token_max_lifetime: i64,
) -> Result<Vec<(String, Value)>, FieldErrors> {
    let mut changes = Vec::new();
    let mut errors: FieldErrors = Vec::new();
    for (key, value) in patch {
        let Some(d) = def(key) else { continue };
        if !writable_in(d, slug) {
            continue;
        }
        if d.secret && value.as_str() == Some(ENCRYPTED) {
            continue; // keep the stored secret
        }
        match check_value(d, value, token_max_lifetime) {
            Ok(v) => changes.push((key.clone(), v)),
            Err(msgs) => errors.push((key.clone(), msgs)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Cross-field rule: local auth may only be disabled while a directory is configured.
    let mut after = stored.clone();
    for (k, v) in &changes {
        after.insert(k.clone(), v.clone());
    }
    let disable_local = after.get("DISABLE_LOCAL_AUTH").and_then(Value::as_bool) == Some(true);
    let turning_on = changes
        .iter()
        .any(|(k, v)| k == "DISABLE_LOCAL_AUTH" && v.as_bool() == Some(true));
    if disable_local && turning_on && !ldap_configured(&after) && !oidc_configured(&after) {
        return Err(vec![(
            "__all__".into(),
            vec!["There are no remote authentication systems configured.".into()],
        )]);
    }
    Ok(changes)
}

/// The keys a reset of `slug` removes.
pub fn keys_of(slug: &str) -> Vec<&'static str> {
    SETTINGS
        .iter()
        .filter(|d| writable_in(d, slug))
        .map(|d| d.key)
        .collect()
}

/// The typed snapshot the request path reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Idle timeout in seconds.
    pub session_cookie_age: i64,
    /// Session cap per user (-1 unlimited, 0 treated as 1).
    pub sessions_per_user: i64,
    /// Local password logins refused.
    pub disable_local_auth: bool,
    /// HTTP Basic in the chain.
    pub auth_basic_enabled: bool,
    /// Lifetime of new access tokens.
    pub access_token_expire_seconds: i64,
    /// Lifetime of new refresh tokens.
    pub refresh_token_expire_seconds: i64,
    /// Lifetime of authorization codes.
    pub authorization_code_expire_seconds: i64,
    /// External users may create tokens.
    pub allow_oauth2_for_external_users: bool,
    /// Echoed in `GET /api/`.
    pub login_redirect_override: String,
    /// Local password rules.
    pub password_policy: PasswordPolicy,
    /// Extra origins trusted by the CSRF check.
    pub csrf_trusted_origins: Vec<String>,
    /// Activity stream recording on.
    pub activity_stream_enabled: bool,
}

impl AuthSettings {
    /// Builds the snapshot from stored overrides.
    pub fn from_stored(stored: &Stored) -> Self {
        let get = |k: &str| def(k).map(|d| effective(d, stored)).unwrap_or(Value::Null);
        let int = |k: &str| get(k).as_i64().unwrap_or(0);
        let boolean = |k: &str| get(k).as_bool().unwrap_or(false);
        let policy_int = |k: &str| u32::try_from(int(k)).unwrap_or(u32::MAX);
        let oauth = get("OAUTH2_PROVIDER");
        let oauth_int = |k: &str, d: i64| oauth.get(k).and_then(Value::as_i64).unwrap_or(d);
        Self {
            session_cookie_age: int("SESSION_COOKIE_AGE"),
            sessions_per_user: int("SESSIONS_PER_USER"),
            disable_local_auth: boolean("DISABLE_LOCAL_AUTH"),
            auth_basic_enabled: boolean("AUTH_BASIC_ENABLED"),
            access_token_expire_seconds: oauth_int("ACCESS_TOKEN_EXPIRE_SECONDS", 31_536_000),
            refresh_token_expire_seconds: oauth_int("REFRESH_TOKEN_EXPIRE_SECONDS", 2_628_000),
            authorization_code_expire_seconds: oauth_int("AUTHORIZATION_CODE_EXPIRE_SECONDS", 600),
            allow_oauth2_for_external_users: boolean("ALLOW_OAUTH2_FOR_EXTERNAL_USERS"),
            login_redirect_override: get("LOGIN_REDIRECT_OVERRIDE")
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            password_policy: PasswordPolicy {
                min_length: policy_int("LOCAL_PASSWORD_MIN_LENGTH"),
                min_digits: policy_int("LOCAL_PASSWORD_MIN_DIGITS"),
                min_upper: policy_int("LOCAL_PASSWORD_MIN_UPPER"),
                min_special: policy_int("LOCAL_PASSWORD_MIN_SPECIAL"),
            },
            csrf_trusted_origins: get("CSRF_TRUSTED_ORIGINS")
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            activity_stream_enabled: boolean("ACTIVITY_STREAM_ENABLED"),
        }
    }

    /// The session cap as an optional count (`None` = unlimited; 0 counts as 1).
    pub fn session_cap(&self) -> Option<u32> {
        match self.sessions_per_user {
            n if n < 0 => None,
            0 => Some(1),
            n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self::from_stored(&Stored::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: i64 = 63_072_000;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn authentication_category_has_the_17_keys_at_defaults() {
        let o = category_object("authentication", &Stored::new()).unwrap();
        assert_eq!(o.len(), 17);
        assert_eq!(o["SESSION_COOKIE_AGE"], json!(1800));
        assert_eq!(o["SESSIONS_PER_USER"], json!(-1));
        assert_eq!(o["AUTH_BASIC_ENABLED"], json!(true));
        assert_eq!(
            o["OAUTH2_PROVIDER"],
            json!({"ACCESS_TOKEN_EXPIRE_SECONDS": 31536000, "REFRESH_TOKEN_EXPIRE_SECONDS": 2628000, "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600})
        );
        assert_eq!(o["SOCIAL_AUTH_TEAM_MAP"], Value::Null);
    }

    #[test]
    fn validation_messages_match_awx() {
        let s = Stored::new();
        let e = validate_patch(
            "authentication",
            &obj(json!({"SESSION_COOKIE_AGE": 10})),
            &s,
            CAP,
        )
        .unwrap_err();
        assert_eq!(
            e,
            vec![(
                "SESSION_COOKIE_AGE".into(),
                vec!["Ensure this value is greater than or equal to 60.".into()]
            )]
        );
        let e = validate_patch(
            "authentication",
            &obj(json!({"SESSIONS_PER_USER": -2})),
            &s,
            CAP,
        )
        .unwrap_err();
        assert_eq!(
            e[0].1[0],
            "Ensure this value is greater than or equal to -1."
        );
        let e = validate_patch("all", &obj(json!({"OAUTH2_PROVIDER": {"FOO": 1}})), &s, CAP)
            .unwrap_err();
        assert_eq!(e[0].1[0], "Invalid key names: FOO");
        let e = validate_patch(
            "all",
            &obj(json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": CAP + 1}})),
            &s,
            CAP,
        )
        .unwrap_err();
        assert_eq!(e[0].0, "OAUTH2_PROVIDER");
        let e =
            validate_patch("all", &obj(json!({"DISABLE_LOCAL_AUTH": true})), &s, CAP).unwrap_err();
        assert_eq!(
            e,
            vec![(
                "__all__".into(),
                vec!["There are no remote authentication systems configured.".into()]
            )]
        );
        let e =
            validate_patch("all", &obj(json!({"AUTH_BASIC_ENABLED": "no"})), &s, CAP).unwrap_err();
        assert_eq!(e[0].1[0], "Must be a valid boolean.");
    }

    #[test]
    fn oauth2_omitted_keys_take_defaults_and_snapshot_reads_them() {
        let changes = validate_patch(
            "authentication",
            &obj(json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 3600}, "AUTHENTICATION_BACKENDS": []})),
            &Stored::new(),
            CAP,
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        let stored: Stored = changes.into_iter().collect();
        let snap = AuthSettings::from_stored(&stored);
        assert_eq!(snap.access_token_expire_seconds, 3600);
        assert_eq!(snap.refresh_token_expire_seconds, 2_628_000);
        assert_eq!(category_object("changed", &stored).unwrap().len(), 1);
    }

    #[test]
    fn secrets_are_masked_and_kept() {
        let mut stored = Stored::new();
        stored.insert("AUTH_LDAP_BIND_PASSWORD".into(), json!("hunter2"));
        let o = category_object("ldap", &stored).unwrap();
        assert_eq!(o["AUTH_LDAP_BIND_PASSWORD"], json!(ENCRYPTED));
        let c = validate_patch(
            "ldap",
            &obj(json!({"AUTH_LDAP_BIND_PASSWORD": ENCRYPTED})),
            &stored,
            CAP,
        )
        .unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn session_cap() {
        let mut s = AuthSettings::default();
        assert_eq!(s.session_cap(), None);
        s.sessions_per_user = 0;
        assert_eq!(s.session_cap(), Some(1));
        s.sessions_per_user = 3;
        assert_eq!(s.session_cap(), Some(3));
    }
}
