//! Portcullis HTTP transport: the AWX-compatible API, the authenticator chain, middleware,
//! and the services that combine core rules with storage.
//!
//! Policy: this crate depends on `portcullis-store`'s traits only, never on a database
//! driver; the binary wires a concrete backend in.

pub mod api;
pub mod auth;
pub mod background;
pub mod config;
pub mod console;
pub mod directory;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod router;
pub mod service;
pub mod signal;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use axum::Router;
pub use config::Config;
pub use router::{app, app_with};
pub use state::AppState;
pub use utoipa_axum::router::OpenApiRouter;
