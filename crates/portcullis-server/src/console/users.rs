//! The Users pages (`docs/console.md`, "Users and profile"): list with search and paging,
//! create, view and edit, reset a local user's password, deactivate or reactivate, delete.
//!
//! Policy: superusers only (`authz::may_administer_users`); anyone else gets 403 and no
//! link. Every change goes through `service::users` — the same validation, superuser and
//! last-superuser rules and activity entries as `/api/v2/users/` — so this module only reads
//! forms, calls the service and draws the result.

use crate::api::awx::response::{SessionCookies, SessionStart};
use crate::console::form::FormData;
use crate::console::page::{self, Console, Errors, Layout, PAGE_SIZE, Pager, Section, Shown};
use crate::service::error::ServiceError;
use crate::service::users;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_core::ids::UserId;
use portcullis_core::token::PlainToken;
use portcullis_core::user::User;
use portcullis_store::filter::search_terms;
use portcullis_store::{Filter, UserOrder, UserQuery};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Longest search text the list accepts (longer input is cut, not refused).
const MAX_SEARCH_CHARS: usize = 150;

/// A user as the console shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// First and last name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Superuser flag.
    pub superuser: bool,
    /// System auditor flag.
    pub auditor: bool,
    /// Active (may authenticate).
    pub active: bool,
    /// "Local", or the external source ("LDAP", …).
    pub source: String,
    /// True when an external directory manages the password.
    pub external: bool,
    /// Date joined.
    pub joined: Shown,
    /// Directory DN (LDAP users), empty otherwise.
    pub ldap_dn: String,
    /// Last interactive login.
    pub last_login: Option<Shown>,
}

impl UserView {
    /// The view of `u`.
    pub fn of(u: &User) -> Self {
        Self {
            id: u.id.0,
            username: u.username.clone(),
            name: format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_owned(),
            email: u.email.clone(),
            superuser: u.is_superuser,
            auditor: u.is_system_auditor,
            active: u.is_active,
            source: source_name(u),
            external: u.is_external(),
            ldap_dn: u.ldap_dn.clone(),
            joined: Shown::of(u.created_at),
            last_login: Shown::maybe(u.last_login),
        }
    }
}

/// The user's source as the console names it.
pub fn source_name(u: &User) -> String {
    match u.external_account.as_deref() {
        None => "Local".into(),
        Some("ldap") => "LDAP".into(),
        Some("enterprise") => "Enterprise".into(),
        Some("social") => "Social".into(),
        Some(other) => other.to_owned(),
    }
}

/// A form value as a JSON string for the service's body.
fn text(form: &FormData, name: &str) -> Value {
    Value::String(form.text(name))
}

/// The service's body of the "new password" fields: `Err` with the console's own message
/// when the confirmation differs (a typing check, not a password rule: the rules are the
/// service's).
pub fn password_body(form: &FormData) -> Result<Map<String, Value>, Errors> {
    let pw = form.get("password").unwrap_or("");
    let mut errors = Errors::none();
    if pw.is_empty() {
        errors.say("password", "This field is required.");
    } else if form.get("password2").unwrap_or("") != pw {
        errors.say("password2", "The two passwords do not match.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut body = Map::new();
    body.insert("password".into(), Value::String(pw.to_owned()));
    Ok(body)
}

/// Puts the re-keyed session (after a change of one's own password) on `resp`, as the AWX
/// user PATCH does: the caller stays signed in under the new session id.
pub fn apply_rekey(state: &AppState, resp: &mut Response, token: Option<PlainToken>) {
    if let Some(token) = token {
        let csrf = state.csrf.mint(state.rng.as_ref(), Some(&token.hash()));
        SessionCookies::new(state, SessionStart::Rekeyed, &token, &csrf).apply(resp);
    }
}

/// The sentence shown after a successful action (`?done=…`); unknown values show nothing.
fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The user was created.",
        "saved" => "Changes saved.",
        "password" => "The password was changed. The user's other sessions have ended.",
        "deactivated" => "The user was deactivated: their sessions and tokens no longer work.",
        "reactivated" => "The user was reactivated.",
        "deleted" => "The user was deleted.",
        _ => return None,
    })
}

