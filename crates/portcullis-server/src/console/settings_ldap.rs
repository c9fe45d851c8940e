//! The Settings page's "LDAP" section (`docs/console.md`, "Settings and activity"): the
//! default directory server slot (`AUTH_LDAP_*` keys) shown read-only with an Edit button,
//! edited in place (htmx) or on `?edit=ldap` without the script, and a "Test connection"
//! button.
//!
//! Policy: superusers only ([`authz::may_manage_settings`]), as the rest of the page. A save
//! goes through [`svc::update`] on the `ldap` category, the service behind
//! `PATCH /api/v2/settings/ldap/`, so the console stores exactly the AWX JSON shapes the API
//! accepts and shows the API's messages. The bind password is never sent to the browser: the
//! form shows whether one is set, and an empty password field keeps the stored one (the
//! console omits the key, the API's partial-update rule). The servers `AUTH_LDAP_1_` …
//! `AUTH_LDAP_5_` are configured through the API only; the section lists their URIs.

use crate::console::form::FormData;
use crate::console::page::{Console, Errors, Section};
use crate::console::settings::{self, AuthSection, MiscAuth};
use crate::directory::TestReport;
use crate::service::directory as directory_svc;
use crate::service::error::{FieldErrors, Problem, ServiceError};
use crate::service::settings as svc;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_core::ldap::GROUP_TYPES;
use portcullis_core::settings::{ENCRYPTED, LDAP_PREFIXES};
use serde_json::{Map, Value, json};

/// The settings category the section edits.
pub const SLUG: &str = "ldap";

/// Prefix of the default server slot's keys.
const P: &str = "AUTH_LDAP_";

/// The search scopes the selects offer (AWX's names).
pub const SCOPES: [&str; 3] = ["SCOPE_SUBTREE", "SCOPE_ONELEVEL", "SCOPE_BASE"];

/// Form field names of the inputs that are not a whole setting (one part of a JSON value).
mod field {
    pub const TIMEOUT: &str = "ldap_timeout";
    pub const USER_BASE: &str = "ldap_user_search_base";
    pub const USER_SCOPE: &str = "ldap_user_search_scope";
    pub const USER_FILTER: &str = "ldap_user_search_filter";
    pub const FIRST_NAME: &str = "ldap_attr_first_name";
    pub const LAST_NAME: &str = "ldap_attr_last_name";
    pub const EMAIL: &str = "ldap_attr_email";
    pub const GROUP_BASE: &str = "ldap_group_search_base";
    pub const GROUP_SCOPE: &str = "ldap_group_search_scope";
    pub const GROUP_FILTER: &str = "ldap_group_search_filter";
    pub const MEMBER_ATTR: &str = "ldap_member_attr";
    pub const SUPERUSERS: &str = "ldap_superuser_groups";
    pub const AUDITORS: &str = "ldap_auditor_groups";
    pub const CLEAR_PASSWORD: &str = "ldap_clear_bind_password";
}

fn key(suffix: &str) -> String {
    format!("{P}{suffix}")
}

/// One `[base, scope, filter]` search as the form shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText {
    /// Base DN.
    pub base: String,
    /// `SCOPE_SUBTREE`, `SCOPE_ONELEVEL` or `SCOPE_BASE`.
    pub scope: String,
    /// LDAP filter.
    pub filter: String,
}

