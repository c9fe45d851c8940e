//! `/api/v2/applications/` and `/api/v2/applications/<id>/tokens/` (`awx-api.md` §9).
//!
//! Every authenticated user reads applications (AWX: members of the app's organization);
//! only superusers create, change or delete them. The client secret is a `pcl_cs_`
//! credential shown once in the creating 201 and stored only as its SHA-256.

use crate::api::awx::options;
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::api::awx::tokens::{self as token_views, all_tokens};
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::json::AwxJson;
use crate::extract::path::AwxPath;
use crate::router::{awx_route, protected};
use crate::service::tokens::{self, MASKED};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::base62;
use portcullis_core::ids::ApplicationId;
use portcullis_core::principal::Principal;
use portcullis_core::rng::bytes;
use portcullis_core::token::{PlainToken, TokenKind};
use portcullis_store::{
    ApplicationField, ApplicationPatch, ApplicationQuery, ApplicationRecord, NewActivity,
    NewApplication, StoreError,
};
use serde_json::{Map, Value, json};

/// Activity-stream object type of applications.
pub const APPLICATION_OBJECT: &str = "o_auth2_application";

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
    let manage = viewer.user.is_superuser && viewer.scope.allows_write();
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

type Errors = Vec<(String, Vec<String>)>;

fn push(errors: &mut Errors, field: &str, msg: impl Into<String>) {
    match errors.iter_mut().find(|(f, _)| f == field) {
        Some((_, m)) => m.push(msg.into()),
        None => errors.push((field.to_owned(), vec![msg.into()])),
    }
}

fn string(body: &Map<String, Value>, key: &str, errors: &mut Errors) -> Option<String> {
    match body.get(key)? {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        _ => {
            push(errors, key, "Not a valid string.");
            None
        }
    }
}

fn choice(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    errors: &mut Errors,
) -> Option<String> {
    let v = string(body, key, errors)?;
    if allowed.contains(&v.as_str()) {
        Some(v)
    } else {
        push(errors, key, format!("\"{v}\" is not a valid choice."));
        None
    }
}

/// Checks space-separated absolute `http`/`https` redirect URIs.
fn check_redirects(uris: &str, errors: &mut Errors) {
    for u in uris.split_whitespace() {
        match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            Ok(parsed) => push(
                errors,
                "redirect_uris",
                format!("Unauthorized redirect scheme: {}", parsed.scheme()),
            ),
            Err(_) => push(errors, "redirect_uris", "Enter a valid URL."),
        }
    }
}

/// Parsed, validated body. `existing` is the application being changed (PUT/PATCH).
struct Input {
    name: Option<String>,
    description: Option<String>,
    client_type: Option<String>,
    redirect_uris: Option<String>,
    grant_type: Option<String>,
    skip_authorization: Option<bool>,
    organization: Option<Option<i64>>,
}

