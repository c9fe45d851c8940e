//! The "API connections" pages (`docs/console.md`, "API connections"): MDR customers, their
//! tenants and API connections, Refresh with its one-time token, Revoke, Delete, the exchange
//! audit, and (superusers) the customer's MDR administrators.
//!
//! Policy: a thin adapter over `service::mdr_session` and `service::mdr_admins`, which decide
//! who may do what (`authz::may_manage_customer`: superusers and the customer's MDR
//! administrators; creating customers and granting the role: superusers only). A refresh token
//! is rendered once, in the answer to the Refresh post, and never again.

use crate::console::form::FormData;
use crate::console::page::{Console, Errors, Layout, Section, Shown};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::mdr_admins;
use crate::service::mdr_session::{self, Bootstrap, ConnectionInput};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::ids::UserId;
use portcullis_core::mdr::{self, ConnectionStatus, Role};
use portcullis_store::{CustomerRecord, TenantRecord};
use std::collections::HashMap;

/// Exchange audit records the customer page shows.
const AUDIT_ROWS: i64 = 25;

/// The Web Console role names a connection may hold, in the select's order.
const ROLES: [Role; 3] = [
    Role::MdrAdministrator,
    Role::SeniorSecurityOfficer,
    Role::SecurityOfficer,
];

/// A customer in the list.
struct CustomerRow {
    client_id: String,
    name: String,
    created: Shown,
}

#[derive(Template)]
#[template(path = "console/connections.html")]
struct ListPage {
    layout: Layout,
    admin: bool,
    customers: Vec<CustomerRow>,
    name: String,
    errors: Errors,
}

/// A connection as the customer page lists it.
struct ConnectionRow {
    connection_id: String,
    name: String,
    role: String,
    tenants: String,
    status: &'static str,
    status_class: &'static str,
    pending: bool,
    last_used: Option<Shown>,
    created: Shown,
}

/// An exchange audit record as the customer page lists it.
struct AuditRow {
    at: Shown,
    connection: String,
    jti_prefix: String,
    result: String,
    source: String,
}

/// An MDR administrator of the customer.
struct AdminRow {
    user_id: i64,
    username: String,
    granted: Shown,
}

/// A refresh token shown once, after Refresh.
struct TokenShown {
    connection: String,
    token: String,
    expires: Shown,
}

/// What the customer page's forms hold after a refused post.
#[derive(Default)]
struct Forms {
    tenant_name: String,
    tenant_errors: Errors,
    name: String,
    role: String,
    tenants: Vec<String>,
    connection_errors: Errors,
    username: String,
    admin_errors: Errors,
}

#[derive(Template)]
#[template(path = "console/connections_customer.html")]
struct CustomerPage {
    layout: Layout,
    admin: bool,
    customer: CustomerRecord,
    tenants: Vec<TenantRecord>,
    root: &'static str,
    roles: Vec<&'static str>,
    connections: Vec<ConnectionRow>,
    audit: Vec<AuditRow>,
    administrators: Vec<AdminRow>,
    token: Option<TokenShown>,
    forms: Forms,
}

impl CustomerPage {
    /// Whether the tenant scope box of `name` is ticked in the connection form.
    fn scoped(&self, name: &str) -> bool {
        self.forms.tenants.iter().any(|t| t == name)
    }
}

fn status_of(s: ConnectionStatus) -> (&'static str, &'static str) {
    match s {
        ConnectionStatus::PendingActivation => (s.as_str(), "pending"),
        ConnectionStatus::Active => (s.as_str(), "active"),
        ConnectionStatus::Idle => (s.as_str(), "idle"),
    }
}

