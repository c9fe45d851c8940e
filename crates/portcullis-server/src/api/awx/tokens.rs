//! `/api/v2/tokens/` and the per-user token sub-lists (`docs/awx-compat.md`, "Tokens", "Personal
//! tokens").
//!
//! Visibility: the owner, superusers and system auditors read a token; the owner and
//! superusers change or delete it; for anyone else it does not exist (404, as for a missing
//! id — AWX answers 403). Clear values appear only in the 201 of the creating POST.

use crate::api::awx::options;
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::api::awx::users::resolve;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::service::error::ServiceError;
use crate::service::tokens::{self, Issued, MASKED};
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use portcullis_store::{AccessTokenRecord, TokenField, TokenKindFilter, TokenQuery};
use serde_json::{Map, Value, json};

/// Filterable and orderable fields of every token list.
pub const FIELDS: [&str; 8] = [
    "id",
    "description",
    "user",
    "application",
    "expires",
    "scope",
    "created",
    "modified",
];

fn field(name: &str) -> Option<TokenField> {
    Some(match name {
        "id" => TokenField::Id,
        "description" => TokenField::Description,
        "user" => TokenField::User,
        "application" => TokenField::Application,
        "expires" => TokenField::Expires,
        "scope" => TokenField::Scope,
        "created" => TokenField::Created,
        "modified" => TokenField::Modified,
        _ => return None,
    })
}

/// AWX's token object (`docs/awx-compat.md`, "Token object"), keys in AWX's order.
/// `token`/`refresh_token` are the clear values only when given (the creating response); otherwise
/// masked.
pub fn render(r: &AccessTokenRecord, clear: Option<&Issued>) -> Value {
    let id = r.id.0;
    let mut related = Map::new();
    related.insert(
        "user".into(),
        json!(format!("/api/v2/users/{}/", r.user_id)),
    );
    if let Some(app) = r.application_id {
        related.insert(
            "application".into(),
            json!(format!("/api/v2/applications/{app}/")),
        );
    }
    related.insert(
        "activity_stream".into(),
        json!(format!("/api/v2/tokens/{id}/activity_stream/")),
    );
    let mut summary = Map::new();
    summary.insert(
        "user".into(),
        json!({"id": r.user_id.0, "username": r.username, "first_name": r.first_name, "last_name": r.last_name}),
    );
    if let (Some(app), Some(name)) = (r.application_id, &r.application_name) {
        summary.insert("application".into(), json!({"id": app.0, "name": name}));
    }
    let token = clear.map_or(MASKED, |i| i.token.expose());
    let refresh = match (clear.and_then(|i| i.refresh.as_ref()), r.has_refresh) {
        (Some(t), _) => Value::from(t.expose()),
        (None, true) => Value::from(MASKED),
        (None, false) => Value::Null,
    };
    json!({
        "id": id,
        "type": "o_auth2_access_token",
        "url": format!("/api/v2/tokens/{id}/"),
        "related": related,
        "summary_fields": summary,
        "created": awx_time(r.created_at),
        "modified": awx_time(r.modified_at),
        "description": r.description,
        "user": r.user_id.0,
        "token": token,
        "refresh_token": refresh,
        "application": r.application_id.map(|a| a.0),
        "expires": awx_time(r.expires_at),
        "scope": r.scope,
    })
}