fn parse(body: &Map<String, Value>, existing: Option<&ApplicationRecord>) -> ApiResult<Input> {
    let mut errors = Errors::new();
    let creating = existing.is_none();
    let name = string(body, "name", &mut errors);
    match &name {
        None if creating && !errors.iter().any(|(f, _)| f == "name") => {
            push(&mut errors, "name", "This field is required.");
        }
        Some(n) if n.trim().is_empty() => push(&mut errors, "name", "This field may not be blank."),
        Some(n) if n.chars().count() > 255 => push(
            &mut errors,
            "name",
            "Ensure this field has no more than 255 characters.",
        ),
        _ => {}
    }
    let description = string(body, "description", &mut errors);
    let client_type = choice(
        body,
        "client_type",
        &["confidential", "public"],
        &mut errors,
    );
    if creating && client_type.is_none() && !body.contains_key("client_type") {
        push(&mut errors, "client_type", "This field is required.");
    }
    // Read-only after creation (awx-api.md §9): ignored on PUT/PATCH.
    let grant_type = if creating {
        let g = choice(
            body,
            "authorization_grant_type",
            &["authorization-code", "password"],
            &mut errors,
        );
        if g.is_none() && !body.contains_key("authorization_grant_type") {
            push(
                &mut errors,
                "authorization_grant_type",
                "This field is required.",
            );
        }
        g
    } else {
        None
    };
    let redirect_uris = string(body, "redirect_uris", &mut errors);
    if let Some(r) = &redirect_uris {
        check_redirects(r, &mut errors);
    }
    let skip_authorization = match body.get("skip_authorization") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            push(
                &mut errors,
                "skip_authorization",
                "Must be a valid boolean.",
            );
            None
        }
    };
    let organization = match body.get("organization") {
        None => None,
        Some(Value::Null) => Some(None),
        // AWX's only organization is the built-in `Default` (id 1, awx-api.md §13.1).
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Some(Some(1)),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            push(&mut errors, "organization", tokens::invalid_pk(&shown));
            None
        }
    };
    let effective_grant = grant_type
        .as_deref()
        .or(existing.map(|e| e.authorization_grant_type.as_str()));
    let effective_redirects = redirect_uris
        .as_deref()
        .or(existing.map(|e| e.redirect_uris.as_str()))
        .unwrap_or("");
    if errors.is_empty()
        && effective_grant == Some("authorization-code")
        && effective_redirects.trim().is_empty()
    {
        push(
            &mut errors,
            "__all__",
            "redirect_uris cannot be empty with grant_type authorization-code",
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Input {
        name,
        description,
        client_type,
        redirect_uris,
        grant_type,
        skip_authorization,
        organization,
    })
}

fn name_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Validation(vec![(
            "__all__".into(),
            vec!["Application with this Name and Organization already exists.".into()],
        )]),
        other => other.into(),
    }
}

fn activity(
    state: &AppState,
    actor: &Principal,
    op: &str,
    id: Option<ApplicationId>,
    changes: Value,
) -> Option<NewActivity> {
    state
        .settings
        .get()
        .auth
        .activity_stream_enabled
        .then(|| NewActivity {
            timestamp: state.clock.now(),
            actor: Some(actor.user.id),
            operation: op.into(),
            object1: APPLICATION_OBJECT.into(),
            object1_id: id.map(|a| a.0),
            changes,
        })
}

/// The recorded fields of an application: never the client secret.
fn recorded(a: &NewApplication) -> Value {
    json!({"name": a.name, "description": a.description, "client_id": a.client_id,
           "client_type": a.client_type, "redirect_uris": a.redirect_uris,
           "authorization_grant_type": a.authorization_grant_type,
           "skip_authorization": a.skip_authorization, "organization": a.organization})
}

/// 40 characters of `[A-Za-z0-9]` from 232 random bits (62^40 > 2^232).
fn client_id(state: &AppState) -> String {
    let raw: [u8; 29] = bytes(state.rng.as_ref());
    base62::encode_fixed(&raw, 40).unwrap_or_default()
}

