//! The OAuth2 application pages (`docs/console.md`, "Tokens and applications"), for
//! administrators (`authz::may_manage_applications`): list, create (the client secret shown
//! once), detail with the application's tokens, edit, delete.
//!
//! Policy: the form is turned into the AWX body and handed to [`applications::create`] and
//! [`applications::update`], so validation and its messages are the API's.

use crate::console::form::FormData;
use crate::console::page::{Console, Errors, Layout, PAGE_SIZE, Pager, Section, Shown};
use crate::console::tokens::{TokenRow, page_of, query};
use crate::service::applications;
use crate::service::error::{ServiceError, ServiceResult};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_store::{ApplicationQuery, ApplicationRecord};
use serde::Deserialize;
use serde_json::{Map, Value};

/// An application as the console shows it (never its secret).
#[derive(Debug, Clone)]
pub struct AppView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Public client id.
    pub client_id: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// `authorization-code` or `password`.
    pub grant_type: String,
    /// Space-separated redirect URIs.
    pub redirect_uris: String,
    /// Consent page skipped.
    pub skip_authorization: bool,
    /// Creation.
    pub created: Shown,
    /// Last change.
    pub modified: Shown,
}

impl AppView {
    fn of(a: &ApplicationRecord) -> Self {
        Self {
            id: a.id.0,
            name: a.name.clone(),
            description: a.description.clone(),
            client_id: a.client_id.clone(),
            client_type: a.client_type.clone(),
            grant_type: a.authorization_grant_type.clone(),
            redirect_uris: a.redirect_uris.clone(),
            skip_authorization: a.skip_authorization,
            created: Shown::of(a.created_at),
            modified: Shown::of(a.modified_at),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: i64,
}

#[derive(Template)]
#[template(path = "console/applications.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<AppView>,
    pager: Pager,
}

/// `GET /console/applications/`
pub async fn list(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::may_manage_applications(&c.principal.user) {
        return c.forbidden();
    }
    let q: PageQuery = crate::console::page::query(&parts);
    let found = state
        .store
        .list_applications(&ApplicationQuery {
            filters: Vec::new(),
            order: None,
            limit: PAGE_SIZE,
            offset: Pager::offset(q.page),
        })
        .await;
    match found {
        Ok(found) => c.page(&ListPage {
            layout: c.layout(Section::Applications, "Applications"),
            rows: found.items.iter().map(AppView::of).collect(),
            pager: Pager::new(q.page, found.total, &[]),
        }),
        Err(e) => c.error(e.into()),
    }
}

/// The form's values, as typed.
#[derive(Debug, Clone)]
struct Fields {
    name: String,
    description: String,
    client_type: String,
    grant_type: String,
    redirect_uris: String,
    skip_authorization: bool,
}

impl Fields {
    fn blank() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            client_type: "confidential".into(),
            grant_type: "authorization-code".into(),
            redirect_uris: String::new(),
            skip_authorization: false,
        }
    }

    fn of(a: &ApplicationRecord) -> Self {
        Self {
            name: a.name.clone(),
            description: a.description.clone(),
            client_type: a.client_type.clone(),
            grant_type: a.authorization_grant_type.clone(),
            redirect_uris: a.redirect_uris.clone(),
            skip_authorization: a.skip_authorization,
        }
    }

    fn read(form: &FormData) -> Self {
        Self {
            name: form.text("name"),
            description: form.text("description"),
            client_type: form.text("client_type"),
            grant_type: form.text("authorization_grant_type"),
            redirect_uris: form
                .text("redirect_uris")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            skip_authorization: form.checked("skip_authorization"),
        }
    }

    /// The AWX body the service validates; the grant type only when creating (it is
    /// read-only afterwards).
    fn body(&self, creating: bool) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("name".into(), Value::from(self.name.clone()));
        b.insert("description".into(), Value::from(self.description.clone()));
        b.insert("client_type".into(), Value::from(self.client_type.clone()));
        if creating {
            b.insert(
                "authorization_grant_type".into(),
                Value::from(self.grant_type.clone()),
            );
        }
        b.insert(
            "redirect_uris".into(),
            Value::from(self.redirect_uris.clone()),
        );
        b.insert(
            "skip_authorization".into(),
            Value::from(self.skip_authorization),
        );
        b
    }
}

#[derive(Template)]
#[template(path = "console/application_form.html")]
struct FormPage {
    layout: Layout,
    /// The application being edited; `None` when creating.
    editing: Option<i64>,
    f: Fields,
    errors: Errors,
}