impl SearchText {
    /// The first triple of a stored search (`[]`, a triple, or a list of triples), and how
    /// many triples the value holds.
    fn of(v: Option<&Value>) -> (Self, usize) {
        let items = v.and_then(Value::as_array).cloned().unwrap_or_default();
        let triple = |t: &[Value]| {
            let s = |i: usize| {
                t.get(i)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            Self {
                base: s(0),
                scope: s(1),
                filter: s(2),
            }
        };
        if items.is_empty() {
            return (Self::default(), 0);
        }
        if items.iter().all(Value::is_array) {
            let first = items
                .first()
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            return (triple(first), items.len());
        }
        (triple(&items), 1)
    }

    fn from_form(form: &FormData, base: &str, scope: &str, filter: &str) -> Self {
        Self {
            base: form.text(base),
            scope: form.text(scope),
            filter: form.text(filter),
        }
    }

    /// `[]` when base and filter are empty (no search), else the AWX triple.
    fn value(&self) -> Value {
        if self.base.is_empty() && self.filter.is_empty() {
            json!([])
        } else {
            json!([self.base, self.scope, self.filter])
        }
    }

    /// True when the search is set.
    pub fn is_set(&self) -> bool {
        !(self.base.is_empty() && self.filter.is_empty())
    }
}

/// The default slot's values as the form shows them (as typed after a refused save).
#[derive(Debug, Clone, Default)]
pub struct LdapValues {
    /// `SERVER_URI`.
    pub uri: String,
    /// `BIND_DN`.
    pub bind_dn: String,
    /// A bind password is stored (the password itself never leaves the server).
    pub password_set: bool,
    /// `START_TLS`.
    pub start_tls: bool,
    /// `CONNECTION_OPTIONS.OPT_NETWORK_TIMEOUT` (seconds), as typed.
    pub timeout: String,
    /// `USER_SEARCH` (its first search).
    pub user_search: SearchText,
    /// How many searches `USER_SEARCH` holds: above 1 it is a search union, configured
    /// through the API; the form then leaves it alone.
    pub user_searches: usize,
    /// `USER_DN_TEMPLATE`.
    pub dn_template: String,
    /// `USER_ATTR_MAP.first_name`.
    pub first_name: String,
    /// `USER_ATTR_MAP.last_name`.
    pub last_name: String,
    /// `USER_ATTR_MAP.email`.
    pub email: String,
    /// `GROUP_SEARCH`.
    pub group_search: SearchText,
    /// `GROUP_TYPE`.
    pub group_type: String,
    /// `GROUP_TYPE_PARAMS.member_attr`.
    pub member_attr: String,
    /// `REQUIRE_GROUP`.
    pub require_group: String,
    /// `DENY_GROUP`.
    pub deny_group: String,
    /// `USER_FLAGS_BY_GROUP.is_superuser`, one DN a line.
    pub superusers: String,
    /// `USER_FLAGS_BY_GROUP.is_system_auditor`, one DN a line.
    pub auditors: String,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A DN or a list of DNs, one a line.
fn lines(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|d| text(Some(d)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => text(other),
    }
}

fn dn_list(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl LdapValues {
    /// The values in force, from the category object the API shows.
    fn of(object: &Map<String, Value>) -> Self {
        let get = |suffix: &str| object.get(&key(suffix));
        let sub = |suffix: &str, k: &str| text(get(suffix).and_then(|o| o.get(k)));
        let (user_search, user_searches) = SearchText::of(get("USER_SEARCH"));
        let flags = get("USER_FLAGS_BY_GROUP");
        Self {
            uri: text(get("SERVER_URI")),
            bind_dn: text(get("BIND_DN")),
            password_set: get("BIND_PASSWORD").and_then(Value::as_str) == Some(ENCRYPTED),
            start_tls: get("START_TLS").and_then(Value::as_bool) == Some(true),
            timeout: sub("CONNECTION_OPTIONS", "OPT_NETWORK_TIMEOUT"),
            user_search,
            user_searches,
            dn_template: text(get("USER_DN_TEMPLATE")),
            first_name: sub("USER_ATTR_MAP", "first_name"),
            last_name: sub("USER_ATTR_MAP", "last_name"),
            email: sub("USER_ATTR_MAP", "email"),
            group_search: SearchText::of(get("GROUP_SEARCH")).0,
            group_type: text(get("GROUP_TYPE")),
            member_attr: sub("GROUP_TYPE_PARAMS", "member_attr"),
            require_group: text(get("REQUIRE_GROUP")),
            deny_group: text(get("DENY_GROUP")),
            superusers: lines(flags.and_then(|f| f.get("is_superuser"))),
            auditors: lines(flags.and_then(|f| f.get("is_system_auditor"))),
        }
    }

    /// The values a form post carries; what the form does not hold (whether a password is
    /// set, a search union) comes from `current`.
    fn from_form(form: &FormData, current: &Self) -> Self {
        let union = current.user_searches > 1;
        Self {
            uri: form.text(&key("SERVER_URI")),
            bind_dn: form.text(&key("BIND_DN")),
            password_set: current.password_set,
            start_tls: form.checked(&key("START_TLS")),
            timeout: form.text(field::TIMEOUT),
            user_search: if union {
                current.user_search.clone()
            } else {
                SearchText::from_form(
                    form,
                    field::USER_BASE,
                    field::USER_SCOPE,
                    field::USER_FILTER,
                )
            },
            user_searches: current.user_searches,
            dn_template: form.text(&key("USER_DN_TEMPLATE")),
            first_name: form.text(field::FIRST_NAME),
            last_name: form.text(field::LAST_NAME),
            email: form.text(field::EMAIL),
            group_search: SearchText::from_form(
                form,
                field::GROUP_BASE,
                field::GROUP_SCOPE,
                field::GROUP_FILTER,
            ),
            group_type: form.text(&key("GROUP_TYPE")),
            member_attr: form.text(field::MEMBER_ATTR),
            require_group: form.text(&key("REQUIRE_GROUP")),
            deny_group: form.text(&key("DENY_GROUP")),
            superusers: form.get(field::SUPERUSERS).unwrap_or("").trim().to_owned(),
            auditors: form.get(field::AUDITORS).unwrap_or("").trim().to_owned(),
        }
    }

    /// The PATCH body for the service, in AWX's shapes. Objects the form edits only part of
    /// (`CONNECTION_OPTIONS`, `GROUP_TYPE_PARAMS`) keep their other keys from `current`; a
    /// search union is left out. `password` is the typed password: empty keeps the stored
    /// one (the key is left out) unless `clear` asks to remove it.
    fn patch(
        &self,
        current: &Map<String, Value>,
        password: &str,
        clear: bool,
    ) -> Map<String, Value> {
        let object = |suffix: &str| {
            current
                .get(&key(suffix))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let or_null = |s: &str| {
            if s.is_empty() {
                Value::Null
            } else {
                Value::String(s.to_owned())
            }
        };
        let mut options = object("CONNECTION_OPTIONS");
        if self.timeout.is_empty() {
            options.remove("OPT_NETWORK_TIMEOUT");
        } else {
            // Not a number: sent as typed, so the service's message answers it.
            let t = self
                .timeout
                .parse::<u64>()
                .map_or_else(|_| Value::String(self.timeout.clone()), Value::from);
            options.insert("OPT_NETWORK_TIMEOUT".into(), t);
        }
        let mut attrs = Map::new();
        for (k, v) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("email", &self.email),
        ] {
            if !v.is_empty() {
                attrs.insert(k.into(), Value::String(v.clone()));
            }
        }
        let mut params = object("GROUP_TYPE_PARAMS");
        if self.member_attr.is_empty() {
            params.remove("member_attr");
        } else {
            params.insert(
                "member_attr".into(),
                Value::String(self.member_attr.clone()),
            );
        }
        let mut flags = Map::new();
        for (k, v) in [
            ("is_superuser", &self.superusers),
            ("is_system_auditor", &self.auditors),
        ] {
            let dns = dn_list(v);
            if !dns.is_empty() {
                flags.insert(k.into(), json!(dns));
            }
        }
        let mut m = Map::new();
        m.insert(key("SERVER_URI"), Value::String(self.uri.clone()));
        m.insert(key("BIND_DN"), Value::String(self.bind_dn.clone()));
        if clear {
            m.insert(key("BIND_PASSWORD"), json!(""));
        } else if !password.is_empty() && password != ENCRYPTED {
            m.insert(key("BIND_PASSWORD"), Value::String(password.to_owned()));
        }
        m.insert(key("START_TLS"), Value::Bool(self.start_tls));
        m.insert(key("CONNECTION_OPTIONS"), Value::Object(options));
        if self.user_searches <= 1 {
            m.insert(key("USER_SEARCH"), self.user_search.value());
        }
        m.insert(key("USER_DN_TEMPLATE"), or_null(&self.dn_template));
        m.insert(key("USER_ATTR_MAP"), Value::Object(attrs));
        m.insert(key("GROUP_SEARCH"), self.group_search.value());
        m.insert(key("GROUP_TYPE"), Value::String(self.group_type.clone()));
        m.insert(key("GROUP_TYPE_PARAMS"), Value::Object(params));
        m.insert(key("REQUIRE_GROUP"), or_null(&self.require_group));
        m.insert(key("DENY_GROUP"), or_null(&self.deny_group));
        m.insert(key("USER_FLAGS_BY_GROUP"), Value::Object(flags));
        m
    }
}

/// Which input of a `[base, scope, filter]` search a message of `check_search` is about.
fn search_part<'a>(text: &str, base: &'a str, scope: &'a str, filter: &'a str) -> Option<&'a str> {
    if text.starts_with("Invalid DN") {
        Some(base)
    } else if text.ends_with("is not a valid choice.") {
        Some(scope)
    } else if text.starts_with("Invalid filter") || text.starts_with("DN must include") {
        Some(filter)
    } else {
        None
    }
}

/// The service's messages by form field: a message about a JSON value the form shows as
/// several inputs goes next to the input it is about; anything else stays on the setting's
/// key (shown on the group, or above the form when the form does not show it).
fn field_errors(fields: &FieldErrors, typed: &LdapValues) -> Errors {
    let mut out = Errors::none();
    for (name, problems) in fields.iter() {
        for p in problems {
            let text = match p {
                Problem::Says(s) => s.clone(),
                Problem::Required => "This field is required.".into(),
                Problem::Invalid => "This value is not valid.".into(),
            };
            let suffix = name.strip_prefix(P).unwrap_or(name);
            let target = match suffix {
                "CONNECTION_OPTIONS" => Some(field::TIMEOUT),
                "USER_SEARCH" => search_part(
                    &text,
                    field::USER_BASE,
                    field::USER_SCOPE,
                    field::USER_FILTER,
                ),
                "GROUP_SEARCH" => search_part(
                    &text,
                    field::GROUP_BASE,
                    field::GROUP_SCOPE,
                    field::GROUP_FILTER,
                ),
                "GROUP_TYPE_PARAMS" => Some(field::MEMBER_ATTR),
                "USER_FLAGS_BY_GROUP" => text.strip_prefix("Invalid DN: ").map(|dn| {
                    if dn_list(&typed.superusers).iter().any(|d| d == dn) {
                        field::SUPERUSERS
                    } else {
                        field::AUDITORS
                    }
                }),
                _ => None,
            };
            out.say(target.unwrap_or(name), text);
        }
    }
    out
}

/// The names the section shows messages for (anything else goes above the form).
fn shown() -> Vec<String> {
    let mut v: Vec<String> = [
        "SERVER_URI",
        "BIND_DN",
        "BIND_PASSWORD",
        "START_TLS",
        "USER_SEARCH",
        "USER_DN_TEMPLATE",
        "USER_ATTR_MAP",
        "GROUP_SEARCH",
        "GROUP_TYPE",
        "REQUIRE_GROUP",
        "DENY_GROUP",
        "USER_FLAGS_BY_GROUP",
    ]
    .iter()
    .map(|s| key(s))
    .collect();
    v.extend(
        [
            field::TIMEOUT,
            field::USER_BASE,
            field::USER_SCOPE,
            field::USER_FILTER,
            field::GROUP_BASE,
            field::GROUP_SCOPE,
            field::GROUP_FILTER,
            field::MEMBER_ATTR,
            field::SUPERUSERS,
            field::AUDITORS,
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    v
}

/// One line of a connection test: a URI and what happened.
#[derive(Debug, Clone)]
pub struct TestLine {
    /// The server slot's name (`LDAP`, `LDAP 1` …).
    pub server: String,
    /// The URI tried.
    pub uri: String,
    /// True when every step passed.
    pub ok: bool,
    /// "connected, bound as …", or "Failed at `stage`: `detail`".
    pub message: String,
}

/// The result of "Test connection", when one was run.
#[derive(Debug, Clone, Default)]
pub struct TestResult {
    /// Lines, per server slot and URI; empty when no server is configured.
    pub lines: Vec<TestLine>,
}

/// The display name of a slot prefix: `LDAP` for the default, `LDAP 1` … for the others.
fn slot_name(prefix: &str) -> String {
    match prefix
        .strip_prefix(P)
        .and_then(|r| r.strip_suffix('_'))
        .filter(|n| !n.is_empty())
    {
        Some(n) => format!("LDAP {n}"),
        None => "LDAP".into(),
    }
}

impl TestResult {
    /// The lines of `reports`, one per slot and URI.
    fn of(reports: &[TestReport]) -> Self {
        let mut lines = Vec::new();
        for report in reports {
            for (uri, r) in &report.results {
                let (ok, message) = match r {
                    Ok(msg) => (true, format!("OK: {msg}")),
                    Err(e) => (
                        false,
                        format!("Failed at {}: {}", e.stage.as_str(), e.detail),
                    ),
                };
                lines.push(TestLine {
                    server: slot_name(report.slot),
                    uri: uri.clone(),
                    ok,
                    message,
                });
            }
        }
        Self { lines }
    }
}

/// A server slot other than the default, configured through the API.
#[derive(Debug, Clone)]
pub struct OtherServer {
    /// `LDAP 1` … `LDAP 5`.
    pub name: String,
    /// Its `SERVER_URI`.
    pub uri: String,
}

/// The section, in view or edit mode.
#[derive(Debug, Clone, Default)]
pub struct LdapSection {
    /// The values shown (in force, or as typed when a save was refused).
    pub v: LdapValues,
    /// Edit mode (the form) instead of view mode.
    pub editing: bool,
    /// Messages next to the fields.
    pub errors: Errors,
    /// Messages of fields the form does not show.
    pub other: Vec<String>,
    /// A confirmation after a save.
    pub saved: bool,
    /// The servers `AUTH_LDAP_1_` … `AUTH_LDAP_5_` that have a URI.
    pub others: Vec<OtherServer>,
    /// The result of "Test connection", when the page answers one.
    pub test: Option<TestResult>,
}

/// A text input of the form.
#[derive(Debug, Clone)]
pub struct TextField {
    /// Form field name (and element id).
    pub name: String,
    /// Label.
    pub label: &'static str,
    /// Value shown.
    pub value: String,
    /// Help under the field ("" for none).
    pub hint: &'static str,
    /// The service's messages for the field ("" for none).
    pub error: String,
}

/// A select of the form.
#[derive(Debug, Clone)]
pub struct SelectField {
    /// Form field name (and element id).
    pub name: String,
    /// Label.
    pub label: &'static str,
    /// The options (value = text).
    pub options: Vec<&'static str>,
    /// The chosen option.
    pub value: String,
    /// The service's messages for the field ("" for none).
    pub error: String,
}

impl SelectField {
    /// True when `option` is the chosen one.
    pub fn is(&self, option: &&str) -> bool {
        self.value == *option
    }

    /// True when the value is none of the options (a stored value the form cannot offer).
    pub fn unknown(&self) -> bool {
        !self.value.is_empty() && !self.options.contains(&self.value.as_str())
    }
}

impl LdapSection {
    fn text(&self, name: &str, label: &'static str, value: &str, hint: &'static str) -> TextField {
        TextField {
            name: name.to_owned(),
            label,
            value: value.to_owned(),
            hint,
            error: self.errors.of(name),
        }
    }

    fn scope(&self, name: &str, value: &str) -> SelectField {
        SelectField {
            name: name.to_owned(),
            label: "Scope",
            options: SCOPES.to_vec(),
            value: if value.is_empty() {
                SCOPES[0].to_owned()
            } else {
                value.to_owned()
            },
            error: self.errors.of(name),
        }
    }

    /// The messages of a setting's key (shown on its group).
    pub fn error_of(&self, suffix: &str) -> String {
        self.errors.of(&key(suffix))
    }

    /// The connection fields before the password.
    pub fn server_fields(&self) -> Vec<TextField> {
        vec![
            self.text(
                &key("SERVER_URI"),
                "Server URI",
                &self.v.uri,
                "ldap:// or ldaps:// URIs, separated by spaces or commas, tried in order. Empty disables this server.",
            ),
            self.text(
                &key("BIND_DN"),
                "Bind DN",
                &self.v.bind_dn,
                "The service account that searches for users and groups.",
            ),
        ]
    }

    /// The bind password's messages.
    pub fn password_error(&self) -> String {
        self.error_of("BIND_PASSWORD")
    }

    /// The connection timeout field.
    pub fn timeout_field(&self) -> TextField {
        self.text(
            field::TIMEOUT,
            "Connection timeout (seconds)",
            &self.v.timeout,
            "OPT_NETWORK_TIMEOUT: bounds connecting and every operation; 1 to 3600, empty for 30.",
        )
    }

    /// The user search's base and filter.
    pub fn user_search_fields(&self) -> (TextField, SelectField, TextField) {
        (
            self.text(field::USER_BASE, "Base DN", &self.v.user_search.base, ""),
            self.scope(field::USER_SCOPE, &self.v.user_search.scope),
            self.text(
                field::USER_FILTER,
                "Filter",
                &self.v.user_search.filter,
                "Must hold %(user)s, e.g. (uid=%(user)s).",
            ),
        )
    }

    /// The group search's base and filter.
    pub fn group_search_fields(&self) -> (TextField, SelectField, TextField) {
        (
            self.text(field::GROUP_BASE, "Base DN", &self.v.group_search.base, ""),
            self.scope(field::GROUP_SCOPE, &self.v.group_search.scope),
            self.text(
                field::GROUP_FILTER,
                "Filter",
                &self.v.group_search.filter,
                "e.g. (objectClass=groupOfNames).",
            ),
        )
    }

    /// The user DN template.
    pub fn dn_template_field(&self) -> TextField {
        self.text(
            &key("USER_DN_TEMPLATE"),
            "User DN template",
            &self.v.dn_template,
            "Instead of a search, e.g. uid=%(user)s,ou=people,dc=example,dc=com.",
        )
    }

    /// The attribute map's three fields.
    pub fn attr_fields(&self) -> Vec<TextField> {
        vec![
            self.text(
                field::FIRST_NAME,
                "First name attribute",
                &self.v.first_name,
                "",
            ),
            self.text(
                field::LAST_NAME,
                "Last name attribute",
                &self.v.last_name,
                "",
            ),
            self.text(field::EMAIL, "Email attribute", &self.v.email, ""),
        ]
    }

    /// The group type select.
    pub fn group_type_field(&self) -> SelectField {
        let name = key("GROUP_TYPE");
        SelectField {
            error: self.errors.of(&name),
            name,
            label: "Group type",
            options: GROUP_TYPES.to_vec(),
            value: self.v.group_type.clone(),
        }
    }

    /// The fields after the group type.
    pub fn group_fields(&self) -> Vec<TextField> {
        vec![
            self.text(
                field::MEMBER_ATTR,
                "Member attribute",
                &self.v.member_attr,
                "GROUP_TYPE_PARAMS.member_attr, used by MemberDNGroupType (e.g. member).",
            ),
            self.text(
                &key("REQUIRE_GROUP"),
                "Require group",
                &self.v.require_group,
                "Only members of this group may log in.",
            ),
            self.text(
                &key("DENY_GROUP"),
                "Deny group",
                &self.v.deny_group,
                "Members of this group may not log in.",
            ),
        ]
    }

    /// The two textareas of `USER_FLAGS_BY_GROUP`.
    pub fn flag_fields(&self) -> Vec<TextField> {
        vec![
            self.text(
                field::SUPERUSERS,
                "Superuser groups",
                &self.v.superusers,
                "One group DN a line; members become superusers.",
            ),
            self.text(
                field::AUDITORS,
                "Auditor groups",
                &self.v.auditors,
                "One group DN a line; members become system auditors.",
            ),
        ]
    }

    /// The user search union's note (when `USER_SEARCH` holds several searches).
    pub fn union(&self) -> bool {
        self.v.user_searches > 1
    }
}

/// The servers other than the default that have a URI.
fn others(object: &Map<String, Value>) -> Vec<OtherServer> {
    LDAP_PREFIXES
        .iter()
        .skip(1)
        .filter_map(|p| {
            let uri = text(object.get(&format!("{p}SERVER_URI")));
            (!uri.is_empty()).then(|| OtherServer {
                name: slot_name(p),
                uri,
            })
        })
        .collect()
}

/// The section in view mode, from the settings in force.
pub fn section(state: &AppState, editing: bool, saved: bool) -> Result<LdapSection, ServiceError> {
    let object = svc::show(state, SLUG)?;
    Ok(LdapSection {
        v: LdapValues::of(&object),
        editing,
        saved,
        others: others(&object),
        ..LdapSection::default()
    })
}

#[derive(Template)]
#[template(path = "console/settings_ldap.html")]
struct SectionFragment {
    csrf_token: String,
    l: LdapSection,
}

#[derive(Template)]
#[template(path = "console/settings_ldap_test.html")]
struct TestFragment {
    test: TestResult,
}

/// The whole page with this section in `l` (the other section in view mode), or for htmx
/// the section alone.
fn render(state: &AppState, c: &Console, status: StatusCode, l: LdapSection) -> Response {
    if c.htmx {
        return c.respond(
            status,
            &SectionFragment {
                csrf_token: c.csrf_token.clone(),
                l,
            },
        );
    }
    let auth = match svc::show(state, settings::SLUG) {
        Ok(o) => AuthSection {
            v: MiscAuth::of(&o),
            ..AuthSection::default()
        },
        Err(e) => return c.error(e),
    };
    c.respond(
        status,
        &settings::SettingsPage {
            layout: c.layout(Section::Settings, "Settings"),
            csrf_token: c.csrf_token.clone(),
            s: auth,
            l,
        },
    )
}

/// `GET /console/settings/ldap/` (`?edit=1` for the form): for htmx the section alone; a
/// plain GET is sent to the page (`/console/settings/?edit=ldap`).
pub async fn show(
    State(state): State<AppState>,
    c: Console,
    parts: axum::http::request::Parts,
) -> Response {
    if !authz::may_manage_settings(&c.principal.user) {
        return c.forbidden();
    }
    let editing = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "edit=1"));
    if !c.htmx {
        let to = if editing {
            "/console/settings/?edit=ldap#ldap"
        } else {
            "/console/settings/#ldap"
        };
        return c.see_other(to);
    }
    match section(&state, editing, false) {
        Ok(l) => render(&state, &c, StatusCode::OK, l),
        Err(e) => c.error(e),
    }
}

/// `POST /console/settings/ldap/`: saves the default server slot through the settings
/// service. A refused value re-renders the form with the messages (422); a save returns to
/// view mode.
pub async fn save(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    if !authz::may_manage_settings(&c.principal.user) {
        return c.forbidden();
    }
    let current = match svc::show(&state, SLUG) {
        Ok(o) => o,
        Err(e) => return c.error(e),
    };
    let typed = LdapValues::from_form(&form, &LdapValues::of(&current));
    let password = form.get(&key("BIND_PASSWORD")).unwrap_or("");
    let clear = form.checked(field::CLEAR_PASSWORD);
    let patch = typed.patch(&current, password, clear);
    match svc::update(&state, c.principal.user.id, SLUG, &patch).await {
        Ok(object) => {
            if c.htmx {
                let l = LdapSection {
                    v: LdapValues::of(&object),
                    saved: true,
                    others: others(&object),
                    ..LdapSection::default()
                };
                render(&state, &c, StatusCode::OK, l)
            } else {
                c.see_other("/console/settings/?saved=ldap#ldap")
            }
        }
        Err(ServiceError::Invalid(fields)) => {
            let errors = field_errors(&fields, &typed);
            let shown = shown();
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            let l = LdapSection {
                v: typed,
                editing: true,
                other: errors.other(&shown),
                errors,
                saved: false,
                others: others(&current),
                test: None,
            };
            render(&state, &c, StatusCode::UNPROCESSABLE_ENTITY, l)
        }
        Err(e) => c.error(e),
    }
}

/// `POST /console/settings/ldap/test/`: tests every configured server slot
/// ([`directory_svc::test_connection`]) and shows a line per URI; for htmx the lines alone.
pub async fn test(State(state): State<AppState>, c: Console) -> Response {
    if !authz::may_manage_settings(&c.principal.user) {
        return c.forbidden();
    }
    let reports = match directory_svc::test_connection(&state, &c.principal.user).await {
        Ok(r) => r,
        Err(e) => return c.error(e),
    };
    let result = TestResult::of(&reports);
    if c.htmx {
        return c.respond(StatusCode::OK, &TestFragment { test: result });
    }
    match section(&state, false, false) {
        Ok(mut l) => {
            l.test = Some(result);
            render(&state, &c, StatusCode::OK, l)
        }
        Err(e) => c.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{DirectoryError, Stage};

    #[test]
    fn values_round_trip_in_awx_shapes() {
        let current: Map<String, Value> = serde_json::from_value(json!({
            "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 30},
            "AUTH_LDAP_GROUP_TYPE_PARAMS": {"member_attr": "member", "name_attr": "cn"},
            "AUTH_LDAP_BIND_PASSWORD": "$encrypted$",
        }))
        .unwrap();
        let v = LdapValues {
            uri: "ldap://a".into(),
            timeout: "7".into(),
            user_search: SearchText {
                base: "ou=people,dc=x".into(),
                scope: "SCOPE_SUBTREE".into(),
                filter: "(uid=%(user)s)".into(),
            },
            user_searches: 1,
            first_name: "givenName".into(),
            member_attr: "uniqueMember".into(),
            superusers: "cn=a,dc=x\n\n  cn=b,dc=x \n".into(),
            group_type: "MemberDNGroupType".into(),
            ..LdapValues::default()
        };
        let p = v.patch(&current, "", false);
        assert!(!p.contains_key("AUTH_LDAP_BIND_PASSWORD"));
        assert_eq!(
            p["AUTH_LDAP_CONNECTION_OPTIONS"],
            json!({"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 7})
        );
        assert_eq!(
            p["AUTH_LDAP_USER_SEARCH"],
            json!(["ou=people,dc=x", "SCOPE_SUBTREE", "(uid=%(user)s)"])
        );
        assert_eq!(p["AUTH_LDAP_GROUP_SEARCH"], json!([]));
        assert_eq!(p["AUTH_LDAP_USER_DN_TEMPLATE"], Value::Null);
        assert_eq!(
            p["AUTH_LDAP_USER_ATTR_MAP"],
            json!({"first_name": "givenName"})
        );
        assert_eq!(
            p["AUTH_LDAP_GROUP_TYPE_PARAMS"],
            json!({"member_attr": "uniqueMember", "name_attr": "cn"})
        );
        assert_eq!(
            p["AUTH_LDAP_USER_FLAGS_BY_GROUP"],
            json!({"is_superuser": ["cn=a,dc=x", "cn=b,dc=x"]})
        );
        let back = LdapValues::of(&p);
        assert_eq!(back.superusers, "cn=a,dc=x\ncn=b,dc=x");
        assert_eq!(back.timeout, "7");
        assert_eq!(back.user_search, v.user_search);

        assert_eq!(
            v.patch(&current, "pw", false)["AUTH_LDAP_BIND_PASSWORD"],
            json!("pw")
        );
        assert!(
            !v.patch(&current, ENCRYPTED, false)
                .contains_key("AUTH_LDAP_BIND_PASSWORD")
        );
        assert_eq!(
            v.patch(&current, "pw", true)["AUTH_LDAP_BIND_PASSWORD"],
            json!("")
        );
        let typed = LdapValues {
            timeout: "soon".into(),
            ..v.clone()
        };
        assert_eq!(
            typed.patch(&current, "", false)["AUTH_LDAP_CONNECTION_OPTIONS"]["OPT_NETWORK_TIMEOUT"],
            json!("soon")
        );
    }

    #[test]
    fn a_search_union_is_left_alone() {
        let object: Map<String, Value> = serde_json::from_value(json!({
            "AUTH_LDAP_USER_SEARCH": [["ou=a,dc=x", "SCOPE_SUBTREE", "(uid=%(user)s)"],
                                      ["ou=b,dc=x", "SCOPE_ONELEVEL", "(cn=%(user)s)"]],
        }))
        .unwrap();
        let v = LdapValues::of(&object);
        assert_eq!(v.user_searches, 2);
        assert_eq!(v.user_search.base, "ou=a,dc=x");
        assert!(
            !v.patch(&object, "", false)
                .contains_key("AUTH_LDAP_USER_SEARCH")
        );
    }

    #[test]
    fn search_messages_go_next_to_their_input() {
        let mut f = FieldErrors::new();
        f.say("AUTH_LDAP_USER_SEARCH", "Invalid DN: nope");
        f.say(
            "AUTH_LDAP_USER_SEARCH",
            "DN must include \"%(user)s\" placeholder for username: (uid=x)",
        );
        f.say(
            "AUTH_LDAP_GROUP_SEARCH",
            "\"SCOPE_X\" is not a valid choice.",
        );
        f.say(
            "AUTH_LDAP_CONNECTION_OPTIONS",
            "OPT_NETWORK_TIMEOUT must be an integer between 1 and 3600.",
        );
        f.say("AUTH_LDAP_USER_FLAGS_BY_GROUP", "Invalid DN: bad");
        f.say("AUTH_LDAP_SERVER_URI", "Invalid URI");
        f.say("AUTH_LDAP_TEAM_MAP", "elsewhere");
        let typed = LdapValues {
            auditors: "bad".into(),
            ..LdapValues::default()
        };
        let e = field_errors(&f, &typed);
        assert_eq!(e.of(field::USER_BASE), "Invalid DN: nope");
        assert!(e.of(field::USER_FILTER).starts_with("DN must include"));
        assert_eq!(
            e.of(field::GROUP_SCOPE),
            "\"SCOPE_X\" is not a valid choice."
        );
        assert!(e.has(field::TIMEOUT));
        assert_eq!(e.of(field::AUDITORS), "Invalid DN: bad");
        assert_eq!(e.of("AUTH_LDAP_SERVER_URI"), "Invalid URI");
        let shown = shown();
        let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
        assert_eq!(e.other(&shown), ["AUTH_LDAP_TEAM_MAP: elsewhere"]);
    }

    #[test]
    fn test_lines_name_the_server_uri_and_stage() {
        let reports = vec![
            TestReport {
                slot: "AUTH_LDAP_",
                results: vec![("ldap://a".into(), Ok("connected, bound as cn=svc".into()))],
            },
            TestReport {
                slot: "AUTH_LDAP_2_",
                results: vec![(
                    "ldap://b".into(),
                    Err(DirectoryError {
                        uri: "ldap://b".into(),
                        stage: Stage::Connect,
                        detail: "refused".into(),
                    }),
                )],
            },
        ];
        let r = TestResult::of(&reports);
        assert_eq!(r.lines[0].server, "LDAP");
        assert_eq!(r.lines[0].uri, "ldap://a");
        assert!(r.lines[0].ok);
        assert_eq!(r.lines[1].server, "LDAP 2");
        assert_eq!(r.lines[1].uri, "ldap://b");
        assert_eq!(r.lines[1].message, "Failed at connect: refused");
    }
}
