//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! served at `/api/openapi.json`.

use crate::api::awx::{applications, discovery, login, me, oauth, render, settings, tokens, users};
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
        discovery::ping, discovery::config,
        login::login_form, login::login, login::logout,
        me::get_me,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        settings::list_settings, settings::get_settings, settings::update_settings, settings::reset_settings,
        tokens::list_tokens, tokens::create_token, tokens::get_token, tokens::update_token, tokens::delete_token,
        tokens::revoke_tokens, tokens::token_activity, applications::application_activity,
        tokens::list_user_tokens, tokens::create_user_token, tokens::list_personal_tokens,
        tokens::create_personal_token, tokens::list_authorized_tokens, tokens::create_authorized_token,
        applications::list_applications, applications::create_application, applications::get_application,
        applications::update_application, applications::delete_application,
        applications::list_application_tokens, applications::create_application_token,
        oauth::token, oauth::revoke_token, oauth::introspect, oauth::authorize_form, oauth::authorize_decision,
        crate::api::awx::options::users_options, crate::api::awx::options::user_options,
        crate::api::awx::options::me_options, crate::api::awx::options::settings_list_options,
        crate::api::awx::options::settings_options,
        crate::api::awx::resources::stub_list, crate::api::awx::resources::stub_detail,
        crate::api::awx::resources::stub_options,
        crate::api::awx::organizations::list_organization_users,
        crate::api::awx::organizations::change_organization_users,
        crate::api::awx::resources::list_inventories, crate::api::awx::resources::create_inventory,
        crate::api::awx::resources::get_inventory, crate::api::awx::resources::update_inventory,
        crate::api::awx::resources::delete_inventory, crate::api::awx::resources::list_inventory_hosts,
        crate::api::awx::resources::inventories_options, crate::api::awx::resources::inventory_options,
        crate::api::awx::resources::inventory_hosts_options,
        crate::api::awx::resources::list_hosts, crate::api::awx::resources::create_host,
        crate::api::awx::resources::get_host, crate::api::awx::resources::update_host,
        crate::api::awx::resources::delete_host, crate::api::awx::resources::hosts_options,
        crate::api::awx::resources::host_options,
        crate::api::awx::activity::list_activity, crate::api::awx::activity::get_activity,
        crate::api::awx::activity::user_activity, crate::api::awx::activity::activity_options,
        crate::api::awx::activity::entry_options,
    ),
    components(schemas(render::UserResponse)),
    tags(
        (name = "discovery", description = "Read anonymously by AWX clients first"),
        (name = "session", description = "Session login with CSRF"),
        (name = "users", description = "Users and the caller"),
        (name = "settings", description = "Runtime authentication settings"),
        (name = "tokens", description = "OAuth2 personal and application access tokens"),
        (name = "applications", description = "OAuth2 applications"),
        (name = "oauth2", description = "OAuth2 endpoints under /api/o/ (form-encoded)"),
        (name = "compatibility", description = "Lists AWX clients probe; Portcullis does not manage these resources"),
        (name = "inventories", description = "The minimal inventory and host registry"),
        (name = "activity", description = "The AWX activity stream"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