async fn load(state: &AppState, id: &str) -> ApiResult<ApplicationRecord> {
    state
        .store
        .application_by_id(ApplicationId(parse_id(id)?))
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /api/v2/applications/`
#[utoipa::path(get, path = "/api/v2/applications/", tag = "applications",
    responses((status = 200, description = "Paginated applications"), (status = 401, description = "Not authenticated")))]
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
    if !p.user.is_superuser {
        return Err(ApiError::PermissionDenied);
    }
    let input = parse(&body, None)?;
    let client_type = input.client_type.unwrap_or_default();
    let secret = (client_type == "confidential")
        .then(|| PlainToken::generate(TokenKind::ClientSecret, state.rng.as_ref()));
    let new = NewApplication {
        name: input.name.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        client_id: client_id(&state),
        secret_hash: secret.as_ref().map(PlainToken::hash),
        client_type,
        redirect_uris: input.redirect_uris.unwrap_or_default(),
        authorization_grant_type: input.grant_type.unwrap_or_default(),
        skip_authorization: input.skip_authorization.unwrap_or(false),
        organization: input.organization.flatten(),
        created_at: state.clock.now(),
    };
    let entry = activity(&state, &p, "create", None, recorded(&new));
    let app = state
        .store
        .create_application(new, entry)
        .await
        .map_err(name_conflict)?;
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
#[utoipa::path(patch, path = "/api/v2/applications/{id}/", tag = "applications",
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
    if !p.user.is_superuser {
        return Err(ApiError::PermissionDenied);
    }
    let input = parse(&body, Some(&app))?;
    // Turning a public client confidential mints its first secret; it cannot be shown
    // later, so the operator recreates the application instead (AWX behaves the same).
    let secret_hash = match input.client_type.as_deref() {
        Some("confidential") if app.client_type != "confidential" => {
            Some(PlainToken::generate(TokenKind::ClientSecret, state.rng.as_ref()).hash())
        }
        _ => None,
    };
    let patch = ApplicationPatch {
        name: input.name,
        description: input.description,
        client_type: input.client_type,
        secret_hash,
        redirect_uris: input.redirect_uris,
        skip_authorization: input.skip_authorization,
        organization: input.organization,
    };
    let mut changes = Map::new();
    for (k, old, new) in [
        ("name", &app.name, &patch.name),
        ("description", &app.description, &patch.description),
        ("client_type", &app.client_type, &patch.client_type),
        ("redirect_uris", &app.redirect_uris, &patch.redirect_uris),
    ] {
        if let Some(n) = new
            && n != old
        {
            changes.insert(k.into(), json!([old, n]));
        }
    }
    let entry = (!changes.is_empty())
        .then(|| activity(&state, &p, "update", Some(app.id), Value::Object(changes)))
        .flatten();
    let updated = state
        .store
        .update_application(app.id, patch, state.clock.now(), entry)
        .await
        .map_err(name_conflict)?;
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
    if !p.user.is_superuser {
        return Err(ApiError::PermissionDenied);
    }
    let entry = activity(
        &state,
        &p,
        "delete",
        Some(app.id),
        json!({"name": app.name, "client_id": app.client_id}),
    );
    state.store.delete_application(app.id, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/applications/<id>/tokens/`
#[utoipa::path(get, path = "/api/v2/applications/{id}/tokens/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "Tokens of the application the caller may see"), (status = 404, description = "Not found")))]
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
pub async fn applications_options(Authed(p): Authed) -> Json<Value> {
    options::list_options(&options::APPLICATIONS, options::superuser_writes(&p))
}

/// `OPTIONS /api/v2/applications/<id>/`: 200 whether or not it exists.
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
        exists && options::superuser_writes(&p),
    ))
}

/// `GET /api/v2/applications/<id>/activity_stream/`: entries about an application (the
/// client secret is never recorded).
#[utoipa::path(get, path = "/api/v2/applications/{id}/activity_stream/", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, description = "Entries about the application"), (status = 404, description = "Not found")))]
pub async fn application_activity(
    State(state): State<AppState>,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let app = load(&state, &id).await?;
    crate::api::awx::activity::object_activity(&state, APPLICATION_OBJECT, app.id.0, &uri).await
}

/// Registers the application views.
pub(crate) fn register(router: Router<AppState>) -> Router<AppState> {
    let mut router = router;
    for (path, mr) in [
        (
            "/api/v2/applications/",
            protected(
                "GET, POST, HEAD, OPTIONS",
                get(list_applications)
                    .post(create_application)
                    .options(applications_options),
            ),
        ),
        (
            "/api/v2/applications/{id}/",
            protected(
                "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
                get(get_application)
                    .put(update_application)
                    .patch(update_application)
                    .delete(delete_application)
                    .options(application_options),
            ),
        ),
        (
            "/api/v2/applications/{id}/activity_stream/",
            protected(
                crate::router::READ_ONLY,
                get(application_activity).options(crate::api::awx::activity::activity_options),
            ),
        ),
        (
            "/api/v2/applications/{id}/tokens/",
            protected(
                "GET, POST, HEAD, OPTIONS",
                get(list_application_tokens)
                    .post(create_application_token)
                    .options(token_views::tokens_options),
            ),
        ),
    ] {
        router = awx_route(router, path, mr);
    }
    router
}
