//! Directory (LDAP) rules without I/O (`docs/ldap.md`): the `AUTH_LDAP_*` settings in AWX's
//! shapes, their validation, the typed configuration of each server slot, the group types'
//! membership filters and the login decision from group membership.
//!
//! Escaping of user input into filters and DNs is done where the query is built, with the LDAP
//! client library's escape functions; this module only says what is searched for.

use crate::settings::{LDAP_PREFIXES, Stored, type_name};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use std::fmt;

/// Default of `OPT_NETWORK_TIMEOUT` (seconds), as AWX.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Placeholder for the username in a filter or DN template (Python's `%(user)s`).
pub const USER_PLACEHOLDER: &str = "%(user)s";

/// Group types Portcullis evaluates. The nested variants AWX also names are refused by the
/// validation: following nested groups is not built, and silently treating them as flat
/// would change who is let in.
pub const GROUP_TYPES: [&str; 7] = [
    "MemberDNGroupType",
    "GroupOfNamesType",
    "GroupOfUniqueNamesType",
    "ActiveDirectoryGroupType",
    "OrganizationalRoleGroupType",
    "PosixGroupType",
    "PosixUIDGroupType",
];

const NESTED_GROUP_TYPES: [&str; 4] = [
    "NestedMemberDNGroupType",
    "NestedGroupOfNamesType",
    "NestedActiveDirectoryGroupType",
    "NestedOrganizationalRoleGroupType",
];

