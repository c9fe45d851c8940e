//! `/api/v2/organizations/<id>/users/`: the members of the built-in `Default`
//! organization, as AWX's attach/detach sub-list (`docs/awx-compat.md`).
//!
//! `GET` lists the members with the users list's filters and visibility. `POST {"id": N}`
//! associates user N (204), `{"id": N, "disassociate": true}` removes it (204), and a body
//! without an id creates a user from it and associates that user (201), which is how the
//! collection's `user` module creates a user "in" an organization. Changes are for
//! superusers (Portcullis has no organization administrators).

use crate::api::awx::render::UserResponse;
use crate::api::awx::resources::organization_id;
use crate::api::awx::users;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::service::users as user_service;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::authz;
use portcullis_core::ids::UserId;
use portcullis_store::StoreError;
use serde_json::{Value, json};

/// `GET /api/v2/organizations/<id>/users/`
#[utoipa::path(get, path = "/api/v2/organizations/{id}/users/", tag = "compatibility",
    params(("id" = String, Path, description = "1 or Default")),
    responses((status = 200, description = "Paginated members the caller may see", body = crate::api::awx::paging::Page),
              (status = 404, description = "No such organization")))]
pub async fn list_organization_users(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let organization = organization_id(&id)?;
    users::list_page(&state, &p, &uri, Some(organization)).await
}

/// AWX's `{"msg": …}` 400 of the attach/detach views.
fn msg(text: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "msg": text }))).into_response()
}

/// Python's truthiness of the `id` value, as AWX tests it (`if sub_id`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `POST /api/v2/organizations/<id>/users/`: associate, disassociate or create.
#[utoipa::path(post, path = "/api/v2/organizations/{id}/users/", tag = "compatibility",
    params(("id" = String, Path, description = "1 or Default")),
    request_body(content = Object, description = "{\"id\": N} to associate, with \"disassociate\": true to remove, or a new user's fields"),
    responses((status = 204, description = "Associated or disassociated"), (status = 201, description = "User created and associated"),
              (status = 400, description = "Bad id, unknown user or invalid user fields"),
              (status = 403, description = "Not a superuser"), (status = 404, description = "No such organization")))]
pub async fn change_organization_users(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    // The organization is looked up first (404 before 403), so this is no `Superuser`
    // extractor.
    let organization = organization_id(&id)?;
    if !authz::may_manage_organizations(&p.user) {
        return Err(ApiError::PermissionDenied);
    }
    let sub_id = body.get("id").filter(|v| truthy(v));
    let disassociate = body.contains_key("disassociate");
    let user = match sub_id {
        None if disassociate => return Ok(msg("\"id\" is required to disassociate")),
        None => None,
        Some(v) => match v.as_i64() {
            Some(n) if v.is_i64() => Some(UserId(n)),
            _ => return Ok(msg("\"id\" field must be an integer.")),
        },
    };
    let Some(user) = user else {
        // No id: create the user from the body, then associate it.
        let created = user_service::create(&state, &p, &body).await?;
        state
            .store
            .set_organization_member(organization, created.id, true)
            .await?;
        let mut resp = (StatusCode::CREATED, Json(UserResponse::new(&created, &p))).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v2/users/{}/", created.id)) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(resp);
    };
    match state
        .store
        .set_organization_member(organization, user, !disassociate)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        // AWX's get_object_or_400 for a missing user.
        Err(StoreError::NotFound) => Err(ApiError::BadRequest(
            "User matching query does not exist.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `OPTIONS /api/v2/organizations/<id>/users/`: the users list's metadata.
#[utoipa::path(options, path = "/api/v2/organizations/{id}/users/", tag = "compatibility",
    params(("id" = String, Path, description = "1 or Default")),
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn organization_users_options(a: Authed) -> Json<Value> {
    crate::api::awx::options::users_options(a).await
}
