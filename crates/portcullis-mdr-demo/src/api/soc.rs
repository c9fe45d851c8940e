//! `/console/api/mdr/customers/{client_id}/soc/`: the SOC side's demonstration data,
//! superusers only. Every route is `POST` and answers 201 with the created (or, for
//! `status`, the changed) object.

use super::multipart::read_upload;
use crate::service::{Ctx, Keys, soc};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_server::api::console::ConsoleAdmin;
use portcullis_server::api::mdr::body::MdrBytes;
use portcullis_server::api::mdr::error::MdrResult;
use portcullis_server::api::mdr::json_ok;
use portcullis_server::state::AppState;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The OpenAPI tag of these routes.
const TAG: &str = "Console: MDR SOC demo data";

/// The routes; the server adds the authenticator chain (they are mounted as
/// `extra_authenticated` of [`portcullis_server::app_with`]).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_asset))
        .routes(routes!(create_incident))
        .routes(routes!(create_response))
        .routes(routes!(create_comment))
        .routes(routes!(create_attachment))
        .routes(routes!(set_status))
}

fn created(value: &Value) -> Response {
    let mut r = json_ok(value);
    *r.status_mut() = StatusCode::CREATED;
    r
}

/// The JSON-body routes: the body as a JSON object, then the customer's SOC context, then
/// `call`; 201 with what it returns. The body comes first, so a bad body answers 400 even
/// for an unknown customer.
async fn json_created(
    state: &AppState,
    client_id: &str,
    body: &[u8],
    call: impl AsyncFnOnce(&Ctx, &Keys<'_>) -> MdrResult<Value>,
) -> MdrResult<Response> {
    let obj = portcullis_server::api::mdr::body::json_object(body)?;
    let ctx = Ctx::soc(state, client_id).await?;
    Ok(created(&call(&ctx, &Keys(&obj)).await?))
}

/// `POST /console/api/mdr/customers/{client_id}/soc/assets`: the created asset.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/assets",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "the created asset", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn create_asset(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path(client_id): Path<String>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    json_created(&state, &client_id, &body, async |ctx, keys| {
        soc::create_asset(&state, ctx, keys).await
    })
    .await
}

/// `POST /console/api/mdr/customers/{client_id}/soc/incidents`: the created incident.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/incidents",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "the created incident", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn create_incident(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path(client_id): Path<String>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    json_created(&state, &client_id, &body, async |ctx, keys| {
        soc::create_incident(&state, ctx, keys).await
    })
    .await
}

/// `POST /console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/responses`: the created response.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/responses",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID"),
        ("incident_id" = String, Path, description = "The incident")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "the created response", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn create_response(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path((client_id, incident_id)): Path<(String, String)>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    json_created(&state, &client_id, &body, async |ctx, keys| {
        soc::create_response(&state, ctx, &incident_id, keys).await
    })
    .await
}

/// `POST /console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/comments`: the created comment.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/comments",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID"),
        ("incident_id" = String, Path, description = "The incident")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "the created comment", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn create_comment(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path((client_id, incident_id)): Path<(String, String)>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    json_created(&state, &client_id, &body, async |ctx, keys| {
        soc::create_comment(&state, ctx, &incident_id, keys).await
    })
    .await
}

/// `POST /console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/attachments`: the created attachment.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/attachments",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID"),
        ("incident_id" = String, Path, description = "The incident")
    ),
    request_body(content = Object, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "the created attachment", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn create_attachment(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path((client_id, incident_id)): Path<(String, String)>,
    req: Request,
) -> MdrResult<Response> {
    let ctx = Ctx::soc(&state, &client_id).await?;
    let upload = read_upload(req, state.config.mdr.attachments.max_size).await?;
    Ok(created(
        &soc::create_attachment(&state, &ctx, &incident_id, upload).await?,
    ))
}

/// `POST /console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/status`: the changed incident.
#[utoipa::path(
    post,
    path = "/console/api/mdr/customers/{client_id}/soc/incidents/{incident_id}/status",
    tag = TAG,
    params(
        ("client_id" = String, Path, description = "The customer's Client ID"),
        ("incident_id" = String, Path, description = "The incident")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "the changed incident", content_type = "application/json"),
        (status = 400, description = "invalid body or value"),
        (status = 401, description = "authentication required"),
        (status = 403, description = "not a superuser, or the CSRF check failed"),
        (status = 404, description = "unknown customer or incident"),
    )
)]
async fn set_status(
    State(state): State<AppState>,
    _admin: ConsoleAdmin,
    Path((client_id, incident_id)): Path<(String, String)>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    json_created(&state, &client_id, &body, async |ctx, keys| {
        soc::set_status(&state, ctx, &incident_id, keys).await
    })
    .await
}
