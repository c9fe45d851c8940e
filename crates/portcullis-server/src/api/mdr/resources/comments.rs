//! `comments/list`, `comments/create`, `comments/delete` (`docs/mdr-api.md`, "Endpoints").

use crate::api::mdr::error::MdrResult;
use crate::service::mdr_resources::{Ctx, Keys, comments as svc};
use crate::state::AppState;
use serde_json::Value;

/// `comments/list`: a bare array, oldest first.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::list(state, ctx, keys).await
}

/// `comments/create`: the created comment.
pub async fn create(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::create(state, ctx, keys).await
}

/// `comments/delete`: `{}`.
pub async fn delete(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::delete(state, ctx, keys).await
}