impl FormPage {
    fn action(&self) -> String {
        match self.editing {
            Some(id) => format!("/console/applications/{id}/"),
            None => "/console/applications/".into(),
        }
    }
}

fn form_page(c: &Console, editing: Option<i64>, f: Fields, errors: Errors) -> FormPage {
    let title = if editing.is_some() {
        "Edit application"
    } else {
        "New application"
    };
    FormPage {
        layout: c.layout(Section::Applications, title),
        editing,
        f,
        errors,
    }
}

/// `GET /console/applications/new/`
pub async fn new(c: Console) -> Response {
    if !authz::may_manage_applications(&c.principal.user) {
        return c.forbidden();
    }
    c.page(&form_page(&c, None, Fields::blank(), Errors::none()))
}

#[derive(Template)]
#[template(path = "console/application_created.html")]
struct CreatedPage {
    layout: Layout,
    app: AppView,
    /// The clear client secret (confidential clients): this page is its one showing.
    secret: Option<String>,
}

/// `POST /console/applications/`: creates the application and shows its secret once.
pub async fn create(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    let f = Fields::read(&form);
    match applications::create(&state, &c.principal, &f.body(true)).await {
        Ok((app, secret)) => c.page(&CreatedPage {
            layout: c.layout(Section::Applications, "Application created"),
            app: AppView::of(&app),
            secret: secret.map(|s| s.expose().to_owned()),
        }),
        Err(ServiceError::Invalid(fields)) => c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&c, None, f, Errors::from(&fields)),
        ),
        Err(e) => c.error(e),
    }
}

fn parse_id(raw: &str) -> ServiceResult<i64> {
    raw.parse()
        .map_err(|_| ServiceError::NotFound("application"))
}

async fn load(state: &AppState, c: &Console, id: &str) -> ServiceResult<ApplicationRecord> {
    if !authz::may_manage_applications(&c.principal.user) {
        return Err(ServiceError::not_permitted());
    }
    applications::load(state, parse_id(id)?).await
}

#[derive(Template)]
#[template(path = "console/application.html")]
struct ShowPage {
    layout: Layout,
    app: AppView,
    rows: Vec<TokenRow>,
    pager: Pager,
    next: String,
}

/// `GET /console/applications/<id>/`: the application and its tokens.
pub async fn show(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    parts: Parts,
) -> Response {
    let q: PageQuery = crate::console::page::query(&parts);
    let gathered = async {
        let app = load(&state, &c, &id).await?;
        let mut tq = query(None);
        tq.application = Some(app.id);
        let (rows, pager) = page_of(&state, tq, q.page, &[]).await?;
        ServiceResult::Ok(ShowPage {
            layout: c.layout(Section::Applications, &app.name),
            app: AppView::of(&app),
            rows,
            pager,
            next: format!("/console/applications/{}/", app.id),
        })
    };
    match gathered.await {
        Ok(p) => c.page(&p),
        Err(e) => c.error(e),
    }
}

/// `GET /console/applications/<id>/edit/`
pub async fn edit(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Response {
    match load(&state, &c, &id).await {
        Ok(app) => c.page(&form_page(
            &c,
            Some(app.id.0),
            Fields::of(&app),
            Errors::none(),
        )),
        Err(e) => c.error(e),
    }
}

/// `POST /console/applications/<id>/`: saves the edit form.
pub async fn update(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let app = match load(&state, &c, &id).await {
        Ok(app) => app,
        Err(e) => return c.error(e),
    };
    let mut f = Fields::read(&form);
    f.grant_type = app.authorization_grant_type.clone();
    match applications::update(&state, &c.principal, &app, &f.body(false)).await {
        Ok(app) => c.see_other(&format!("/console/applications/{}/", app.id)),
        Err(ServiceError::Invalid(fields)) => c.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&c, Some(app.id.0), f, Errors::from(&fields)),
        ),
        Err(e) => c.error(e),
    }
}

/// `POST /console/applications/<id>/delete/`: deletes the application with its tokens.
pub async fn delete(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    _form: FormData,
) -> Response {
    let done = async {
        let app = load(&state, &c, &id).await?;
        applications::delete(&state, &c.principal, &app).await
    };
    match done.await {
        Ok(()) => c.see_other("/console/applications/"),
        Err(e) => c.error(e),
    }
}
