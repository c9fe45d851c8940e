//! The protected resource API (`docs/mdr-api.md`, "Resource API"): authentication, body parsing and
//! dispatch.
//!
//! Policy: checks run in the order of `docs/mdr-api.md`, "Access token failures" — Client ID
//! syntax, the access token, then the role (before the body is even read, so a Security Officer's
//! `response/update` is 403 whatever it sends) — and only then the body: JSON under the tolerant
//! Content-Type rules of `docs/mdr-api.md`, "Surface conventions", or `multipart/form-data` for
//! `attachments/upload`. The handlers are thin; the rules live in
//! [`crate::service::mdr_resources`].

pub mod assets;
pub mod attachments;
pub mod comments;
pub mod incidents;
pub mod multipart;
pub mod responses;

use crate::api::mdr::body::json_body;
use crate::api::mdr::error::{MdrError, MdrResult};
use crate::api::mdr::json_ok;
use crate::service::mdr_resources::{Ctx, Keys};
use crate::service::mdr_session;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_core::mdr::is_client_id_syntax;

/// Largest JSON body of a resource call.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// Methods only a role that may decide on responses may call (`docs/mdr-api.md`, "Roles and tenant
/// scope").
const DECISION_PATHS: [&str; 2] = ["response/update", "responses/update"];

/// One resource call: `path` is a known `resource/action` other than `session/confirm`.
pub async fn call(state: &AppState, client_id: &str, path: &str, req: Request) -> Response {
    match call_inner(state, client_id, path, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn call_inner(
    state: &AppState,
    client_id: &str,
    path: &str,
    req: Request,
) -> MdrResult<Response> {
    if !is_client_id_syntax(client_id) {
        return Err(MdrError::no_route());
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = mdr_session::authenticate(state, client_id, authorization.as_deref()).await?;
    if DECISION_PATHS.contains(&path) && !caller.role.may_decide_responses() {
        return Err(MdrError::not_permitted());
    }
    let ctx = Ctx::for_caller(state, client_id, &caller).await?;
    if path == "attachments/upload" {
        return attachments::upload(state, &ctx, req).await;
    }
    let body = json_body(req, JSON_BODY_LIMIT).await?;
    let keys = Keys(&body);
    let value = match path {
        "assets/count" => assets::count(state, &ctx, &keys).await?,
        "assets/list" => assets::list(state, &ctx, &keys).await?,
        "assets/details" => assets::details(state, &ctx, &keys).await?,
        "incidents/count" => incidents::count(state, &ctx, &keys).await?,
        "incidents/list" => incidents::list(state, &ctx, &keys).await?,
        "incidents/details" => incidents::details(state, &ctx, &keys).await?,
        "incidents/create" => incidents::create(state, &ctx, &keys).await?,
        "incidents/close" => incidents::close(state, &ctx, &keys).await?,
        "incidents/history" => incidents::history(state, &ctx, &keys).await?,
        "responses/list" => responses::list(state, &ctx, &keys).await?,
        "response/update" => responses::update(state, &ctx, &keys).await?,
        "responses/update" => responses::update_many(state, &ctx, &keys).await?,
        "comments/list" => comments::list(state, &ctx, &keys).await?,
        "comments/create" => comments::create(state, &ctx, &keys).await?,
        "comments/delete" => comments::delete(state, &ctx, &keys).await?,
        "attachments/list" => attachments::list(state, &ctx, &keys).await?,
        "attachments/download" => return attachments::download(state, &ctx, &keys).await,
        _ => return Err(MdrError::no_route()),
    };
    Ok(json_ok(&value))
}
