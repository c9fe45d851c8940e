//! The profile page (`docs/console.md`, "Users and profile"): every signed-in user sees
//! their own account, edits their names and e-mail, and changes their own password when it
//! is a local one.
//!
//! Policy: the changes go through `service::users::update` with the caller as both actor and
//! target, so the self-edit rules (no username or superuser change for non-superusers, no
//! password for directory users) are the API's. A password change ends the caller's other
//! sessions and re-keys this one; the new session cookie is set on the answer so the caller
//! stays signed in, as after the AWX user PATCH.

use crate::console::form::FormData;
use crate::console::page::{self, Console, Errors, Layout, Section};
use crate::console::users::{UserView, apply_rekey, password_body};
use crate::service::error::ServiceError;
use crate::service::users;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::user::User;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The profile form's values.
#[derive(Debug, Clone, Default)]
pub struct ProfileForm {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail.
    pub email: String,
}

impl ProfileForm {
    fn of(u: &User) -> Self {
        Self {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/profile.html")]
struct ProfilePage {
    layout: Layout,
    user: UserView,
    form: ProfileForm,
    errors: Errors,
    pw_errors: Errors,
    notice: Option<&'static str>,
}

/// The profile's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    done: Option<String>,
}

fn profile(
    c: &Console,
    form: ProfileForm,
    errors: Errors,
    pw_errors: Errors,
    notice: Option<&'static str>,
) -> ProfilePage {
    ProfilePage {
        layout: c.layout(Section::Profile, "Your profile"),
        user: UserView::of(&c.principal.user),
        form,
        errors,
        pw_errors,
        notice,
    }
}

/// `GET /console/profile/`
pub async fn show(c: Console, parts: Parts) -> Response {
    let q: ProfileQuery = page::query(&parts);
    let notice = match q.done.as_deref() {
        Some("saved") => Some("Changes saved."),
        Some("password") => {
            Some("Your password was changed. Your other sessions have ended; this one goes on.")
        }
        _ => None,
    };
    c.page(&profile(
        &c,
        ProfileForm::of(&c.principal.user),
        Errors::none(),
        Errors::none(),
        notice,
    ))
}

/// `POST /console/profile/`: saves the caller's names and e-mail.
pub async fn update(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    let values = ProfileForm {
        first_name: form.text("first_name"),
        last_name: form.text("last_name"),
        email: form.text("email"),
    };
    let mut body = Map::new();
    body.insert(
        "first_name".into(),
        Value::String(values.first_name.clone()),
    );
    body.insert("last_name".into(), Value::String(values.last_name.clone()));
    body.insert("email".into(), Value::String(values.email.clone()));
    let me = c.principal.user.clone();
    match users::update(&state, &c.principal, &me, &body).await {
        Ok(_) => c.see_other("/console/profile/?done=saved"),
        Err(ServiceError::Invalid(fields)) => c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &profile(&c, values, Errors::from(&fields), Errors::none(), None),
        ),
        Err(e) => c.error(e),
    }
}

/// `POST /console/profile/password/`: changes the caller's own (local) password and keeps
/// them signed in under a re-keyed session.
pub async fn password(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    let me = c.principal.user.clone();
    let refused = |errors: Errors| {
        c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &profile(&c, ProfileForm::of(&me), Errors::none(), errors, None),
        )
    };
    let body = match password_body(&form) {
        Ok(b) => b,
        Err(errors) => return refused(errors),
    };
    match users::update(&state, &c.principal, &me, &body).await {
        Ok(done) => {
            let mut resp = c.see_other("/console/profile/?done=password");
            apply_rekey(&state, &mut resp, done.new_session);
            resp
        }
        Err(ServiceError::Invalid(fields)) => refused(Errors::from(&fields)),
        Err(e) => c.error(e),
    }
}
