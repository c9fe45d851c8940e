//! The route table and the middleware stack around it.

use crate::api::awx::{discovery, login, me, settings, users};
use crate::auth::chain;
use crate::error::ApiError;
use crate::middleware::{limits, request_id, security_headers, trailing_slash};
use crate::openapi;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

async fn no_route() -> ApiError {
    ApiError::NoRoute
}

/// A view: its methods, AWX's 405 for the rest, and the `Allow` header listing them.
fn view(allow: &'static str, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    mr.fallback(method_not_allowed).layer(SetResponseHeaderLayer::overriding(
        header::ALLOW,
        HeaderValue::from_static(allow),
    ))
}

const READ_ONLY: &str = "GET, HEAD, OPTIONS";

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // A panic is a defect; the payload may hold request data, so it is not logged here.
    tracing::error!("handler panicked");
    ApiError::Internal("panic".into()).into_response()
}

/// The whole application: routes plus middleware.
pub fn app(state: AppState) -> Router {
    let api_views = Router::new()
        .route("/api/", view(READ_ONLY, get(discovery::api_root)))
        .route("/api/v2/", view(READ_ONLY, get(discovery::v2_root)))
        .route("/api/o/", view(READ_ONLY, get(discovery::oauth_root)))
        .route("/api/v2/auth/", view(READ_ONLY, get(discovery::sso_backends)))
        .route("/api/v2/me/", view(READ_ONLY, get(me::get_me)))
        .route(
            "/api/v2/users/",
            view("GET, POST, HEAD, OPTIONS", get(users::list_users).post(users::create_user)),
        )
        .route(
            "/api/v2/users/{u}/",
            view(
                "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
                get(users::get_user)
                    .put(users::update_user)
                    .patch(users::update_user)
                    .delete(users::delete_user),
            ),
        )
        .route("/api/v2/settings/", view(READ_ONLY, get(settings::list_settings)))
        .route(
            "/api/v2/settings/{slug}/",
            view(
                "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
                get(settings::get_settings)
                    .put(settings::update_settings)
                    .patch(settings::update_settings)
                    .delete(settings::reset_settings),
            ),
        )
        .route_layer(from_fn_with_state(state.clone(), chain::layer));

    let other_views = Router::new()
        .route(
            "/api/login/",
            view("GET, POST, HEAD, OPTIONS", get(login::login_form).post(login::login)),
        )
        .route(
            "/api/logout/",
            view("GET, POST, HEAD, OPTIONS", get(login::logout).post(login::logout)),
        )
        .route("/accounts/profile/", view(READ_ONLY, get(login::profile)))
        .route("/api/v2/ping/", view(READ_ONLY, get(discovery::ping)))
        .route("/api/openapi.json", get(openapi::openapi_json));

    let inner = api_views
        .merge(other_views)
        .route_layer(from_fn(trailing_slash::redirect))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(state.config.limits.json_body))
        .with_state(state.clone());

    let timeout = Duration::from_secs(state.config.limits.request_timeout_seconds);
    Router::new()
        .fallback_service(inner)
        .layer(from_fn(trailing_slash::add))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(from_fn_with_state(state.clone(), security_headers::layer))
        .layer(from_fn_with_state(state.clone(), request_id::layer))
        .layer(from_fn_with_state(state.clone(), limits::layer))
        .layer(CatchPanicLayer::custom(panic_response))
}
