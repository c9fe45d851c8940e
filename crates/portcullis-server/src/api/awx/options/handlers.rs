//! The OPTIONS handlers of the users, `me` and settings views; every permission question is
//! answered by `portcullis_core::authz`.

use super::builder::{Write, detail_options, document, list_options, offers_writes};
use super::tables::{ME, SETTING_CATEGORIES, USERS, setting_fields};
use crate::api::awx::users;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::path::AwxPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use portcullis_core::authz;
use portcullis_core::settings as registry;
use serde_json::Value;

/// `OPTIONS /api/v2/users/`
#[utoipa::path(options, path = "/api/v2/users/", tag = "users",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers"),
              (status = 401, description = "Not authenticated")))]
pub async fn users_options(Authed(p): Authed) -> Json<Value> {
    list_options(&USERS, offers_writes(&p, authz::may_administer_users))
}

/// `OPTIONS /api/v2/users/<u>/`: 200 whether or not the user exists; `actions.PUT` when
/// the caller may change that user (itself or, for superusers, anyone).
#[utoipa::path(options, path = "/api/v2/users/{u}/", tag = "users",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata; actions.PUT when the caller may change the user"),
              (status = 401, description = "Not authenticated")))]
pub async fn user_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let can_change = match users::resolve(&state, &p, &u).await {
        Ok(target) => authz::user_capabilities(&p, &target).0,
        // Missing or invisible: still 200, just without PUT (the CLI probes `…/1/`).
        Err(ApiError::NotFound | ApiError::PermissionDenied) => false,
        Err(e) => return Err(e),
    };
    Ok(detail_options(&USERS, can_change))
}

/// `OPTIONS /api/v2/me/`
#[utoipa::path(options, path = "/api/v2/me/", tag = "users",
    responses((status = 200, description = "AWX metadata (GET only)"),
              (status = 401, description = "Not authenticated")))]
pub async fn me_options(Authed(_): Authed) -> Json<Value> {
    list_options(&ME, false)
}

/// `OPTIONS /api/v2/settings/`
#[utoipa::path(options, path = "/api/v2/settings/", tag = "settings",
    responses((status = 200, description = "AWX metadata (GET only)"),
              (status = 401, description = "Not authenticated")))]
pub async fn settings_list_options(Authed(_): Authed) -> Json<Value> {
    list_options(&SETTING_CATEGORIES, false)
}

/// `OPTIONS /api/v2/settings/<slug>/`: `actions.GET` with every setting of the view
/// (read-only ones marked `read_only`) and, for superusers, `actions.PUT` with one entry
/// per writable setting. The AWX CLI takes the keys of `actions.PUT` of `all` as the only
/// keys `settings modify` accepts.
#[utoipa::path(options, path = "/api/v2/settings/{slug}/", tag = "settings",
    params(("slug" = String, Path, description = "all, changed, authentication, system or ldap")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers"),
              (status = 401, description = "Not authenticated")))]
pub async fn settings_options(Authed(p): Authed, AwxPath(slug): AwxPath<String>) -> Json<Value> {
    let fields = setting_fields(&slug);
    let write = (offers_writes(&p, authz::may_manage_settings) && registry::slug_exists(&slug))
        .then_some(Write::Put);
    Json(document(
        "Setting Detail",
        "Runtime settings of one category.",
        &fields,
        write,
    ))
}
