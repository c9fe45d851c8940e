//! `incidents/count`, `list`, `details`, `create`, `close`, `history` (`docs/mdr-api.md`,
//! "Endpoints").

use crate::api::mdr::error::MdrResult;
use crate::service::mdr_resources::{Ctx, Keys, history as hist, incidents as svc};
use crate::state::AppState;
use serde_json::Value;

/// `incidents/count`: `{"count": N}`.
pub async fn count(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::count(state, ctx, keys).await
}

/// `incidents/list`: a bare array.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::list(state, ctx, keys).await
}

/// `incidents/details`.
pub async fn details(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::details(state, ctx, keys).await
}

/// `incidents/create`: the created incident.
pub async fn create(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::create(state, ctx, keys).await
}

/// `incidents/close`: the closed incident.
pub async fn close(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::close(state, ctx, keys).await
}

/// `incidents/history`: a bare array of records, newest last.
pub async fn history(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    hist::list(state, ctx, keys).await
}