// ---------------------------------------------------------------- list

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct ListPage {
    layout: Layout,
    search: String,
    rows: Vec<UserView>,
    pager: Pager,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console/users_table.html")]
struct ListTable {
    rows: Vec<UserView>,
    pager: Pager,
}

/// `GET /console/users/`: the whole page, or for htmx (the search box) the table only.
pub async fn list(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::may_administer_users(&c.principal.user) {
        return c.forbidden();
    }
    let q: ListQuery = page::query(&parts);
    let search: String = q
        .search
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_SEARCH_CHARS)
        .collect();
    let asked = q.page.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
    // The API's reading of `search`: terms split on spaces and commas, each matched
    // without regard to case.
    let filter = Filter {
        search: search_terms(&search),
        ..Filter::default()
    };
    let query = |page: i64| UserQuery {
        filter: filter.clone(),
        order: UserOrder::default(),
        only: None,
        member_of: None,
        limit: PAGE_SIZE,
        offset: Pager::offset(page),
    };
    let mut found = match users::list(&state, &c.principal, query(asked)).await {
        Ok(p) => p,
        Err(e) => return c.error(e),
    };
    let pager = Pager::new(asked, found.total, &[("search", &search)]);
    if pager.page != asked.max(1) {
        // Past the last page: show the last one rather than an empty table.
        found = match users::list(&state, &c.principal, query(pager.page)).await {
            Ok(p) => p,
            Err(e) => return c.error(e),
        };
    }
    let rows = found.items.iter().map(UserView::of).collect();
    if c.htmx {
        return c.page(&ListTable { rows, pager });
    }
    c.page(&ListPage {
        layout: c.layout(Section::Users, "Users"),
        search,
        rows,
        pager,
        notice: done_text(q.done.as_deref()),
    })
}

// ---------------------------------------------------------------- create

/// The values of the user form, re-shown after an error (never the password).
#[derive(Debug, Clone, Default)]
pub struct UserForm {
    /// Login name.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail.
    pub email: String,
    /// Superuser checkbox.
    pub is_superuser: bool,
}

impl UserForm {
    fn of(u: &User) -> Self {
        Self {
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            is_superuser: u.is_superuser,
        }
    }

    fn read(form: &FormData) -> Self {
        Self {
            username: form.text("username"),
            first_name: form.text("first_name"),
            last_name: form.text("last_name"),
            email: form.text("email"),
            is_superuser: form.checked("is_superuser"),
        }
    }

    fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("username".into(), Value::String(self.username.clone()));
        body.insert("first_name".into(), Value::String(self.first_name.clone()));
        body.insert("last_name".into(), Value::String(self.last_name.clone()));
        body.insert("email".into(), Value::String(self.email.clone()));
        body.insert("is_superuser".into(), Value::Bool(self.is_superuser));
        body
    }
}

#[derive(Template)]
#[template(path = "console/users_new.html")]
struct NewPage {
    layout: Layout,
    form: UserForm,
    errors: Errors,
}

/// `GET /console/users/new/`
pub async fn new_form(c: Console) -> Response {
    if !authz::may_administer_users(&c.principal.user) {
        return c.forbidden();
    }
    c.page(&NewPage {
        layout: c.layout(Section::Users, "New user"),
        form: UserForm::default(),
        errors: Errors::none(),
    })
}

/// `POST /console/users/new/`: creates the user and shows it, or the form with its errors.
pub async fn create(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    if !authz::may_administer_users(&c.principal.user) {
        return c.forbidden();
    }
    let values = UserForm::read(&form);
    let mut body = values.body();
    body.insert("password".into(), text(&form, "password"));
    match users::create(&state, &c.principal, &body).await {
        Ok(u) => c.see_other(&format!("/console/users/{}/?done=created", u.id.0)),
        Err(ServiceError::Invalid(fields)) => c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                layout: c.layout(Section::Users, "New user"),
                form: values,
                errors: Errors::from(&fields),
            },
        ),
        Err(e) => c.error(e),
    }
}

// ---------------------------------------------------------------- detail

#[derive(Template)]
#[template(path = "console/user.html")]
struct DetailPage {
    layout: Layout,
    user: UserView,
    form: UserForm,
    errors: Errors,
    pw_errors: Errors,
    is_self: bool,
    notice: Option<&'static str>,
}