/// The 201 of a creating POST: the clear values once, `Location`, and no caching.
pub fn created(issued: &Issued) -> Response {
    let body = render(&issued.record, Some(issued));
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v2/tokens/{}/", issued.record.id)) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// A page of tokens: `base` fixes the user/application/kind; the query adds AWX filters.
pub async fn list(
    state: &AppState,
    uri: &axum::http::Uri,
    mut base: TokenQuery,
) -> ApiResult<Json<Value>> {
    let params = ListParams::parse(uri.query(), &FIELDS)?;
    base.filters = params
        .exact_filters()?
        .into_iter()
        .filter_map(|(k, v)| field(&k).map(|f| (f, v)))
        .collect();
    base.order = params
        .order_by
        .as_ref()
        .and_then(|(f, desc)| field(f).map(|f| (f, *desc)));
    base.limit = params.page_size;
    base.offset = params.offset();
    let page = state.store.list_tokens(&base).await?;
    let results = page.items.iter().map(|t| render(t, None)).collect();
    Ok(Json(params.envelope(uri.path(), page.total, results)?))
}

/// A query for every token, to be narrowed.
pub fn all_tokens() -> TokenQuery {
    TokenQuery {
        user: None,
        application: None,
        kind: TokenKindFilter::All,
        filters: Vec::new(),
        order: None,
        limit: 0,
        offset: 0,
    }
}

/// `GET /api/v2/tokens/`
#[utoipa::path(get, path = "/api/v2/tokens/", tag = "tokens",
    responses((status = 200, description = "Paginated tokens the caller may see (values masked)", body = crate::api::awx::paging::Page),
              (status = 401, description = "Not authenticated")))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let mut q = all_tokens();
    if !p.user.can_read_all() {
        q.user = Some(p.user.id);
    }
    list(&state, &uri, q).await
}

/// `POST /api/v2/tokens/`
#[utoipa::path(post, path = "/api/v2/tokens/", tag = "tokens",
    request_body(content = Object, description = "description, application (null for a personal token), scope (`read`/`write`, default `write`); all optional"),
    responses((status = 201, description = "The token, with its value shown once"),
              (status = 400, description = "Validation errors"),
              (status = 403, description = "Read-scope token, or an external user while not allowed")))]
pub async fn create_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    let input = tokens::parse_create(&body)?;
    let issued = tokens::create_for_caller(&state, &p, input, false, false).await?;
    Ok(created(&issued))
}

/// `GET /api/v2/tokens/<id>/`
#[utoipa::path(get, path = "/api/v2/tokens/{id}/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, description = "The token (masked)"), (status = 404, description = "Not found or not visible")))]
pub async fn get_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let t = tokens::visible(&state, &p.user, parse_id(&id)?).await?;
    Ok(Json(render(&t, None)))
}

/// `PUT`/`PATCH /api/v2/tokens/<id>/`
#[utoipa::path(method(put, patch), path = "/api/v2/tokens/{id}/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    request_body(content = Object, description = "description, scope; other fields are read-only"),
    responses((status = 200, description = "The token (masked)"), (status = 400, description = "Invalid scope"),
              (status = 404, description = "Not found or not visible")))]
pub async fn update_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    let t = tokens::visible(&state, &p.user, parse_id(&id)?).await?;
    let updated = tokens::update(&state, &p, &t, &body).await?;
    Ok(Json(render(&updated, None)))
}

/// `DELETE /api/v2/tokens/<id>/`
#[utoipa::path(delete, path = "/api/v2/tokens/{id}/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204, description = "Deleted; the token fails from the next request"),
              (status = 404, description = "Not found or not visible")))]
