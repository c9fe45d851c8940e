//! The MDR surface: `POST /api/v1/{client_id}/<resource>/<action>` (`docs/mdr-api.md`, "Surface
//! conventions", "Token exchange", "Resource API"), plus the JWKS document.
//!
//! Policy: the route table is checked before authentication (an unknown action is 404 even without
//! a token); every method is `POST`, anything else is 405; bodies are JSON objects under the
//! tolerant Content-Type rules of `docs/mdr-api.md`, "Surface conventions"; every answer carries
//! `Cache-Control: no-store`.

pub mod body;
pub mod error;
pub mod resources;
pub mod session;

use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use error::MdrError;

/// The actions the surface knows, `resource/action`.
pub const ACTIONS: &[&str] = &[
    "session/confirm",
    "assets/count",
    "assets/list",
    "assets/details",
    "incidents/count",
    "incidents/list",
    "incidents/details",
    "incidents/create",
    "incidents/close",
    "incidents/history",
    "responses/list",
    "response/update",
    "responses/update",
    "comments/list",
    "comments/create",
    "comments/delete",
    "attachments/list",
    "attachments/download",
    "attachments/upload",
];

/// Registers the MDR routes.
pub fn register(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v1/{client_id}/{resource}/{action}", any(dispatch))
        .route("/.well-known/jwks.json", get(jwks))
}

/// True for paths of the MDR surface, whose unknown routes answer in the MDR dialect.
pub fn is_mdr_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

async fn dispatch(
    State(state): State<AppState>,
    Path((client_id, resource, action)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let path = format!("{resource}/{action}");
    if !ACTIONS.contains(&path.as_str()) {
        return MdrError::no_route().into_response();
    }
    if req.method() != Method::POST {
        let mut r =
            MdrError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let mut resp = match path.as_str() {
        "session/confirm" => session::confirm(&state, &client_id, req).await,
        _ => resources::call(&state, &client_id, &path, req).await,
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut r = Response::new(Body::from(state.mdr.keys.jwks()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// A JSON success body (`application/json; charset=utf-8`).
pub fn json_ok(value: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}
