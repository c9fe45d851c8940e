//! `assets/count`, `assets/list`, `assets/details` (`docs/mdr-api.md`, "Endpoints").

use crate::api::mdr::error::MdrResult;
use crate::service::mdr_resources::{Ctx, Keys, assets as svc};
use crate::state::AppState;
use serde_json::Value;

/// `assets/count`: `{"count": N}`.
pub async fn count(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::count(state, ctx, keys).await
}

/// `assets/list`: a bare array.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::list(state, ctx, keys).await
}

/// `assets/details`.
pub async fn details(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::details(state, ctx, keys).await
}
