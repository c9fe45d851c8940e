//! The admin web console under `/console/` (`docs/console.md`): server-rendered askama pages
//! with htmx for partial updates, a fourth front-end on the same services and the same
//! authorization policy as the AWX API, `/api/o/` and the MDR API.
//!
//! Policy: the console's pages are a user interface, not an API, so they are registered here,
//! in the console's own route table, and left out of the OpenAPI document (the console's JSON
//! API under `/console/api/` is documented, in `router.rs`). The pages sit behind the same
//! authenticator chain as the API, which checks CSRF for every unsafe request and renews the
//! session; [`form::promote_token`] lets a plain form post present its token to that check.

pub mod activity;
pub mod applications;
pub mod assets;
pub mod connections;
pub mod form;
pub mod login;
pub mod overview;
pub mod page;
pub mod profile;
pub mod settings;
pub mod settings_ldap;
pub mod tokens;
pub mod users;

use crate::auth::chain;
use crate::state::AppState;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// Any other path under `/console/`: the console's 404 page.
async fn not_found() -> Response {
    page::ConsoleError::from(crate::service::error::ServiceError::NotFound("page")).respond(false)
}

async fn to_console() -> Response {
    Redirect::permanent("/console/").into_response()
}

/// The pages behind the authenticator chain.
fn pages() -> Router<AppState> {
    Router::new()
        .route("/console/", get(overview::show))
        .route("/console/logout/", post(login::logout))
        .route("/console/users/", get(users::list))
        .route(
            "/console/users/new/",
            get(users::new_form).post(users::create),
        )
        .route("/console/users/{id}/", get(users::show).post(users::update))
        .route("/console/users/{id}/password/", post(users::reset_password))
        .route("/console/users/{id}/active/", post(users::set_active))
        .route("/console/users/{id}/delete/", post(users::delete))
        .route(
            "/console/profile/",
            get(profile::show).post(profile::update),
        )
        .route("/console/profile/password/", post(profile::password))
        .route(
            "/console/settings/",
            get(settings::show).post(settings::save),
        )
        .route(
            "/console/settings/ldap/",
            get(settings_ldap::show).post(settings_ldap::save),
        )
        .route("/console/settings/ldap/test/", post(settings_ldap::test))
        .route("/console/activity/", get(activity::show))
        .route(
            "/console/connections/",
            get(connections::list).post(connections::create_customer),
        )
        .route(
            "/console/connections/{client_id}/",
            get(connections::customer),
        )
        .route(
            "/console/connections/{client_id}/tenants/",
            post(connections::create_tenant),
        )
        .route(
            "/console/connections/{client_id}/connections/",
            post(connections::create_connection),
        )
        .route(
            "/console/connections/{client_id}/connections/{connection_id}/refresh",
            post(connections::refresh),
        )
        .route(
            "/console/connections/{client_id}/connections/{connection_id}/revoke",
            post(connections::revoke),
        )
        .route(
            "/console/connections/{client_id}/connections/{connection_id}/delete",
            post(connections::delete),
        )
        .route(
            "/console/connections/{client_id}/administrators/",
            post(connections::grant_administrator),
        )
        .route(
            "/console/connections/{client_id}/administrators/{user_id}/remove",
            post(connections::remove_administrator),
        )
        .route("/console/tokens/", get(tokens::list).post(tokens::create))
        .route("/console/tokens/all/", get(tokens::all))
        .route(
            "/console/tokens/revoke/",
            get(tokens::confirm).post(tokens::revoke_bulk),
        )
        .route("/console/tokens/{id}/revoke/", post(tokens::revoke_one))
        .route(
            "/console/applications/",
            get(applications::list).post(applications::create),
        )
        .route("/console/applications/new/", get(applications::new))
        .route(
            "/console/applications/{id}/",
            get(applications::show).post(applications::update),
        )
        .route("/console/applications/{id}/edit/", get(applications::edit))
        .route(
            "/console/applications/{id}/delete/",
            post(applications::delete),
        )
}

/// The console's route table: the login page and the static files (no authentication), and
/// the pages behind the chain, with the form-token layer outside both.
pub fn router(state: &AppState) -> Router<AppState> {
    let authed = pages().route_layer(from_fn_with_state(state.clone(), chain::layer));
    Router::new()
        .route("/console", get(to_console))
        .route("/console/login/", get(login::form).post(login::submit))
        .route("/console/static/{name}", get(assets::serve))
        .route("/console/{*rest}", axum::routing::any(not_found))
        .merge(authed)
        .layer(from_fn_with_state(state.clone(), form::promote_token))
}
