//! `responses/list`, `response/update`, `responses/update` (`docs/mdr-api.md`, "Endpoints"). The
//! role check happens before these run ([`super::call`]).

use crate::api::mdr::error::MdrResult;
use crate::service::mdr_resources::{Ctx, Keys, responses as svc};
use crate::state::AppState;
use serde_json::Value;

/// `responses/list`: a bare array.
pub async fn list(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::list(state, ctx, keys).await
}

/// `response/update`: the updated response.
pub async fn update(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::update(state, ctx, keys).await
}

/// `responses/update`: the updated responses, in request order.
pub async fn update_many(state: &AppState, ctx: &Ctx, keys: &Keys<'_>) -> MdrResult<Value> {
    svc::update_many(state, ctx, keys).await
}
