//! `/console/api/mdr/customers/{client_id}/soc/`: the SOC side's demonstration data
//! (`docs/mdr-api.md`, "SOC-side data"), superusers only. Every route is `POST` and answers 201
//! with the created (or, for `status`, the changed) object.

use super::ConsoleAdmin;
use crate::api::mdr::body::MdrBytes;
use crate::api::mdr::error::MdrResult;
use crate::api::mdr::json_ok;
use crate::api::mdr::resources::multipart::read_upload;
use crate::service::mdr_resources::{Ctx, Keys, soc};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::Value;

const BASE: &str = "/console/api/mdr/customers/{client_id}/soc";

/// Registers the routes; the caller adds the authenticator chain.
pub fn register(router: Router<AppState>) -> Router<AppState> {
    router
        .route(&format!("{BASE}/assets"), post(create_asset))
        .route(&format!("{BASE}/incidents"), post(create_incident))
        .route(
            &format!("{BASE}/incidents/{{incident_id}}/responses"),
            post(create_response),
        )
        .route(
            &format!("{BASE}/incidents/{{incident_id}}/comments"),
            post(create_comment),
        )
        .route(
            &format!("{BASE}/incidents/{{incident_id}}/attachments"),
            post(create_attachment),
        )
        .route(
            &format!("{BASE}/incidents/{{incident_id}}/status"),
            post(set_status),
        )
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
    let obj = crate::api::mdr::body::json_object(body)?;
    let ctx = Ctx::soc(state, client_id).await?;
    Ok(created(&call(&ctx, &Keys(&obj)).await?))
}

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
