//! `/api/v2/settings/` (`docs/awx-compat.md`, "Settings"). Reads by superusers and system auditors;
//! writes by superusers only. Values live in the store and apply without a restart.

use crate::api::awx::filter;
use crate::api::awx::paging::ListParams;
use crate::auth::check::{Authed, Reader, Superuser};
use crate::error::ApiResult;
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::service::settings as svc;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use portcullis_core::authz;
use portcullis_core::settings::Category;
use portcullis_store::filter::ValueKind;
use serde_json::{Map, Value, json};

/// `GET /api/v2/settings/`
#[utoipa::path(get, path = "/api/v2/settings/", tag = "settings",
    responses((status = 200, description = "Categories (empty for normal users)")))]
pub async fn list_settings(
    Authed(p): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let params = ListParams::parse(uri.query(), &["slug", "name", "url"])?;
    let mut entries: Vec<Value> = vec![
        json!({"url": "/api/v2/settings/all/", "slug": "all", "name": "All"}),
        json!({"url": "/api/v2/settings/changed/", "slug": "changed", "name": "Changed"}),
    ];
    entries.extend(Category::ALL.iter().map(|c| {
        json!({"url": format!("/api/v2/settings/{}/", c.slug()), "slug": c.slug(), "name": c.name()})
    }));
    if !authz::may_read_everything(&p.user) {
        entries.clear();
    }
    let entries: Vec<Value> = entries
        .into_iter()
        .filter(|e| {
            filter::row_matches(
                &params.filter,
                e,
                &|_| Some(ValueKind::Text),
                &["slug", "name"],
            )
        })
        .collect();
    let total = i64::try_from(entries.len()).unwrap_or(0);
    let page: Vec<Value> = entries
        .into_iter()
        .skip(usize::try_from(params.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(params.page_size).unwrap_or(0))
        .collect();
    Ok(Json(params.envelope(uri.path(), total, page)?))
}

/// `GET /api/v2/settings/<slug>/`
#[utoipa::path(get, path = "/api/v2/settings/{slug}/", tag = "settings",
    params(("slug" = String, Path, description = "all, changed, authentication, system or ldap")),
    responses((status = 200, description = "Flat object of settings"), (status = 403, description = "Not allowed"),
              (status = 404, description = "Unknown category")))]
pub async fn get_settings(
    State(state): State<AppState>,
    Reader(_): Reader,
    AwxPath(slug): AwxPath<String>,
) -> ApiResult<Json<Map<String, Value>>> {
    Ok(Json(svc::show(&state, &slug)?))
}

/// `PUT`/`PATCH /api/v2/settings/<slug>/`: updates only the keys sent.
#[utoipa::path(method(put, patch), path = "/api/v2/settings/{slug}/", tag = "settings",
    params(("slug" = String, Path, description = "all, authentication, system or ldap")),
    request_body(content = Object, description = "Settings to change"),
    responses((status = 200, description = "The category after the change"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn update_settings(
    State(state): State<AppState>,
    Superuser(p): Superuser,
    AwxPath(slug): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Map<String, Value>>> {
    Ok(Json(svc::update(&state, p.user.id, &slug, &body).await?))
}

/// `DELETE /api/v2/settings/<slug>/`: back to defaults.
#[utoipa::path(delete, path = "/api/v2/settings/{slug}/", tag = "settings",
    params(("slug" = String, Path, description = "all, authentication, system or ldap")),
    responses((status = 204, description = "Reset"), (status = 403, description = "Not a superuser")))]
pub async fn reset_settings(
    State(state): State<AppState>,
    Superuser(p): Superuser,
    AwxPath(slug): AwxPath<String>,
) -> ApiResult<StatusCode> {
    svc::reset(&state, p.user.id, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
