//! The Settings page (`docs/console.md`, "Settings and activity"): the "Miscellaneous
//! Authentication" section, shown read-only with an Edit button, edited in place (htmx) or on
//! `?edit=1` without the script. The page also holds the "LDAP" section
//! ([`crate::console::settings_ldap`], `?edit=ldap`).
//!
//! Policy: superusers only ([`authz::may_manage_settings`]). A save goes through
//! [`svc::update`] on the `authentication` category, the service behind
//! `PATCH /api/v2/settings/authentication/`: its validation and messages, its activity entries,
//! and its refresh of the settings cache, so a change applies to the next request.

use crate::console::form::FormData;
use crate::console::page::{self, Console, Errors, Layout, Section};
use crate::console::settings_ldap::{self, LdapSection};
use crate::service::error::{FieldErrors, Problem, ServiceError};
use crate::service::settings as svc;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_core::settings::OAUTH2_KEYS;
use serde_json::{Map, Value};

/// The settings category the section edits (every key below belongs to it).
pub(crate) const SLUG: &str = "authentication";

/// The `OAUTH2_PROVIDER` key, whose three lifetimes are shown as separate fields.
const OAUTH2: &str = "OAUTH2_PROVIDER";

/// The section's values as the form shows them (numbers as typed, so a refused value is
/// shown back as it was entered).
#[derive(Debug, Clone, Default)]
pub struct MiscAuth {
    /// `AUTH_BASIC_ENABLED`.
    pub basic: bool,
    /// `ALLOW_OAUTH2_FOR_EXTERNAL_USERS`.
    pub external_oauth2: bool,
    /// `SESSION_COOKIE_AGE` (seconds).
    pub session_age: String,
    /// `SESSIONS_PER_USER` (-1: no limit).
    pub sessions_per_user: String,
    /// `OAUTH2_PROVIDER.ACCESS_TOKEN_EXPIRE_SECONDS`.
    pub access: String,
    /// `OAUTH2_PROVIDER.REFRESH_TOKEN_EXPIRE_SECONDS`.
    pub refresh: String,
    /// `OAUTH2_PROVIDER.AUTHORIZATION_CODE_EXPIRE_SECONDS`.
    pub code: String,
}

fn number(v: Option<&Value>) -> String {
    v.map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
    .unwrap_or_default()
}

impl MiscAuth {
    /// The values in force, from the category object the API shows.
    pub(crate) fn of(object: &Map<String, Value>) -> Self {
        let oauth = object.get(OAUTH2);
        let lifetime = |k: &str| number(oauth.and_then(|o| o.get(k)));
        Self {
            basic: object.get("AUTH_BASIC_ENABLED").and_then(Value::as_bool) == Some(true),
            external_oauth2: object
                .get("ALLOW_OAUTH2_FOR_EXTERNAL_USERS")
                .and_then(Value::as_bool)
                == Some(true),
            session_age: number(object.get("SESSION_COOKIE_AGE")),
            sessions_per_user: number(object.get("SESSIONS_PER_USER")),
            access: lifetime(OAUTH2_KEYS[0].0),
            refresh: lifetime(OAUTH2_KEYS[1].0),
            code: lifetime(OAUTH2_KEYS[2].0),
        }
    }

    /// The values a form post carries.
    fn from_form(form: &FormData) -> Self {
        Self {
            basic: form.checked("AUTH_BASIC_ENABLED"),
            external_oauth2: form.checked("ALLOW_OAUTH2_FOR_EXTERNAL_USERS"),
            session_age: form.text("SESSION_COOKIE_AGE"),
            sessions_per_user: form.text("SESSIONS_PER_USER"),
            access: form.text(OAUTH2_KEYS[0].0),
            refresh: form.text(OAUTH2_KEYS[1].0),
            code: form.text(OAUTH2_KEYS[2].0),
        }
    }

    /// The PATCH body for the service. A number field that does not parse is sent as the
    /// text typed, so the service's own message ("A valid integer is required.") answers it.
    fn patch(&self) -> Map<String, Value> {
        let num = |s: &str| {
            s.parse::<i64>()
                .map_or_else(|_| Value::String(s.to_owned()), Value::from)
        };
        let mut oauth = Map::new();
        for (k, v) in [
            (OAUTH2_KEYS[0].0, &self.access),
            (OAUTH2_KEYS[1].0, &self.refresh),
            (OAUTH2_KEYS[2].0, &self.code),
        ] {
            oauth.insert(k.to_owned(), num(v));
        }
        let mut m = Map::new();
        m.insert("AUTH_BASIC_ENABLED".into(), Value::Bool(self.basic));
        m.insert(
            "ALLOW_OAUTH2_FOR_EXTERNAL_USERS".into(),
            Value::Bool(self.external_oauth2),
        );
        m.insert("SESSION_COOKIE_AGE".into(), num(&self.session_age));
        m.insert("SESSIONS_PER_USER".into(), num(&self.sessions_per_user));
        m.insert(OAUTH2.into(), Value::Object(oauth));
        m
    }
}