/// The AWX default of a slot key (by its suffix after the slot prefix).
pub fn default_value(suffix: &str) -> Value {
    match suffix {
        "CONNECTION_OPTIONS" => json!({"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 30}),
        "USER_SEARCH" | "GROUP_SEARCH" => json!([]),
        "USER_DN_TEMPLATE" | "REQUIRE_GROUP" | "DENY_GROUP" => Value::Null,
        "USER_ATTR_MAP" | "USER_FLAGS_BY_GROUP" | "ORGANIZATION_MAP" | "TEAM_MAP" => json!({}),
        "GROUP_TYPE" => json!("MemberDNGroupType"),
        "GROUP_TYPE_PARAMS" => json!({"member_attr": "member", "name_attr": "cn"}),
        "START_TLS" => json!(false),
        _ => json!(""),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation (AWX's messages where AWX has one).
// ---------------------------------------------------------------------------------------------

/// `AUTH_LDAP_SERVER_URI`: empty, or URIs with scheme `ldap` or `ldaps`, separated by spaces
/// or commas.
pub fn check_uri(v: &Value) -> Result<Value, Vec<String>> {
    let s = match v {
        Value::String(s) => s,
        Value::Null => return Ok(json!("")),
        _ => return Err(vec!["Not a valid string.".into()]),
    };
    for uri in split_uris(s) {
        if parse_uri(uri).is_none() {
            return Err(vec!["Enter a valid URL.".into()]);
        }
    }
    Ok(v.clone())
}

/// The URIs of a `SERVER_URI` value, in order.
pub fn split_uris(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', ',']).filter(|u| !u.is_empty())
}

/// `(tls, host, port)` of an `ldap://host[:port][/]` or `ldaps://…` URI.
pub fn parse_uri(uri: &str) -> Option<(bool, &str, u16)> {
    let (tls, rest) = if let Some(r) = uri.strip_prefix("ldaps://") {
        (true, r)
    } else {
        (false, uri.strip_prefix("ldap://")?)
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let default_port = if tls { 636 } else { 389 };
    // `[::1]:389` or `host:389` or `host`.
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, default_port),
        }
    };
    (!host.is_empty() && port != 0).then_some((tls, host, port))
}

/// A distinguished name is syntactically valid (RFC 4514): `attr=value` RDNs separated by
/// unescaped commas, `+` for multi-valued RDNs, `\` escaping a special character or two hex
/// digits.
pub fn is_valid_dn(dn: &str) -> bool {
    !dn.trim().is_empty() && split_unescaped(dn, ',').iter().all(|rdn| valid_rdn(rdn))
}

fn valid_rdn(rdn: &str) -> bool {
    split_unescaped(rdn, '+').iter().all(|ava| {
        let Some((attr, value)) = ava.split_once('=') else {
            return false;
        };
        let attr = attr.trim();
        // A descriptor (`cn`, `ou`, `x-custom`) or a numeric OID (`2.5.4.3`).
        let descriptor = attr.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let oid = !attr.is_empty() && attr.chars().all(|c| c.is_ascii_digit() || c == '.');
        let attr_ok = descriptor || oid;
        attr_ok && valid_escapes(value)
    })
}

fn valid_escapes(value: &str) -> bool {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i) == Some(&b'\\') {
            match b.get(i + 1) {
                Some(c) if b",+\"\\<>;= #".contains(c) => i += 2,
                Some(c) if c.is_ascii_hexdigit() => {
                    if !b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
                        return false;
                    }
                    i += 3;
                }
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// Splits at `sep` where it is not escaped with a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A DN setting (`BIND_DN`, `REQUIRE_GROUP`, `DENY_GROUP`); `null` allowed when `null`.
pub fn check_dn(v: &Value, null: bool) -> Result<Value, Vec<String>> {
    match v {
        Value::Null if null => Ok(Value::Null),
        Value::Null => Ok(json!("")),
        Value::String(s) if s.is_empty() => Ok(if null { Value::Null } else { json!("") }),
        Value::String(s) if is_valid_dn(s) => Ok(v.clone()),
        Value::String(s) => Err(vec![format!("Invalid DN: {s}")]),
        _ => Err(vec!["Not a valid string.".into()]),
    }
}

/// `USER_DN_TEMPLATE`: `null`, or a DN holding `%(user)s`.
pub fn check_dn_template(v: &Value) -> Result<Value, Vec<String>> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::String(s) if s.is_empty() => Ok(Value::Null),
        Value::String(s) if !s.contains(USER_PLACEHOLDER) => Err(vec![format!(
            "DN must include \"{USER_PLACEHOLDER}\" placeholder for username: {s}"
        )]),
        Value::String(s) if is_valid_dn(&s.replace(USER_PLACEHOLDER, "x")) => Ok(v.clone()),
        Value::String(s) => Err(vec![format!("Invalid DN: {s}")]),
        _ => Err(vec!["Not a valid string.".into()]),
    }
}

/// A filter is one parenthesised expression with balanced parentheses (the directory
/// validates the rest when it is used).
pub fn is_valid_filter(f: &str) -> bool {
    let f = f.trim();
    if !(f.starts_with('(') && f.ends_with(')')) {
        return false;
    }
    let mut depth = 0i32;
    for (i, c) in f.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                // Closing the outermost expression before the end: two expressions.
                if depth < 0 || (depth == 0 && i + 1 != f.len()) {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// `USER_SEARCH` / `GROUP_SEARCH`: `[]`, `[base, scope, filter]`, or (user search only) a list
/// of such triples (AWX's search union).
pub fn check_search(v: &Value, user: bool) -> Result<Value, Vec<String>> {
    let Value::Array(items) = v else {
        return Err(vec![format!(
            "Expected an instance of LDAPSearch but got {} instead.",
            type_name(v)
        )]);
    };
    if items.is_empty() {
        return Ok(v.clone());
    }
    if user && items.iter().all(Value::is_array) {
        for item in items {
            check_triple(item, user)?;
        }
        return Ok(v.clone());
    }
    check_triple(v, user)?;
    Ok(v.clone())
}

fn check_triple(v: &Value, user: bool) -> Result<(), Vec<String>> {
    let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
    let [base, scope, filter] = items else {
        return Err(vec![format!(
            "Expected a list of three items but got {} instead.",
            items.len()
        )]);
    };
    let mut errors = Vec::new();
    match base.as_str() {
        Some(base) if is_valid_dn(base) => {}
        _ => errors.push(format!("Invalid DN: {}", display(base))),
    }
    if Scope::parse(scope.as_str().unwrap_or_default()).is_none() {
        errors.push(format!("\"{}\" is not a valid choice.", display(scope)));
    }
    match filter.as_str() {
        Some(f) if !is_valid_filter(f) => errors.push(format!("Invalid filter: {f}")),
        Some(f) if user && !f.contains(USER_PLACEHOLDER) => errors.push(format!(
            "DN must include \"{USER_PLACEHOLDER}\" placeholder for username: {f}"
        )),
        Some(_) => {}
        None => errors.push(format!("Invalid filter: {}", display(filter))),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn display(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// `GROUP_TYPE`: one of [`GROUP_TYPES`].
pub fn check_group_type(v: &Value) -> Result<Value, Vec<String>> {
    match v.as_str() {
        Some(t) if GROUP_TYPES.contains(&t) => Ok(v.clone()),
        Some(t) if NESTED_GROUP_TYPES.contains(&t) => Err(vec![format!(
            "{t} is not supported: Portcullis does not follow nested groups (docs/ldap.md)."
        )]),
        _ => Err(vec![format!("\"{}\" is not a valid choice.", display(v))]),
    }
}

/// `GROUP_TYPE_PARAMS`: an object whose keys are parameters of the group types.
pub fn check_group_params(v: &Value) -> Result<Value, Vec<String>> {
    check_string_map(
        v,
        &["member_attr", "name_attr", "ldap_group_user_attr"],
        "Invalid group_type parameters",
    )
}

/// `USER_ATTR_MAP`: keys `first_name`, `last_name`, `email`; values attribute names.
pub fn check_attr_map(v: &Value) -> Result<Value, Vec<String>> {
    check_string_map(
        v,
        &["first_name", "last_name", "email"],
        "Invalid user attribute(s)",
    )
}

/// An object whose keys are among `allowed` and whose values are strings; unknown keys are
/// named after `unknown` (AWX's wording for the setting).
fn check_string_map(v: &Value, allowed: &[&str], unknown: &str) -> Result<Value, Vec<String>> {
    let m = object(v)?;
    let invalid: Vec<&str> = m
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !invalid.is_empty() {
        return Err(vec![format!("{unknown}: {}.", invalid.join(", "))]);
    }
    if m.values().any(|x| !x.is_string()) {
        return Err(vec!["Not a valid string.".into()]);
    }
    Ok(v.clone())
}

/// `v` as an object, or DRF's message for another type.
fn object(v: &Value) -> Result<&Map<String, Value>, Vec<String>> {
    v.as_object().ok_or_else(|| {
        vec![format!(
            "Expected a dictionary of items but got type \"{}\".",
            type_name(v)
        )]
    })
}

/// `USER_FLAGS_BY_GROUP`: keys `is_superuser`, `is_system_auditor`; each a DN or a list of DNs.
pub fn check_user_flags(v: &Value) -> Result<Value, Vec<String>> {
    let m = object(v)?;
    for (k, dns) in m {
        if !matches!(k.as_str(), "is_superuser" | "is_system_auditor") {
            return Err(vec![format!("Invalid user flag: \"{k}\".")]);
        }
        let list: Vec<&Value> = match dns {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for dn in list {
            match dn.as_str() {
                Some(s) if is_valid_dn(s) => {}
                _ => return Err(vec![format!("Invalid DN: {}", display(dn))]),
            }
        }
    }
    Ok(v.clone())
}

/// `CONNECTION_OPTIONS`: an object of `OPT_*` names. `OPT_NETWORK_TIMEOUT` must be a positive
/// integer; the others are stored (AWX passes them to python-ldap; Portcullis has no use for
/// them, see `docs/ldap.md`).
pub fn check_options(v: &Value) -> Result<Value, Vec<String>> {
    let m = object(v)?;
    let invalid: Vec<&str> = m
        .keys()
        .filter(|k| !k.starts_with("OPT_") || k.len() < 5)
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(vec![format!(
            "Invalid connection option(s): {}.",
            invalid.join(", ")
        )]);
    }
    if let Some(t) = m.get("OPT_NETWORK_TIMEOUT")
        && !t.as_u64().is_some_and(|n| (1..=3600).contains(&n))
    {
        return Err(vec![
            "OPT_NETWORK_TIMEOUT must be an integer between 1 and 3600.".into(),
        ]);
    }
    Ok(v.clone())
}

// ---------------------------------------------------------------------------------------------
// Typed configuration.
// ---------------------------------------------------------------------------------------------

/// Search scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The base entry only.
    Base,
    /// Its immediate children.
    OneLevel,
    /// The whole subtree.
    Subtree,
}

impl Scope {
    /// From AWX's `SCOPE_*` names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SCOPE_BASE" => Some(Self::Base),
            "SCOPE_ONELEVEL" => Some(Self::OneLevel),
            "SCOPE_SUBTREE" => Some(Self::Subtree),
            _ => None,
        }
    }
}

/// One search: base DN, scope and filter (the user search's filter holds `%(user)s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Base DN.
    pub base: String,
    /// Scope.
    pub scope: Scope,
    /// Filter.
    pub filter: String,
}

impl Search {
    fn from_value(v: &Value) -> Option<Self> {
        let a = v.as_array()?;
        Some(Self {
            base: a.first()?.as_str()?.to_owned(),
            scope: Scope::parse(a.get(1)?.as_str()?)?,
            filter: a.get(2)?.as_str()?.to_owned(),
        })
    }

    fn list_from_value(v: &Value) -> Vec<Self> {
        match v.as_array() {
            Some(items) if items.iter().all(Value::is_array) => {
                items.iter().filter_map(Self::from_value).collect()
            }
            Some(_) => Self::from_value(v).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

/// How group membership is expressed in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupType {
    /// The group lists its members' DNs in `member_attr` (`member`, `uniqueMember`,
    /// `roleOccupant`).
    MemberDn {
        /// Attribute holding member DNs.
        member_attr: String,
    },
    /// A `posixGroup`: members by `memberUid` (the user's `uid`), or by the primary
    /// `gidNumber` of the user entry.
    Posix,
    /// A `posixGroup` whose `memberUid` holds the user's `ldap_group_user_attr` (default `uid`).
    PosixUid {
        /// User attribute compared with `memberUid`.
        user_attr: String,
    },
}

impl GroupType {
    fn from_settings(name: &str, params: &Map<String, Value>) -> Self {
        let param = |k: &str, d: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or(d)
                .to_owned()
        };
        match name {
            "PosixGroupType" => Self::Posix,
            "PosixUIDGroupType" => Self::PosixUid {
                user_attr: param("ldap_group_user_attr", "uid"),
            },
            "GroupOfNamesType" => Self::MemberDn {
                member_attr: "member".into(),
            },
            "GroupOfUniqueNamesType" => Self::MemberDn {
                member_attr: "uniqueMember".into(),
            },
            "OrganizationalRoleGroupType" => Self::MemberDn {
                member_attr: "roleOccupant".into(),
            },
            _ => Self::MemberDn {
                member_attr: param("member_attr", "member"),
            },
        }
    }

    /// The user attributes the membership filter needs, besides the DN.
    pub fn user_attributes(&self) -> Vec<&str> {
        match self {
            Self::MemberDn { .. } => Vec::new(),
            Self::Posix => vec!["uid", "gidNumber"],
            Self::PosixUid { user_attr } => vec![user_attr.as_str()],
        }
    }

    /// The membership condition for a user, as `(attribute, value)` pairs any of which
    /// makes the user a member. Values are raw: the caller escapes them into the filter.
    pub fn member_terms(&self, user: &DirectoryEntry, username: &str) -> Vec<(String, String)> {
        match self {
            Self::MemberDn { member_attr } => vec![(member_attr.clone(), user.dn.clone())],
            Self::Posix => {
                let uid = user.first("uid").unwrap_or(username).to_owned();
                let mut terms = vec![("memberUid".to_owned(), uid)];
                if let Some(gid) = user.first("gidNumber") {
                    terms.push(("gidNumber".to_owned(), gid.to_owned()));
                }
                terms
            }
            Self::PosixUid { user_attr } => user
                .first(user_attr)
                .map(|v| vec![("memberUid".to_owned(), v.to_owned())])
                .unwrap_or_default(),
        }
    }
}

/// What a directory returned about one entry: its DN and the attributes asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Distinguished name.
    pub dn: String,
    /// Attribute name (as returned) → values.
    pub attrs: Vec<(String, Vec<String>)>,
}

impl DirectoryEntry {
    /// The first value of `attr` (names compared case-insensitively, as LDAP does).
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// One directory server slot, ready to use.
#[derive(Clone)]
pub struct ServerConfig {
    /// `AUTH_LDAP_` or `AUTH_LDAP_<n>_`.
    pub prefix: &'static str,
    /// URIs tried in order.
    pub uris: Vec<String>,
    /// Service account DN (empty: anonymous search).
    pub bind_dn: String,
    /// Service account password.
    pub bind_password: SecretString,
    /// StartTLS on `ldap://` URIs.
    pub start_tls: bool,
    /// Connect and per-operation timeout, in seconds.
    pub timeout_seconds: u64,
    /// User searches, tried in order (empty when the DN template is used).
    pub user_search: Vec<Search>,
    /// DN template with `%(user)s`.
    pub user_dn_template: Option<String>,
    /// Directory attribute of first name, last name, e-mail.
    pub attr_map: AttrMap,
    /// Where the user's groups are found.
    pub group_search: Option<Search>,
    /// How membership is expressed.
    pub group_type: GroupType,
    /// Members only.
    pub require_group: Option<String>,
    /// Members refused.
    pub deny_group: Option<String>,
    /// Members are superusers.
    pub superuser_groups: Vec<String>,
    /// Members are system auditors.
    pub auditor_groups: Vec<String>,
}

impl fmt::Debug for ServerConfig {
    // Hand-written so the bind password is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("prefix", &self.prefix)
            .field("uris", &self.uris)
            .field("bind_dn", &self.bind_dn)
            .field("start_tls", &self.start_tls)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ServerConfig {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.prefix == other.prefix
            && self.uris == other.uris
            && self.bind_dn == other.bind_dn
            && self.bind_password.expose_secret() == other.bind_password.expose_secret()
            && self.start_tls == other.start_tls
            && self.timeout_seconds == other.timeout_seconds
            && self.user_search == other.user_search
            && self.user_dn_template == other.user_dn_template
            && self.attr_map == other.attr_map
            && self.group_search == other.group_search
            && self.group_type == other.group_type
            && self.require_group == other.require_group
            && self.deny_group == other.deny_group
            && self.superuser_groups == other.superuser_groups
            && self.auditor_groups == other.auditor_groups
    }
}

/// Directory attributes mapped to the user's profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrMap {
    /// Attribute of `first_name`.
    pub first_name: Option<String>,
    /// Attribute of `last_name`.
    pub last_name: Option<String>,
    /// Attribute of `email`.
    pub email: Option<String>,
}

impl AttrMap {
    /// The attribute names to request.
    pub fn attributes(&self) -> Vec<&str> {
        [&self.first_name, &self.last_name, &self.email]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

impl ServerConfig {
    /// The configured server slots, in the order they are tried: a slot counts when its
    /// `SERVER_URI` is not empty and it says how to find users (search or DN template).
    pub fn all(stored: &Stored) -> Vec<Self> {
        LDAP_PREFIXES
            .iter()
            .filter_map(|p| Self::from_stored(p, stored))
            .collect()
    }

    fn from_stored(prefix: &'static str, stored: &Stored) -> Option<Self> {
        let get = |suffix: &str| {
            stored
                .get(&format!("{prefix}{suffix}"))
                .cloned()
                .unwrap_or_else(|| default_value(suffix))
        };
        let text = |suffix: &str| get(suffix).as_str().unwrap_or_default().to_owned();
        let uris: Vec<String> = split_uris(&text("SERVER_URI")).map(str::to_owned).collect();
        if uris.is_empty() {
            return None;
        }
        let user_search = Search::list_from_value(&get("USER_SEARCH"));
        let user_dn_template = Some(text("USER_DN_TEMPLATE")).filter(|t| !t.is_empty());
        if user_search.is_empty() && user_dn_template.is_none() {
            return None;
        }
        let options = get("CONNECTION_OPTIONS");
        let attr = |k: &str| {
            get("USER_ATTR_MAP")
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let flags = get("USER_FLAGS_BY_GROUP");
        let dns = |k: &str| match flags.get(k) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let params = get("GROUP_TYPE_PARAMS");
        let empty = Map::new();
        Some(Self {
            prefix,
            uris,
            bind_dn: text("BIND_DN"),
            bind_password: SecretString::from(text("BIND_PASSWORD")),
            start_tls: get("START_TLS").as_bool().unwrap_or(false),
            timeout_seconds: options
                .get("OPT_NETWORK_TIMEOUT")
                .and_then(Value::as_u64)
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
            user_search,
            user_dn_template,
            attr_map: AttrMap {
                first_name: attr("first_name"),
                last_name: attr("last_name"),
                email: attr("email"),
            },
            group_search: Search::from_value(&get("GROUP_SEARCH")),
            group_type: GroupType::from_settings(
                get("GROUP_TYPE").as_str().unwrap_or("MemberDNGroupType"),
                params.as_object().unwrap_or(&empty),
            ),
            require_group: Some(text("REQUIRE_GROUP")).filter(|s| !s.is_empty()),
            deny_group: Some(text("DENY_GROUP")).filter(|s| !s.is_empty()),
            superuser_groups: dns("is_superuser"),
            auditor_groups: dns("is_system_auditor"),
        })
    }

    /// Every group DN a login decision depends on.
    pub fn referenced_groups(&self) -> Vec<&str> {
        self.require_group
            .iter()
            .chain(&self.deny_group)
            .chain(&self.superuser_groups)
            .chain(&self.auditor_groups)
            .map(String::as_str)
            .collect()
    }
}

/// Normalises a DN for comparison: attribute types and values compared without case and
/// without spaces around separators (how directories compare `cn`/`ou`/`dc` values).
pub fn normalize_dn(dn: &str) -> String {
    split_unescaped(dn, ',')
        .iter()
        .map(|rdn| {
            split_unescaped(rdn, '+')
                .iter()
                .map(|ava| match ava.split_once('=') {
                    Some((a, v)) => format!("{}={}", a.trim(), v.trim()),
                    None => ava.trim().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// Why a directory user who gave the right password is still refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRefusal {
    /// Not a member of `REQUIRE_GROUP`.
    NotInRequiredGroup,
    /// A member of `DENY_GROUP`.
    InDeniedGroup,
}

/// The flags a directory user gets from group membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectoryFlags {
    /// Superuser.
    pub is_superuser: bool,
    /// System auditor.
    pub is_system_auditor: bool,
}

/// The login decision from the groups the user is a member of (`is_member` answers for any
/// DN the configuration names): deny first, then require, then the flags.
pub fn decide(
    cfg: &ServerConfig,
    is_member: impl Fn(&str) -> bool,
) -> Result<DirectoryFlags, GroupRefusal> {
    if cfg.deny_group.as_deref().is_some_and(&is_member) {
        return Err(GroupRefusal::InDeniedGroup);
    }
    if cfg.require_group.as_deref().is_some_and(|g| !is_member(g)) {
        return Err(GroupRefusal::NotInRequiredGroup);
    }
    Ok(DirectoryFlags {
        is_superuser: cfg.superuser_groups.iter().any(|g| is_member(g)),
        is_system_auditor: cfg.auditor_groups.iter().any(|g| is_member(g)),
    })
}

/// The username, substituted into a search filter or DN template after escaping with
/// `escape` (RFC 4515 for filters, RFC 4514 for DNs — the LDAP client provides both).
pub fn substitute(template: &str, username: &str, escape: impl Fn(&str) -> String) -> String {
    template.replace(USER_PLACEHOLDER, &escape(username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_with_default_ports() {
        assert_eq!(
            parse_uri("ldap://dir.example.org"),
            Some((false, "dir.example.org", 389))
        );
        assert_eq!(
            parse_uri("ldaps://127.0.0.1:1636/"),
            Some((true, "127.0.0.1", 1636))
        );
        assert_eq!(parse_uri("ldap://[::1]:10389"), Some((false, "::1", 10389)));
        assert_eq!(parse_uri("http://x"), None);
        assert_eq!(parse_uri("ldap://"), None);
        assert_eq!(parse_uri("ldap://h:0"), None);
        assert_eq!(parse_uri("ldap://u@h"), None);
        assert!(check_uri(&json!("ldap://a ldaps://b:636,ldap://c")).is_ok());
        assert_eq!(
            check_uri(&json!("ldap://a http://b")),
            Err(vec!["Enter a valid URL.".into()])
        );
    }

    #[test]
    fn dns_are_checked_for_syntax() {
        assert!(is_valid_dn("cn=admins,ou=groups,dc=example,dc=org"));
        assert!(is_valid_dn("cn=Smith\\, John+uid=js,dc=x"));
        assert!(is_valid_dn("cn=a\\2cb,dc=x"));
        assert!(!is_valid_dn("not a dn"));
        assert!(!is_valid_dn("cn=a,,dc=x"));
        assert!(!is_valid_dn("cn=a\\zz,dc=x"));
        assert_eq!(
            check_dn(&json!("bogus"), true),
            Err(vec!["Invalid DN: bogus".into()])
        );
        assert_eq!(check_dn(&json!(""), true), Ok(Value::Null));
        assert!(check_dn_template(&json!("uid=%(user)s,ou=people,dc=x")).is_ok());
        assert!(check_dn_template(&json!("uid=x,ou=people,dc=x")).is_err());
    }

    #[test]
    fn searches_take_awx_shapes() {
        let one = json!(["ou=people,dc=x", "SCOPE_SUBTREE", "(uid=%(user)s)"]);
        assert!(check_search(&one, true).is_ok());
        let union = json!([
            ["ou=a,dc=x", "SCOPE_ONELEVEL", "(uid=%(user)s)"],
            ["ou=b,dc=x", "SCOPE_SUBTREE", "(mail=%(user)s)"]
        ]);
        assert!(check_search(&union, true).is_ok());
        assert_eq!(Search::list_from_value(&union).len(), 2);
        assert_eq!(
            check_search(&json!(["ou=a,dc=x", "SCOPE_SUBTREE"]), false),
            Err(vec![
                "Expected a list of three items but got 2 instead.".into()
            ])
        );
        assert_eq!(
            check_search(
                &json!(["ou=a,dc=x", "SCOPE_ALL", "(objectClass=group)"]),
                false
            ),
            Err(vec!["\"SCOPE_ALL\" is not a valid choice.".into()])
        );
        assert!(check_search(&json!(["ou=a,dc=x", "SCOPE_SUBTREE", "(uid=x)"]), true).is_err());
        assert!(check_search(&json!(["ou=a,dc=x", "SCOPE_SUBTREE", "uid=x"]), false).is_err());
        assert!(check_search(&json!("x"), false).is_err());
    }

    #[test]
    fn filters_must_be_one_balanced_expression() {
        assert!(is_valid_filter("(&(objectClass=person)(uid=%(user)s))"));
        assert!(!is_valid_filter("(a=b)(c=d)"));
        assert!(!is_valid_filter("(a=b"));
        assert!(!is_valid_filter("a=b"));
    }

    #[test]
    fn maps_flags_options_and_group_types_are_checked() {
        assert!(check_attr_map(&json!({"first_name": "givenName", "email": "mail"})).is_ok());
        assert_eq!(
            check_attr_map(&json!({"phone": "tel"})),
            Err(vec!["Invalid user attribute(s): phone.".into()])
        );
        assert!(
            check_user_flags(
                &json!({"is_superuser": ["cn=a,dc=x"], "is_system_auditor": "cn=b,dc=x"})
            )
            .is_ok()
        );
        assert_eq!(
            check_user_flags(&json!({"is_staff": []})),
            Err(vec!["Invalid user flag: \"is_staff\".".into()])
        );
        assert!(check_options(&json!({"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 5})).is_ok());
        assert!(check_options(&json!({"OPT_NETWORK_TIMEOUT": 0})).is_err());
        assert!(check_options(&json!({"TIMEOUT": 1})).is_err());
        assert!(check_group_type(&json!("PosixGroupType")).is_ok());
        assert!(check_group_type(&json!("NestedGroupOfNamesType")).is_err());
        assert_eq!(
            check_group_type(&json!("Foo")),
            Err(vec!["\"Foo\" is not a valid choice.".into()])
        );
        assert!(check_group_params(&json!({"member_attr": "member", "name_attr": "cn"})).is_ok());
        assert!(check_group_params(&json!({"x": "y"})).is_err());
    }

    fn stored(pairs: Value) -> Stored {
        pairs
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn slots_are_configured_in_order_and_need_a_way_to_find_users() {
        let s = stored(json!({
            "AUTH_LDAP_SERVER_URI": "ldap://a",
            "AUTH_LDAP_USER_DN_TEMPLATE": "uid=%(user)s,dc=x",
            "AUTH_LDAP_2_SERVER_URI": "ldap://b ldap://c",
            "AUTH_LDAP_2_USER_SEARCH": ["dc=x", "SCOPE_SUBTREE", "(uid=%(user)s)"],
            "AUTH_LDAP_2_GROUP_TYPE": "PosixGroupType",
            "AUTH_LDAP_2_CONNECTION_OPTIONS": {"OPT_NETWORK_TIMEOUT": 3},
            "AUTH_LDAP_2_USER_FLAGS_BY_GROUP": {"is_superuser": "cn=admins,dc=x"},
            "AUTH_LDAP_3_SERVER_URI": "ldap://d",
        }));
        let all = ServerConfig::all(&s);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].prefix, "AUTH_LDAP_");
        assert_eq!(all[0].timeout_seconds, 30);
        assert_eq!(
            all[0].group_type,
            GroupType::MemberDn {
                member_attr: "member".into()
            }
        );
        assert_eq!(all[1].uris, ["ldap://b", "ldap://c"]);
        assert_eq!(all[1].timeout_seconds, 3);
        assert_eq!(all[1].group_type, GroupType::Posix);
        assert_eq!(all[1].superuser_groups, ["cn=admins,dc=x"]);
        assert!(!format!("{:?}", all[0]).contains("password"));
    }

    #[test]
    fn decisions_deny_before_require_and_map_flags() {
        let s = stored(json!({
            "AUTH_LDAP_SERVER_URI": "ldap://a",
            "AUTH_LDAP_USER_DN_TEMPLATE": "uid=%(user)s,dc=x",
            "AUTH_LDAP_REQUIRE_GROUP": "cn=users,dc=x",
            "AUTH_LDAP_DENY_GROUP": "cn=blocked,dc=x",
            "AUTH_LDAP_USER_FLAGS_BY_GROUP": {"is_superuser": ["cn=admins,dc=x"]},
        }));
        let cfg = &ServerConfig::all(&s)[0];
        let member_of = |groups: &'static [&'static str]| {
            move |dn: &str| groups.iter().any(|g| normalize_dn(g) == normalize_dn(dn))
        };
        assert_eq!(
            decide(cfg, member_of(&["cn=users,dc=x", "cn=blocked,dc=x"])),
            Err(GroupRefusal::InDeniedGroup)
        );
        assert_eq!(
            decide(cfg, member_of(&["cn=other,dc=x"])),
            Err(GroupRefusal::NotInRequiredGroup)
        );
        assert_eq!(
            decide(cfg, member_of(&["CN=Users, DC=x", "cn=admins,dc=x"])),
            Ok(DirectoryFlags {
                is_superuser: true,
                is_system_auditor: false
            })
        );
    }

    #[test]
    fn posix_membership_uses_uid_and_primary_gid() {
        let entry = DirectoryEntry {
            dn: "uid=bob,ou=people,dc=x".into(),
            attrs: vec![
                ("uid".into(), vec!["bob".into()]),
                ("gidNumber".into(), vec!["5001".into()]),
            ],
        };
        assert_eq!(
            GroupType::Posix.member_terms(&entry, "BOB"),
            vec![
                ("memberUid".to_owned(), "bob".to_owned()),
                ("gidNumber".to_owned(), "5001".to_owned())
            ]
        );
        assert_eq!(
            GroupType::MemberDn {
                member_attr: "member".into()
            }
            .member_terms(&entry, "bob"),
            vec![("member".to_owned(), entry.dn.clone())]
        );
    }

    #[test]
    fn substitution_escapes_the_username() {
        let f = substitute("(uid=%(user)s)", "a*)(uid=*", |u| u.replace('*', "\\2a"));
        assert_eq!(f, "(uid=a\\2a)(uid=\\2a)");
    }
}
