//! `GET /api/v2/me/`: a one-item list page holding the caller.

use crate::api::awx::render::UserResponse;
use crate::auth::check::Authed;
use axum::Json;
use serde_json::{Value, json};

/// `GET /api/v2/me/`
#[utoipa::path(get, path = "/api/v2/me/", tag = "users",
    responses((status = 200, description = "{count: 1, next: null, previous: null, results: [user]}"),
              (status = 401, description = "Not authenticated")))]
pub async fn get_me(Authed(p): Authed) -> Json<Value> {
    let user = UserResponse::new(&p.user, &p);
    Json(json!({"count": 1, "next": null, "previous": null, "results": [user]}))
}