pub async fn delete_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<StatusCode> {
    let t = tokens::visible(&state, &p.user, parse_id(&id)?).await?;
    tokens::delete(&state, &p, &t).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which sub-list of a user a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserList {
    /// `tokens/`: all of the user's tokens.
    All,
    /// `personal_tokens/`: PATs only; POST always mints a PAT.
    Personal,
    /// `authorized_tokens/`: application tokens; POST requires `application`.
    Authorized,
}

impl UserList {
    fn kind(self) -> TokenKindFilter {
        match self {
            Self::All => TokenKindFilter::All,
            Self::Personal => TokenKindFilter::Personal,
            Self::Authorized => TokenKindFilter::Application,
        }
    }
}

async fn user_list(
    state: &AppState,
    p: &Principal,
    u: &str,
    uri: &axum::http::Uri,
    which: UserList,
) -> ApiResult<Json<Value>> {
    let target = resolve(state, p, u).await.map_err(|e| match e {
        // A user whose tokens the caller may not see is not disclosed (`docs/security.md`, "Token
        // endpoint and ownership").
        ApiError::PermissionDenied => ApiError::NotFound,
        other => other,
    })?;
    let mut q = all_tokens();
    q.user = Some(target.id);
    q.kind = which.kind();
    list(state, uri, q).await
}

async fn user_create(
    state: &AppState,
    p: &Principal,
    u: &str,
    body: &Map<String, Value>,
    which: UserList,
) -> ApiResult<Response> {
    let target = resolve(state, p, u).await?;
    // Tokens are always the caller's own: another user's URL is refused, never silently
    // redirected to the caller as AWX does.
    if target.id != p.user.id {
        return Err(ApiError::PermissionDenied);
    }
    let input = tokens::parse_create(body)?;
    let issued = tokens::create_for_caller(
        state,
        p,
        input,
        which == UserList::Personal,
        which == UserList::Authorized,
    )
    .await?;
    Ok(created(&issued))
}

/// `GET /api/v2/users/<u>/tokens/`
#[utoipa::path(get, path = "/api/v2/users/{u}/tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "The user's tokens", body = crate::api::awx::paging::Page), (status = 404, description = "Not found or not visible")))]
pub async fn list_user_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    user_list(&state, &p, &u, &uri, UserList::All).await
}

/// `POST /api/v2/users/<u>/tokens/`
#[utoipa::path(post, path = "/api/v2/users/{u}/tokens/", tag = "tokens",
    params(("u" = String, Path, description = "The caller's id or username")),
    request_body(content = Object, description = "description, application, scope"),
    responses((status = 201, description = "The token, value shown once"), (status = 403, description = "Another user's URL")))]
pub async fn create_user_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    user_create(&state, &p, &u, &body, UserList::All).await
}

/// `GET /api/v2/users/<u>/personal_tokens/`
#[utoipa::path(get, path = "/api/v2/users/{u}/personal_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "The user's personal access tokens", body = crate::api::awx::paging::Page), (status = 404, description = "Not found or not visible")))]
pub async fn list_personal_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    user_list(&state, &p, &u, &uri, UserList::Personal).await
}

/// `POST /api/v2/users/<u>/personal_tokens/` (how `awx login` obtains its token)
#[utoipa::path(post, path = "/api/v2/users/{u}/personal_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "The caller's id or username")),
    request_body(content = Object, description = "description, scope; application is ignored"),
    responses((status = 201, description = "The token, value shown once"), (status = 401, description = "Bad credentials"),
              (status = 403, description = "Another user's URL")))]
pub async fn create_personal_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    user_create(&state, &p, &u, &body, UserList::Personal).await
}

/// `GET /api/v2/users/<u>/authorized_tokens/`
#[utoipa::path(get, path = "/api/v2/users/{u}/authorized_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "The user's application tokens", body = crate::api::awx::paging::Page), (status = 404, description = "Not found or not visible")))]
pub async fn list_authorized_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    user_list(&state, &p, &u, &uri, UserList::Authorized).await
}

/// `POST /api/v2/users/<u>/authorized_tokens/`
#[utoipa::path(post, path = "/api/v2/users/{u}/authorized_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "The caller's id or username")),
    request_body(content = Object, description = "application (required), description, scope"),
    responses((status = 201, description = "The token and refresh token, shown once"), (status = 400, description = "No application")))]
pub async fn create_authorized_token(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    AwxJson(body): AwxJson,
) -> ApiResult<Response> {
    user_create(&state, &p, &u, &body, UserList::Authorized).await
}

