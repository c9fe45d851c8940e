//! The documented inventory and host views.

use super::registry::{
    Hosts, Inventories, Registry, create, delete, detail_options, fetch, list, update,
};
use crate::api::awx::options::{self, offers_writes};
use crate::auth::check::Authed;
use crate::error::ApiResult;
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use portcullis_core::authz;
use serde_json::Value;

/// `GET /api/v2/inventories/`
#[utoipa::path(get, path = "/api/v2/inventories/", tag = "inventories",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match"),
           ("organization" = Option<String>, Query, description = "Exact match (`null` for none)")),
    responses((status = 200, description = "Paginated inventories", body = crate::api::awx::paging::Page), (status = 400, description = "Unknown filter field"),
              (status = 401, description = "Not authenticated")))]
pub async fn list_inventories(
    State(state): State<AppState>,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    list::<Inventories>(&state, &uri, &options::INVENTORIES, None).await
}

/// `POST /api/v2/inventories/`
#[utoipa::path(post, path = "/api/v2/inventories/", tag = "inventories",
    request_body(content = Object, description = "name (required), description, organization (null or 1), variables"),
    responses((status = 201, description = "Created"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn create_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    create::<Inventories>(&state, &p, &body).await
}

/// `GET /api/v2/inventories/<id>/`
#[utoipa::path(get, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "The inventory"), (status = 404, description = "Not found")))]
pub async fn get_inventory(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(Inventories::render(
        &fetch::<Inventories>(&state, &id).await?,
    )))
}

/// `PUT`/`PATCH /api/v2/inventories/<id>/` (PUT resets omitted fields to their defaults)
#[utoipa::path(method(put, patch), path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    request_body(content = Object, description = "Fields to change"),
    responses((status = 200, description = "The inventory"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser"), (status = 404, description = "Not found")))]
pub async fn update_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    method: Method,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    update::<Inventories>(&state, &p, &id, &method, &body).await
}

/// `DELETE /api/v2/inventories/<id>/`: also deletes its hosts.
#[utoipa::path(delete, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a superuser"),
              (status = 404, description = "Not found")))]
pub async fn delete_inventory(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    delete::<Inventories>(&state, &p, &id).await
}

/// `GET /api/v2/inventories/<id>/hosts/`
#[utoipa::path(get, path = "/api/v2/inventories/{id}/hosts/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "Paginated hosts of the inventory", body = crate::api::awx::paging::Page), (status = 404, description = "No such inventory")))]
pub async fn list_inventory_hosts(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let inventory = fetch::<Inventories>(&state, &id).await?;
    list::<Hosts>(&state, &uri, &options::INVENTORY_HOSTS, Some(inventory.id)).await
}

/// `GET /api/v2/hosts/`
#[utoipa::path(get, path = "/api/v2/hosts/", tag = "inventories",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match"),
           ("inventory" = Option<i64>, Query, description = "Exact match")),
    responses((status = 200, description = "Paginated hosts", body = crate::api::awx::paging::Page), (status = 400, description = "Unknown filter field"),
              (status = 401, description = "Not authenticated")))]
pub async fn list_hosts(
    State(state): State<AppState>,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    list::<Hosts>(&state, &uri, &options::HOSTS, None).await
}

/// `POST /api/v2/hosts/`
#[utoipa::path(post, path = "/api/v2/hosts/", tag = "inventories",
    request_body(content = Object, description = "name and inventory (required), description, enabled, instance_id, variables"),
    responses((status = 201, description = "Created"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser, or a read-scope token")))]
pub async fn create_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    create::<Hosts>(&state, &p, &body).await
}

/// `GET /api/v2/hosts/<id>/`
#[utoipa::path(get, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 200, description = "The host"), (status = 404, description = "Not found")))]
pub async fn get_host(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(Hosts::render(&fetch::<Hosts>(&state, &id).await?)))
}

/// `PUT`/`PATCH /api/v2/hosts/<id>/` (PUT resets omitted fields to their defaults)
#[utoipa::path(method(put, patch), path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    request_body(content = Object, description = "Fields to change"),
    responses((status = 200, description = "The host"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser"), (status = 404, description = "Not found")))]
pub async fn update_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    method: Method,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    update::<Hosts>(&state, &p, &id, &method, &body).await
}

/// `DELETE /api/v2/hosts/<id>/`
#[utoipa::path(delete, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a superuser"),
              (status = 404, description = "Not found")))]
pub async fn delete_host(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    delete::<Hosts>(&state, &p, &id).await
}

/// `OPTIONS /api/v2/inventories/`
#[utoipa::path(options, path = "/api/v2/inventories/", tag = "inventories",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn inventories_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(
        &options::INVENTORIES,
        offers_writes(&p, authz::may_manage_organizations),
    )
}

/// `OPTIONS /api/v2/inventories/<id>/`: 200 whether or not it exists.
#[utoipa::path(options, path = "/api/v2/inventories/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers on an existing inventory")))]
pub async fn inventory_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    detail_options::<Inventories>(&state, &p, &id).await
}

/// `OPTIONS /api/v2/inventories/<id>/hosts/`
#[utoipa::path(options, path = "/api/v2/inventories/{id}/hosts/", tag = "inventories",
    params(("id" = String, Path, description = "Inventory id")),
    responses((status = 200, description = "AWX metadata (GET only)")))]
pub async fn inventory_hosts_options(Authed(_): Authed) -> Json<Value> {
    options::list_options(&options::INVENTORY_HOSTS, false)
}

/// `OPTIONS /api/v2/hosts/`
#[utoipa::path(options, path = "/api/v2/hosts/", tag = "inventories",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn hosts_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(
        &options::HOSTS,
        offers_writes(&p, authz::may_manage_organizations),
    )
}

/// `OPTIONS /api/v2/hosts/<id>/`: 200 whether or not it exists.
#[utoipa::path(options, path = "/api/v2/hosts/{id}/", tag = "inventories",
    params(("id" = String, Path, description = "Host id")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers on an existing host")))]
pub async fn host_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    detail_options::<Hosts>(&state, &p, &id).await
}
