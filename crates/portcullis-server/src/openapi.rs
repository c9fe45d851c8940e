//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! served at `/api/openapi.json`.

use crate::api::awx::{discovery, login, me, render, settings, users};
use axum::Json;
use utoipa::OpenApi;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Authentication server for REST APIs: the AWX / Astra Automation Controller-compatible API."
    ),
    paths(
        discovery::api_root, discovery::v2_root, discovery::oauth_root, discovery::sso_backends,
        discovery::ping,
        login::login_form, login::login, login::logout,
        me::get_me,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        settings::list_settings, settings::get_settings, settings::update_settings, settings::reset_settings,
    ),
    components(schemas(render::UserResponse)),
    tags(
        (name = "discovery", description = "Read anonymously by AWX clients first"),
        (name = "session", description = "Session login with CSRF"),
        (name = "users", description = "Users and the caller"),
        (name = "settings", description = "Runtime authentication settings"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
