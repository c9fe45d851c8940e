//! Placeholder: filled in by its issue's work.

use crate::state::AppState;
use axum::Router;

/// Registers this module's views.
pub(crate) fn register(router: Router<AppState>) -> Router<AppState> {
    router
}