/// The service's messages by form field: the `OAUTH2_PROVIDER` messages name the lifetime
/// they are about, so each goes next to its own field (any other stays on the group).
fn field_errors(fields: &FieldErrors) -> Errors {
    let mut out = Errors::none();
    let mut rest = FieldErrors::new();
    for (field, problems) in fields.iter() {
        for p in problems {
            let text = match p {
                Problem::Says(s) => s.clone(),
                _ => {
                    rest.add(field, p.clone());
                    continue;
                }
            };
            let sub = (field == OAUTH2)
                .then(|| OAUTH2_KEYS.iter().find(|(k, _)| text.starts_with(k)))
                .flatten();
            match sub {
                Some((k, _)) => out.say(k, text),
                None => out.say(field, text),
            }
        }
    }
    let shown = Errors::from(&rest);
    for (field, _) in rest.iter() {
        out.say(field, shown.of(field));
    }
    out
}

/// The section, in view or edit mode.
#[derive(Debug, Clone, Default)]
pub struct AuthSection {
    /// The values shown (in force, or as typed when a save was refused).
    pub v: MiscAuth,
    /// Edit mode (the form) instead of view mode.
    pub editing: bool,
    /// Messages next to the fields.
    pub errors: Errors,
    /// Messages of fields the form does not show.
    pub other: Vec<String>,
    /// A confirmation after a save.
    pub saved: bool,
}

/// A number field of the form.
#[derive(Debug, Clone)]
pub struct NumberField {
    /// Form field name (the setting's key, or the `OAUTH2_PROVIDER` key).
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Value shown.
    pub value: String,
    /// Help under the field ("" for none).
    pub hint: &'static str,
    /// The service's messages for the field ("" for none).
    pub error: String,
}

impl AuthSection {
    fn field(
        &self,
        name: &'static str,
        label: &'static str,
        value: &str,
        hint: &'static str,
    ) -> NumberField {
        NumberField {
            name,
            label,
            value: value.to_owned(),
            hint,
            error: self.errors.of(name),
        }
    }

    /// The session fields.
    pub fn session_fields(&self) -> Vec<NumberField> {
        vec![
            self.field(
                "SESSION_COOKIE_AGE",
                "Idle Time Force Log Out (seconds)",
                &self.v.session_age,
                "Seconds of inactivity before a user must log in again; at least 60.",
            ),
            self.field(
                "SESSIONS_PER_USER",
                "Maximum number of simultaneous logged in sessions",
                &self.v.sessions_per_user,
                "-1 for no limit.",
            ),
        ]
    }

    /// The `OAUTH2_PROVIDER` lifetimes.
    pub fn lifetime_fields(&self) -> Vec<NumberField> {
        vec![
            self.field(
                OAUTH2_KEYS[0].0,
                "Access token lifetime",
                &self.v.access,
                "",
            ),
            self.field(
                OAUTH2_KEYS[1].0,
                "Refresh token lifetime",
                &self.v.refresh,
                "",
            ),
            self.field(
                OAUTH2_KEYS[2].0,
                "Authorization code lifetime",
                &self.v.code,
                "",
            ),
        ]
    }
}

/// The field names the form shows (anything else the service says goes above the form).
const SHOWN: [&str; 8] = [
    OAUTH2,
    "AUTH_BASIC_ENABLED",
    "ALLOW_OAUTH2_FOR_EXTERNAL_USERS",
    "SESSION_COOKIE_AGE",
    "SESSIONS_PER_USER",
    OAUTH2_KEYS[0].0,
    OAUTH2_KEYS[1].0,
    OAUTH2_KEYS[2].0,
];

/// The whole page: both sections.
#[derive(Template)]
#[template(path = "console/settings.html")]
pub(crate) struct SettingsPage {
    /// Layout data.
    pub(crate) layout: Layout,
    /// The session's CSRF token for the forms.
    pub(crate) csrf_token: String,
    /// "Miscellaneous Authentication".
    pub(crate) s: AuthSection,
    /// "LDAP".
    pub(crate) l: LdapSection,
}

#[derive(Template)]
#[template(path = "console/settings_auth.html")]
struct SectionFragment {
    csrf_token: String,
    s: AuthSection,
}