/// `POST /api/v2/tokens/revoke/`: revoke tokens in bulk. Body `{"user": <id or username>}`
/// revokes that user's access tokens (the caller's own, or anyone's for a superuser);
/// `{"all": true}` (superusers) revokes every token system-wide as one mark;
/// `"include_refresh": true` also kills refresh tokens. Answers the count, never values.
#[utoipa::path(post, path = "/api/v2/tokens/revoke/", tag = "tokens",
    request_body(content = Object, description = "{\"user\": id|username} or {\"all\": true}; optional include_refresh"),
    responses((status = 200, description = "{\"revoked\": <count>}"), (status = 403, description = "Not allowed")))]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxJson(body): AwxJson,
) -> ApiResult<Json<Value>> {
    let include_refresh = match body.get("include_refresh") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(crate::error::field_error(
                "include_refresh",
                "Must be a valid boolean.",
            ));
        }
    };
    let all = matches!(body.get("all"), Some(Value::Bool(true)));
    let what = if all {
        tokens::Revocation::All
    } else {
        let segment = match body.get("user") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) => p.user.id.to_string(),
            Some(_) => return Err(crate::error::field_error("user", "Incorrect type.")),
        };
        let target = resolve(&state, &p, &segment).await?;
        tokens::Revocation::User {
            named: body
                .get("user")
                .cloned()
                .unwrap_or(Value::from(p.user.id.0)),
            user: Box::new(target),
        }
    };
    let count = tokens::revoke(&state, &p, what, include_refresh).await?;
    Ok(Json(json!({ "revoked": count })))
}

/// `OPTIONS` of every token list: anyone authenticated with a write scope may create.
#[utoipa::path(options, path = "/api/v2/tokens/", tag = "tokens",
    responses((status = 200, description = "AWX metadata; actions.POST for write-scoped callers")))]
pub async fn tokens_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(&options::TOKENS, p.scope.allows_write())
}

/// `OPTIONS /api/v2/tokens/<id>/`: 200 whether or not the token exists; `actions.PUT` when
/// the caller may change it.
#[utoipa::path(options, path = "/api/v2/tokens/{id}/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn token_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let can_change = match parse_id(&id) {
        Ok(n) => match tokens::visible(&state, &p.user, n).await {
            Ok(t) => authz::may_write(&p) && tokens::can_change(&p.user, &t),
            Err(ServiceError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        },
        Err(_) => false,
    };
    Ok(options::detail_options(&options::TOKENS, can_change))
}

/// `GET /api/v2/tokens/<id>/activity_stream/`: entries about a token the caller may see.
#[utoipa::path(get, path = "/api/v2/tokens/{id}/activity_stream/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, description = "Entries about the token (values masked)", body = crate::api::awx::paging::Page), (status = 404, description = "Not found or not visible")))]
pub async fn token_activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let t = tokens::visible(&state, &p.user, parse_id(&id)?).await?;
    crate::api::awx::activity::object_activity(&state, tokens::TOKEN_OBJECT, t.id.0, &uri).await
}

/// `OPTIONS /api/v2/users/<u>/tokens/`: as [`tokens_options`].
#[utoipa::path(options, path = "/api/v2/users/{u}/tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn user_tokens_options(a: Authed) -> Json<Value> {
    tokens_options(a).await
}

/// `OPTIONS /api/v2/users/<u>/personal_tokens/`: as [`tokens_options`].
#[utoipa::path(options, path = "/api/v2/users/{u}/personal_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn personal_tokens_options(a: Authed) -> Json<Value> {
    tokens_options(a).await
}

/// `OPTIONS /api/v2/users/<u>/authorized_tokens/`: as [`tokens_options`].
#[utoipa::path(options, path = "/api/v2/users/{u}/authorized_tokens/", tag = "tokens",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn authorized_tokens_options(a: Authed) -> Json<Value> {
    tokens_options(a).await
}

/// `OPTIONS /api/v2/tokens/<id>/activity_stream/`: the activity list's metadata.
#[utoipa::path(options, path = "/api/v2/tokens/{id}/activity_stream/", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, description = "AWX metadata")))]
pub async fn token_activity_options(a: Authed) -> Json<Value> {
    crate::api::awx::activity::activity_options(a).await
}
