//! The MDR demo resource server: assets, incidents with their responses, comments and
//! attachments, the incident history, the SOC side's console endpoints, and the demo data
//! loader — the protected resources an MDR API connection's access token opens.
//!
//! Policy: Portcullis is the authentication server; this crate is a demonstration resource
//! server mounted beside it (by default in the `portcullis` binary) through
//! [`portcullis_server::app_with`]. It authenticates every resource call with the server's
//! `MdrCaller` extractor and answers in the server's MDR dialect; it never touches tokens
//! or keys itself. Markdown rendering (pulldown-cmark, ammonia) lives here, not in the
//! server.

pub mod api;
pub mod service;

pub use service::{DemoSummary, load_demo};

use portcullis_server::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// The resource API, `POST /api/v1/{client_id}/<resource>/<action>`: mount as `extra`
/// (its handlers authenticate the access token themselves).
pub fn routes() -> OpenApiRouter<AppState> {
    api::routes()
}

/// The console's SOC-side JSON endpoints under `/console/api/mdr/customers/{client_id}/soc/`:
/// mount as `extra_authenticated` (behind the server's authenticator chain).
pub fn console_routes() -> OpenApiRouter<AppState> {
    api::soc::routes()
}

/// The whole application with the demo mounted.
pub fn app(state: AppState) -> axum::Router {
    portcullis_server::app_with(state, routes(), console_routes())
}