/// Query of the settings page.
#[derive(Debug, Default, serde::Deserialize)]
struct SettingsQuery {
    /// `1`: open the section in edit mode (the page without the script); `ldap`: the LDAP
    /// section.
    edit: Option<String>,
    /// `1`: a save just succeeded (`ldap`: of the LDAP section).
    saved: Option<String>,
}

fn render(state: &AppState, c: &Console, status: StatusCode, s: AuthSection) -> Response {
    render_with(state, c, status, s, false, false)
}

fn render_with(
    state: &AppState,
    c: &Console,
    status: StatusCode,
    s: AuthSection,
    ldap_editing: bool,
    ldap_saved: bool,
) -> Response {
    if c.htmx {
        c.respond(
            status,
            &SectionFragment {
                csrf_token: c.csrf_token.clone(),
                s,
            },
        )
    } else {
        let l = match settings_ldap::section(state, ldap_editing, ldap_saved) {
            Ok(l) => l,
            Err(e) => return c.error(e),
        };
        c.respond(
            status,
            &SettingsPage {
                layout: c.layout(Section::Settings, "Settings"),
                csrf_token: c.csrf_token.clone(),
                s,
                l,
            },
        )
    }
}

/// `GET /console/settings/` (`?edit=1` for the form): the page, or for htmx the section.
pub async fn show(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::may_manage_settings(&c.principal.user) {
        return c.forbidden();
    }
    let q: SettingsQuery = page::query(&parts);
    let object = match svc::show(&state, SLUG) {
        Ok(o) => o,
        Err(e) => return c.error(e),
    };
    let section = AuthSection {
        v: MiscAuth::of(&object),
        editing: q.edit.as_deref() == Some("1"),
        saved: q.saved.as_deref() == Some("1"),
        ..AuthSection::default()
    };
    render_with(
        &state,
        &c,
        StatusCode::OK,
        section,
        q.edit.as_deref() == Some("ldap"),
        q.saved.as_deref() == Some("ldap"),
    )
}

/// `POST /console/settings/`: saves the section through the settings service. A refused
/// value re-renders the form with the messages (422); a save returns to view mode.
pub async fn save(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    if !authz::may_manage_settings(&c.principal.user) {
        return c.forbidden();
    }
    let typed = MiscAuth::from_form(&form);
    match svc::update(&state, c.principal.user.id, SLUG, &typed.patch()).await {
        Ok(object) => {
            if c.htmx {
                let section = AuthSection {
                    v: MiscAuth::of(&object),
                    saved: true,
                    ..AuthSection::default()
                };
                render(&state, &c, StatusCode::OK, section)
            } else {
                c.see_other("/console/settings/?saved=1")
            }
        }
        Err(ServiceError::Invalid(fields)) => {
            let errors = field_errors(&fields);
            let section = AuthSection {
                v: typed,
                editing: true,
                other: errors.other(&SHOWN),
                errors,
                saved: false,
            };
            render(&state, &c, StatusCode::UNPROCESSABLE_ENTITY, section)
        }
        Err(e) => c.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oauth2_messages_go_next_to_their_lifetime() {
        let mut f = FieldErrors::new();
        f.say(
            OAUTH2,
            "REFRESH_TOKEN_EXPIRE_SECONDS must be a positive integer.",
        );
        f.say(OAUTH2, "Invalid key names: FOO");
        f.say("SESSION_COOKIE_AGE", "A valid integer is required.");
        let e = field_errors(&f);
        assert_eq!(
            e.of("REFRESH_TOKEN_EXPIRE_SECONDS"),
            "REFRESH_TOKEN_EXPIRE_SECONDS must be a positive integer."
        );
        assert_eq!(e.of(OAUTH2), "Invalid key names: FOO");
        assert_eq!(e.of("SESSION_COOKIE_AGE"), "A valid integer is required.");
        assert!(e.other(&SHOWN).is_empty());
    }

    #[test]
    fn unparsable_numbers_reach_the_service_as_typed() {
        let v = MiscAuth {
            session_age: "abc".into(),
            sessions_per_user: "-1".into(),
            access: "3600".into(),
            ..MiscAuth::default()
        };
        let p = v.patch();
        assert_eq!(p["SESSION_COOKIE_AGE"], json!("abc"));
        assert_eq!(p["SESSIONS_PER_USER"], json!(-1));
        assert_eq!(p[OAUTH2]["ACCESS_TOKEN_EXPIRE_SECONDS"], json!(3600));
        assert_eq!(p["AUTH_BASIC_ENABLED"], json!(false));
    }
}