async fn list_page(state: &AppState, c: &Console, name: String, errors: Errors) -> Response {
    let customers = match mdr_admins::visible_customers(state, Some(&c.principal)).await {
        Ok(list) => list,
        Err(e) => return c.error(e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    c.respond(
        status,
        &ListPage {
            layout: c.layout(Section::Connections, "API connections"),
            admin: c.is_admin(),
            customers: customers
                .into_iter()
                .map(|cu| CustomerRow {
                    created: Shown::of(cu.created_at),
                    client_id: cu.client_id,
                    name: cu.name,
                })
                .collect(),
            name,
            errors,
        },
    )
}

/// `GET /console/connections/`: the customers the caller may manage.
pub async fn list(State(state): State<AppState>, c: Console) -> Response {
    if !c.layout(Section::Connections, "").connections {
        return c.forbidden();
    }
    list_page(&state, &c, String::new(), Errors::none()).await
}

/// `POST /console/connections/`: creates a customer (superusers only).
pub async fn create_customer(
    State(state): State<AppState>,
    c: Console,
    form: FormData,
) -> Response {
    let name = form.text("name");
    match mdr_session::create_customer(&state, Some(&c.principal), &name).await {
        Ok(cu) => c.see_other(&format!("/console/connections/{}/", cu.client_id)),
        Err(ServiceError::Invalid(f)) => list_page(&state, &c, name, Errors::from(&f)).await,
        Err(e) => c.error(e),
    }
}

async fn customer_page(
    state: &AppState,
    c: &Console,
    client_id: &str,
    token: Option<TokenShown>,
    forms: Forms,
) -> ServiceResult<CustomerPage> {
    let actor = Some(&c.principal);
    let customer = mdr_admins::customer(state, actor, client_id).await?;
    let tenants = mdr_admins::tenants(state, actor, client_id).await?;
    let records = mdr_admins::connections(state, actor, client_id).await?;
    let names: HashMap<String, String> = records
        .iter()
        .map(|r| (r.connection_id.clone(), r.name.clone()))
        .collect();
    let connections = records
        .iter()
        .map(|r| {
            let status = mdr_session::connection_status(state, r);
            let (label, class) = status_of(status);
            ConnectionRow {
                connection_id: r.connection_id.clone(),
                name: r.name.clone(),
                role: r.role.clone(),
                tenants: if r.tenants.is_empty() {
                    "All tenants".into()
                } else {
                    r.tenants.join(", ")
                },
                status: label,
                status_class: class,
                pending: status == ConnectionStatus::PendingActivation,
                last_used: Shown::maybe(r.last_used_at),
                created: Shown::of(r.created_at),
            }
        })
        .collect();
    let audit = mdr_admins::exchange_audit(state, actor, client_id, AUDIT_ROWS)
        .await?
        .into_iter()
        .map(|a| {
            let connection = match &a.connection_id {
                Some(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
                None => "—".into(),
            };
            AuditRow {
                at: Shown::of(a.at),
                connection,
                jti_prefix: a.jti_prefix.unwrap_or_else(|| "—".into()),
                result: a.result,
                source: a.source,
            }
        })
        .collect();
    let administrators = if c.is_admin() {
        mdr_admins::administrators(state, actor, client_id)
            .await?
            .into_iter()
            .map(|a| AdminRow {
                user_id: a.user_id.0,
                username: a.username,
                granted: Shown::of(a.granted_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(CustomerPage {
        layout: c.layout(Section::Connections, &customer.name),
        admin: c.is_admin(),
        customer,
        tenants,
        root: mdr::ROOT_WITHOUT_TENANTS,
        roles: ROLES.iter().map(|r| r.as_str()).collect(),
        connections,
        audit,
        administrators,
        token,
        forms,
    })
}

/// Renders the customer page with `status`, or the error that prevents it.
async fn render_customer(
    state: &AppState,
    c: &Console,
    client_id: &str,
    status: StatusCode,
    token: Option<TokenShown>,
    forms: Forms,
) -> Response {
    match customer_page(state, c, client_id, token, forms).await {
        Ok(page) => c.respond(status, &page),
        Err(e) => c.error(e),
    }
}

/// The customer page again with a refused form's messages (422 for field errors, 409 for a
/// conflict such as a taken name), or the error page for anything else.
async fn refused(
    state: &AppState,
    c: &Console,
    client_id: &str,
    e: ServiceError,
    mut forms: Forms,
    set: fn(&mut Forms) -> &mut Errors,
    field: &str,
) -> Response {
    let status = match e {
        ServiceError::Invalid(f) => {
            *set(&mut forms) = Errors::from(&f);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Conflict(why) => {
            set(&mut forms).say(field, capitalized(&why));
            StatusCode::CONFLICT
        }
        other => return c.error(other),
    };
    render_customer(state, c, client_id, status, None, forms).await
}

/// "tenant name is already taken" → "Tenant name is already taken."
fn capitalized(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(s.chars().skip(1))
        .collect();
    out.push('.');
    out
}

fn customer_url(client_id: &str) -> String {
    format!("/console/connections/{client_id}/")
}

/// `GET /console/connections/{client_id}/`
pub async fn customer(
    State(state): State<AppState>,
    c: Console,
    Path(client_id): Path<String>,
) -> Response {
    render_customer(
        &state,
        &c,
        &client_id,
        StatusCode::OK,
        None,
        Forms::default(),
    )
    .await
}

/// `POST /console/connections/{client_id}/tenants/`
pub async fn create_tenant(
    State(state): State<AppState>,
    c: Console,
    Path(client_id): Path<String>,
    form: FormData,
) -> Response {
    let name = form.text("tenant_name");
    match mdr_session::create_tenant(&state, Some(&c.principal), &client_id, &name).await {
        Ok(_) => c.see_other(&customer_url(&client_id)),
        Err(e) => {
            let forms = Forms {
                tenant_name: name,
                ..Forms::default()
            };
            refused(
                &state,
                &c,
                &client_id,
                e,
                forms,
                |f| &mut f.tenant_errors,
                "tenant_name",
            )
            .await
        }
    }
}

/// `POST /console/connections/{client_id}/connections/`: creates a connection in Pending
/// activation. The token minted with it is not shown: Refresh issues the one to hand over
/// (and revokes this one), so the console has a single place where a token appears.
pub async fn create_connection(
    State(state): State<AppState>,
    c: Console,
    Path(client_id): Path<String>,
    form: FormData,
) -> Response {
    let name = form.text("name");
    let role = form.text("role");
    let tenants: Vec<String> = form.all("tenants").into_iter().map(str::to_owned).collect();
    let input = ConnectionInput {
        name: (!name.is_empty()).then(|| name.clone()),
        role: (!role.is_empty()).then(|| role.clone()),
        tenants: Some(tenants.clone()),
    };
    match mdr_session::create_connection(&state, Some(&c.principal), &client_id, input).await {
        Ok(_) => c.see_other(&customer_url(&client_id)),
        Err(e) => {
            let forms = Forms {
                name,
                role,
                tenants,
                ..Forms::default()
            };
            refused(
                &state,
                &c,
                &client_id,
                e,
                forms,
                |f| &mut f.connection_errors,
                "name",
            )
            .await
        }
    }
}

/// `POST /console/connections/{client_id}/connections/{connection_id}/refresh`: a new
/// refresh token, shown once in this answer (Pending activation only).
pub async fn refresh(
    State(state): State<AppState>,
    c: Console,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> Response {
    match mdr_session::refresh_connection(&state, Some(&c.principal), &client_id, &connection_id)
        .await
    {
        Ok(Bootstrap {
            connection,
            token,
            expires_at,
        }) => {
            let shown = TokenShown {
                connection: connection.name,
                token,
                expires: Shown::of(expires_at),
            };
            render_customer(
                &state,
                &c,
                &client_id,
                StatusCode::OK,
                Some(shown),
                Forms::default(),
            )
            .await
        }
        Err(e) => c.error(e),
    }
}

/// `POST /console/connections/{client_id}/connections/{connection_id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    c: Console,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> Response {
    match mdr_session::revoke_connection(&state, Some(&c.principal), &client_id, &connection_id)
        .await
    {
        Ok(_) => c.see_other(&customer_url(&client_id)),
        Err(e) => c.error(e),
    }
}

/// `POST /console/connections/{client_id}/connections/{connection_id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    c: Console,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> Response {
    match mdr_session::delete_connection(&state, Some(&c.principal), &client_id, &connection_id)
        .await
    {
        Ok(()) => c.see_other(&customer_url(&client_id)),
        Err(e) => c.error(e),
    }
}

/// `POST /console/connections/{client_id}/administrators/`: grants the MDR administrator
/// role (superusers only).
pub async fn grant_administrator(
    State(state): State<AppState>,
    c: Console,
    Path(client_id): Path<String>,
    form: FormData,
) -> Response {
    let username = form.text("username");
    match mdr_admins::grant_administrator(&state, Some(&c.principal), &client_id, &username).await {
        Ok(_) => c.see_other(&customer_url(&client_id)),
        Err(e) => {
            let forms = Forms {
                username,
                ..Forms::default()
            };
            refused(
                &state,
                &c,
                &client_id,
                e,
                forms,
                |f| &mut f.admin_errors,
                "username",
            )
            .await
        }
    }
}

/// `POST /console/connections/{client_id}/administrators/{user_id}/remove` (superusers only).
pub async fn remove_administrator(
    State(state): State<AppState>,
    c: Console,
    Path((client_id, user_id)): Path<(String, i64)>,
) -> Response {
    match mdr_admins::revoke_administrator(&state, Some(&c.principal), &client_id, UserId(user_id))
        .await
    {
        Ok(()) => c.see_other(&customer_url(&client_id)),
        Err(e) => c.error(e),
    }
}
