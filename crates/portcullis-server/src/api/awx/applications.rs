//! `/api/v2/applications/` and `/api/v2/applications/<id>/tokens/` (`docs/awx-compat.md`,
//! "Applications").
//!
//! Every authenticated user reads applications (AWX: members of the app's organization);
//! creating, changing and deleting them is `service::applications` (validation, client ids
//! and secrets, activity entries, `authz::may_manage_applications`). The client secret is a
//! `pcl_cs_` credential shown once in the creating 201 and stored only as its SHA-256.

use crate::api::awx::options;
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::api::awx::tokens::{self as token_views, all_tokens};
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::service::applications;
use crate::service::tokens::{self, MASKED};
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use portcullis_core::token::PlainToken;
use portcullis_store::{ApplicationField, ApplicationQuery, ApplicationRecord};
use serde_json::{Map, Value, json};

pub use crate::service::applications::APPLICATION_OBJECT;

/// Filterable and orderable fields.
pub const FIELDS: [&str; 11] = [
    "id",
    "name",
    "description",
    "client_id",
    "client_type",
    "redirect_uris",
    "authorization_grant_type",
    "skip_authorization",
    "organization",
    "created",
    "modified",
];

fn field(name: &str) -> Option<ApplicationField> {
    Some(match name {
        "id" => ApplicationField::Id,
        "name" => ApplicationField::Name,
        "description" => ApplicationField::Description,
        "client_id" => ApplicationField::ClientId,
        "client_type" => ApplicationField::ClientType,
        "redirect_uris" => ApplicationField::RedirectUris,
        "authorization_grant_type" => ApplicationField::AuthorizationGrantType,
        "skip_authorization" => ApplicationField::SkipAuthorization,
        "organization" => ApplicationField::Organization,
        "created" => ApplicationField::Created,
        "modified" => ApplicationField::Modified,
        _ => return None,
    })
}

/// Renders an application; `secret` is the clear secret of the creating response.
async fn render(
    state: &AppState,
    viewer: &Principal,
    a: &ApplicationRecord,
    secret: Option<&PlainToken>,
) -> ApiResult<Value> {
    let id = a.id.0;
    let mut q = all_tokens();
    q.application = Some(a.id);
    if !viewer.user.can_read_all() {
        q.user = Some(viewer.user.id);
    }
    q.limit = 10;
    let toks = state.store.list_tokens(&q).await?;
    let results: Vec<Value> = toks
        .items
        .iter()
        .map(|t| json!({"id": t.id.0, "token": MASKED, "scope": t.scope}))
        .collect();
    let mut related = Map::new();
    related.insert(
        "tokens".into(),
        json!(format!("/api/v2/applications/{id}/tokens/")),
    );
    if let Some(org) = a.organization {
        related.insert(
            "organization".into(),
            json!(format!("/api/v2/organizations/{org}/")),
        );
    }
    related.insert(
        "activity_stream".into(),
        json!(format!("/api/v2/applications/{id}/activity_stream/")),
    );
    let manage = authz::may_manage_applications(&viewer.user) && authz::may_write(viewer);
    let mut v = Map::new();
    v.insert("id".into(), json!(id));
    v.insert("type".into(), json!(APPLICATION_OBJECT));
    v.insert("url".into(), json!(format!("/api/v2/applications/{id}/")));
    v.insert("related".into(), Value::Object(related));
    v.insert(
        "summary_fields".into(),
        json!({"user_capabilities": {"edit": manage, "delete": manage},
               "tokens": {"count": toks.total, "results": results}}),
    );
    v.insert("created".into(), json!(awx_time(a.created_at)));
    v.insert("modified".into(), json!(awx_time(a.modified_at)));
    v.insert("name".into(), json!(a.name));
    v.insert("description".into(), json!(a.description));
    v.insert("client_id".into(), json!(a.client_id));
    // Public clients have no secret at all: the key is absent, as in AWX.
    if a.client_type == "confidential" {
        v.insert(
            "client_secret".into(),
            json!(secret.map_or(MASKED, |s| s.expose())),
        );
    }
    v.insert("client_type".into(), json!(a.client_type));
    v.insert("redirect_uris".into(), json!(a.redirect_uris));
    v.insert(
        "authorization_grant_type".into(),
        json!(a.authorization_grant_type),
    );
    v.insert("skip_authorization".into(), json!(a.skip_authorization));
    v.insert("organization".into(), json!(a.organization));
    Ok(Value::Object(v))
}

async fn load(state: &AppState, id: &str) -> ApiResult<ApplicationRecord> {
    Ok(applications::load(state, parse_id(id)?).await?)
}

/// `GET /api/v2/applications/`
#[utoipa::path(get, path = "/api/v2/applications/", tag = "applications",
    responses((status = 200, description = "Paginated applications", body = crate::api::awx::paging::Page), (status = 401, description = "Not authenticated")))]
