//! `GET /healthz` and `GET /readyz`: what load balancers and orchestrators ask. Neither runs
//! an authenticator; neither says more than the status.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// `GET /healthz`: the process is alive and serving requests.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Always {\"status\": \"ok\"}")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers (migrations are applied before the server listens),
/// so this node can take traffic.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "{\"status\": \"ready\"}"),
        (status = 503, description = "{\"status\": \"unavailable\", \"detail\": \"database unavailable\"}"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "detail": "database unavailable" })),
            )
        }
    }
}