/// The path's user, for a superuser; otherwise the refusal to send.
async fn target(
    state: &AppState,
    c: &Console,
    path: Result<Path<String>, PathRejection>,
) -> Result<User, Response> {
    if !authz::may_administer_users(&c.principal.user) {
        return Err(c.forbidden());
    }
    let id = path
        .ok()
        .and_then(|Path(s)| s.parse::<i64>().ok())
        .ok_or_else(|| c.error(ServiceError::NotFound("user")))?;
    users::get(state, &c.principal, UserId(id))
        .await
        .map_err(|e| c.error(e))
}

fn detail(
    c: &Console,
    u: &User,
    form: UserForm,
    errors: Errors,
    pw_errors: Errors,
    notice: Option<&'static str>,
) -> DetailPage {
    DetailPage {
        layout: c.layout(Section::Users, &format!("User {}", u.username)),
        user: UserView::of(u),
        form,
        errors,
        pw_errors,
        is_self: u.id == c.principal.user.id,
        notice,
    }
}

/// The detail page's query string.
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

/// `GET /console/users/{id}/`
pub async fn show(
    State(state): State<AppState>,
    c: Console,
    parts: Parts,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let u = match target(&state, &c, path).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q: DetailQuery = page::query(&parts);
    c.page(&detail(
        &c,
        &u,
        UserForm::of(&u),
        Errors::none(),
        Errors::none(),
        done_text(q.done.as_deref()),
    ))
}

/// `POST /console/users/{id}/`: saves names, e-mail, username and the superuser flag.
pub async fn update(
    State(state): State<AppState>,
    c: Console,
    path: Result<Path<String>, PathRejection>,
    form: FormData,
) -> Response {
    let u = match target(&state, &c, path).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let values = UserForm::read(&form);
    match users::update(&state, &c.principal, &u, &values.body()).await {
        Ok(done) => c.see_other(&format!("/console/users/{}/?done=saved", done.user.id.0)),
        Err(ServiceError::Invalid(fields)) => c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &detail(&c, &u, values, Errors::from(&fields), Errors::none(), None),
        ),
        Err(e) => c.error(e),
    }
}

/// `POST /console/users/{id}/password/`: an administrator sets a local user's password.
pub async fn reset_password(
    State(state): State<AppState>,
    c: Console,
    path: Result<Path<String>, PathRejection>,
    form: FormData,
) -> Response {
    let u = match target(&state, &c, path).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let refused = |errors: Errors| {
        c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &detail(&c, &u, UserForm::of(&u), Errors::none(), errors, None),
        )
    };
    let body = match password_body(&form) {
        Ok(b) => b,
        Err(errors) => return refused(errors),
    };
    match users::update(&state, &c.principal, &u, &body).await {
        Ok(done) => {
            let mut resp = c.see_other(&format!("/console/users/{}/?done=password", u.id.0));
            apply_rekey(&state, &mut resp, done.new_session);
            resp
        }
        Err(ServiceError::Invalid(fields)) => refused(Errors::from(&fields)),
        Err(e) => c.error(e),
    }
}

/// `POST /console/users/{id}/active/` with `active=true|false`: reactivates or deactivates.
pub async fn set_active(
    State(state): State<AppState>,
    c: Console,
    path: Result<Path<String>, PathRejection>,
    form: FormData,
) -> Response {
    let u = match target(&state, &c, path).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let active = form.checked("active");
    match users::set_active(&state, &c.principal, &u, active).await {
        Ok(_) => {
            let done = if active { "reactivated" } else { "deactivated" };
            c.see_other(&format!("/console/users/{}/?done={done}", u.id.0))
        }
        Err(e) => c.error(e),
    }
}

/// `POST /console/users/{id}/delete/`
pub async fn delete(
    State(state): State<AppState>,
    c: Console,
    path: Result<Path<String>, PathRejection>,
    _form: FormData,
) -> Response {
    let u = match target(&state, &c, path).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match users::delete(&state, &c.principal, &u).await {
        Ok(()) => c.see_other("/console/users/?done=deleted"),
        Err(e) => c.error(e),
    }
}