pub async fn list_applications(
    State(state): State<AppState>,
    Authed(p): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let params = ListParams::parse(uri.query(), &FIELDS)?;
    let q = ApplicationQuery {
        filters: params
            .exact_filters()?
            .into_iter()
            .filter_map(|(k, v)| field(&k).map(|f| (f, v)))
            .collect(),
        order: params
            .order_by
            .as_ref()
            .and_then(|(f, d)| field(f).map(|f| (f, *d))),
        limit: params.page_size,
        offset: params.offset(),
    };
    let page = state.store.list_applications(&q).await?;
    let mut results = Vec::with_capacity(page.items.len());
    for a in &page.items {
        results.push(render(&state, &p, a, None).await?);
    }
    Ok(Json(params.envelope(uri.path(), page.total, results)?))
}

/// `POST /api/v2/applications/`
#[utoipa::path(post, path = "/api/v2/applications/", tag = "applications",
    request_body(content = Object, description = "name, client_type, authorization_grant_type (required); description, redirect_uris, skip_authorization, organization"),
    responses((status = 201, description = "The application, client secret shown once"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn create_application(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    let (app, secret) = applications::create(&state, &p, &body).await?;
    let body = render(&state, &p, &app, secret.as_ref()).await?;
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v2/applications/{}/", app.id)) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// `GET /api/v2/applications/<id>/`
#[utoipa::path(get, path = "/api/v2/applications/{id}/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "The application (secret masked)"), (status = 404, description = "Not found")))]
pub async fn get_application(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let app = load(&state, &id).await?;
    Ok(Json(render(&state, &p, &app, None).await?))
}

/// `PUT`/`PATCH /api/v2/applications/<id>/`
#[utoipa::path(method(put, patch), path = "/api/v2/applications/{id}/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Object, description = "Fields to change; authorization_grant_type is read-only"),
    responses((status = 200, description = "The application"), (status = 400, description = "Validation errors"),
              (status = 403, description = "Not a superuser")))]
pub async fn update_application(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    let app = load(&state, &id).await?;
    let updated = applications::update(&state, &p, &app, &body).await?;
    Ok(Json(render(&state, &p, &updated, None).await?))
}

/// `DELETE /api/v2/applications/<id>/`: also deletes its tokens and refresh tokens.
#[utoipa::path(delete, path = "/api/v2/applications/{id}/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 204, description = "Deleted with its tokens"), (status = 403, description = "Not a superuser"),
              (status = 404, description = "Not found")))]
pub async fn delete_application(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    let app = load(&state, &id).await?;
    applications::delete(&state, &p, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/applications/<id>/tokens/`
#[utoipa::path(get, path = "/api/v2/applications/{id}/tokens/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "Tokens of the application the caller may see", body = crate::api::awx::paging::Page), (status = 404, description = "Not found")))]
pub async fn list_application_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let app = load(&state, &id).await?;
    let mut q = all_tokens();
    q.application = Some(app.id);
    if !p.user.can_read_all() {
        q.user = Some(p.user.id);
    }
    token_views::list(&state, &uri, q).await
}

/// `POST /api/v2/applications/<id>/tokens/`
#[utoipa::path(post, path = "/api/v2/applications/{id}/tokens/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Object, description = "description, scope"),
    responses((status = 201, description = "Token and refresh token, shown once"), (status = 404, description = "Not found")))]
pub async fn create_application_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    let app = load(&state, &id).await?;
    let mut input = tokens::parse_create(&body)?;
    input.application = Some(app.id.0);
    let issued = tokens::create_for_caller(&state, &p, input, false, true).await?;
    Ok(token_views::created(&issued))
}

/// `OPTIONS /api/v2/applications/`: `actions.POST` for superusers.
#[utoipa::path(options, path = "/api/v2/applications/", tag = "applications",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers")))]
pub async fn applications_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(
        &options::APPLICATIONS,
        options::offers_writes(&p, authz::may_manage_applications),
    )
}

/// `OPTIONS /api/v2/applications/<id>/`: 200 whether or not it exists.
#[utoipa::path(options, path = "/api/v2/applications/{id}/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn application_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let exists = match load(&state, &id).await {
        Ok(_) => true,
        Err(ApiError::NotFound) => false,
        Err(e) => return Err(e),
    };
    Ok(options::detail_options(
        &options::APPLICATIONS,
        exists && options::offers_writes(&p, authz::may_manage_applications),
    ))
}

/// `GET /api/v2/applications/<id>/activity_stream/`: entries about an application (the
/// client secret is never recorded).
#[utoipa::path(get, path = "/api/v2/applications/{id}/activity_stream/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "Entries about the application", body = crate::api::awx::paging::Page), (status = 404, description = "Not found")))]
pub async fn application_activity(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let app = load(&state, &id).await?;
    crate::api::awx::activity::object_activity(&state, APPLICATION_OBJECT, app.id.0, &uri).await
}

/// `OPTIONS /api/v2/applications/<id>/activity_stream/`: the activity list's metadata.
#[utoipa::path(options, path = "/api/v2/applications/{id}/activity_stream/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn application_activity_options(a: Authed) -> Json<Value> {
    crate::api::awx::activity::activity_options(a).await
}

/// `OPTIONS /api/v2/applications/<id>/tokens/`: as every token list.
#[utoipa::path(options, path = "/api/v2/applications/{id}/tokens/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn application_tokens_options(a: Authed) -> Json<Value> {
    token_views::tokens_options(a).await
}
