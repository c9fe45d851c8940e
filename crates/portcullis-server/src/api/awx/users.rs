//! `/api/v2/users/` (`docs/awx-compat.md`, "Users").
//!
//! Visibility: superusers and system auditors see everyone, others only themselves. A user
//! addressed by username that the caller may not see is 404 (no username probing); through
//! a numeric id the refusal is 403, as in AWX.

use crate::api::awx::paging::ListParams;
use crate::api::awx::render::UserResponse;
use crate::api::awx::response::{SessionCookies, SessionStart};
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::service::users;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::UserId;
use portcullis_core::principal::Principal;
use portcullis_core::user::User;
use portcullis_store::{Filter, UserField, UserOrder, UserQuery};
use serde_json::Value;

/// Filterable and orderable fields of the users list.
const FIELDS: [&str; 11] = [
    "id",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_superuser",
    "is_system_auditor",
    "ldap_dn",
    "last_login",
    "created",
    "modified",
];

fn field(name: &str) -> Option<UserField> {
    Some(match name {
        "id" => UserField::Id,
        "username" => UserField::Username,
        "first_name" => UserField::FirstName,
        "last_name" => UserField::LastName,
        "email" => UserField::Email,
        "is_superuser" => UserField::IsSuperuser,
        "is_system_auditor" => UserField::IsSystemAuditor,
        "ldap_dn" => UserField::LdapDn,
        "last_login" | "modified" => UserField::LastLogin,
        "created" => UserField::Created,
        _ => return None,
    })
}

/// The request's filter over [`UserField`]s (`ListParams` admitted only [`FIELDS`]).
pub(crate) fn user_filter(params: &ListParams) -> ApiResult<Filter<UserField>> {
    params
        .filter
        .map_fields(|name| field(name))
        .ok_or_else(|| ApiError::BadRequest("Unknown filter field.".into()))
}

/// `GET /api/v2/users/`
#[utoipa::path(get, path = "/api/v2/users/", tag = "users",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("username" = Option<String>, Query, description = "Exact match")),
    responses((status = 200, description = "Paginated users", body = crate::api::awx::paging::Page), (status = 401, description = "Not authenticated")))]
pub async fn list_users(
    State(state): State<AppState>,
    Authed(p): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    list_page(&state, &p, &uri, None).await
}

/// A page of the users `p` may see (only the members of organization `member_of`, when
/// given), with the request's filters, order and paging.
pub(crate) async fn list_page(
    state: &AppState,
    p: &Principal,
    uri: &axum::http::Uri,
    member_of: Option<i64>,
) -> ApiResult<Json<Value>> {
    let params = ListParams::parse(uri.query(), &FIELDS)?;
    let order = params
        .order_by
        .as_ref()
        .and_then(|(f, desc)| {
            field(f).map(|field| UserOrder {
                field,
                descending: *desc,
            })
        })
        .unwrap_or_default();
    let query = UserQuery {
        filter: user_filter(&params)?,
        order,
        only: None,
        member_of,
        limit: params.page_size,
        offset: params.offset(),
    };
    let page = users::list(state, p, query).await?;
    let results = page
        .items
        .iter()
        .map(|u| serde_json::to_value(UserResponse::new(u, p)).unwrap_or(Value::Null))
        .collect();
    Ok(Json(params.envelope(uri.path(), page.total, results)?))
}

/// `POST /api/v2/users/`
#[utoipa::path(post, path = "/api/v2/users/", tag = "users",
    request_body(content = Object, description = "username (required), first_name, last_name, email, is_superuser, is_system_auditor, password"),
    responses((status = 201, description = "Created", body = UserResponse), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn create_user(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    let user = users::create(&state, &p, &body).await?;
    let url = format!("/api/v2/users/{}/", user.id);
    let mut resp = (StatusCode::CREATED, Json(UserResponse::new(&user, &p))).into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Resolves the `<u>` path segment for `viewer` (`docs/awx-compat.md`, "URL handling").
pub async fn resolve(state: &AppState, viewer: &Principal, segment: &str) -> ApiResult<User> {
    let by_id = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    let found = if by_id {
        let id: i64 = segment.parse().map_err(|_| ApiError::NotFound)?;
        state.store.user_by_id(UserId(id)).await?
    } else {
        state.store.user_by_username(segment).await?
    };
    let Some(user) = found else {
        return Err(ApiError::NotFound);
    };
    let visible = viewer.user.can_read_all() || viewer.user.id == user.id;
    match (visible, by_id) {
        (true, _) => Ok(user),
        (false, true) => Err(ApiError::PermissionDenied),
        (false, false) => Err(ApiError::NotFound),
    }
}

/// `GET /api/v2/users/<u>/`
#[utoipa::path(get, path = "/api/v2/users/{u}/", tag = "users",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "The user", body = UserResponse), (status = 403, description = "Not visible (by id)"),
              (status = 404, description = "Not found")))]
pub async fn get_user(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
) -> ApiResult<Json<UserResponse>> {
    let user = resolve(&state, &p, &u).await?;
    Ok(Json(UserResponse::new(&user, &p)))
}

/// `PUT`/`PATCH /api/v2/users/<u>/`
#[utoipa::path(method(put, patch), path = "/api/v2/users/{u}/", tag = "users",
    params(("u" = String, Path, description = "User id or username")),
    request_body(content = Object, description = "Fields to change; password changes end other sessions"),
    responses((status = 200, description = "The user", body = UserResponse), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not allowed")))]
pub async fn update_user(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    let target = resolve(&state, &p, &u).await?;
    let updated = users::update(&state, &p, &target, &body).await?;
    let mut resp = Json(UserResponse::new(&updated.user, &p)).into_response();
    if let Some(token) = updated.new_session {
        // The caller's session survives its own password change under a new id.
        let csrf = state.csrf.mint(state.rng.as_ref(), Some(&token.hash()));
        SessionCookies::new(&state, SessionStart::Rekeyed, &token, &csrf).apply(&mut resp);
    }
    Ok(resp)
}

/// `DELETE /api/v2/users/<u>/`
#[utoipa::path(delete, path = "/api/v2/users/{u}/", tag = "users",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Cannot delete user.")))]
pub async fn delete_user(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
) -> ApiResult<StatusCode> {
    let target = resolve(&state, &p, &u).await?;
    users::delete(&state, &p, &target).await?;
    Ok(StatusCode::NO_CONTENT)
}
