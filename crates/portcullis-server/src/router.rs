//! The route table and the middleware stack around it.

use crate::api::awx::{
    activity, applications, discovery, login, me, oauth, resources, settings, tokens, users,
};
use crate::auth::chain;
use crate::auth::check::Authed;
use crate::error::ApiError;
use crate::middleware::{request_id, trailing_slash};
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

/// On protected views authentication comes first, as in DRF: an anonymous caller gets the
/// 401 (or the CSRF 403 / 503 the chain decided) before learning which methods exist.
async fn method_not_allowed_protected(_: Authed, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

async fn no_route(uri: axum::http::Uri) -> Response {
    if crate::api::mdr::is_mdr_path(uri.path()) {
        return crate::api::mdr::error::MdrError::no_route().into_response();
    }
    ApiError::NoRoute.into_response()
}

/// A view: its methods, AWX's 405 for the rest, and the `Allow` header listing them.
pub(crate) fn view(allow: &'static str, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    with_allow(allow, mr.fallback(method_not_allowed))
}

/// A view that requires authentication (see [`method_not_allowed_protected`]).
pub(crate) fn protected(allow: &'static str, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    with_allow(allow, mr.fallback(method_not_allowed_protected))
}

fn with_allow(allow: &'static str, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    mr.layer(SetResponseHeaderLayer::overriding(
        header::ALLOW,
        HeaderValue::from_static(allow),
    ))
}

pub(crate) const READ_ONLY: &str = "GET, HEAD, OPTIONS";

/// Registers `path` (ending in `/`) and its slash-less twin. The twin answers `GET`/`HEAD` with
/// AWX's 301 to the slashed path and handles other methods as if the slash were there
/// (`docs/awx-compat.md`, "URL handling"). Registering both keeps the rule out of every other
/// request's path.
pub(crate) fn awx_route(
    router: Router<AppState>,
    path: &str,
    mr: MethodRouter<AppState>,
) -> Router<AppState> {
    let twin = path.trim_end_matches('/');
    let router = router.route(path, mr.clone());
    if twin.is_empty() || twin == path {
        return router;
    }
    router.route(twin, mr.layer(from_fn(trailing_slash::redirect)))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // A panic is a defect; the payload may hold request data, so it is not logged here.
    tracing::error!("handler panicked");
    ApiError::Internal("panic".into()).into_response()
}

/// The whole application: routes plus middleware.
pub fn app(state: AppState) -> Router {
    let mut api_views = Router::new();
    for (path, mr) in [
        ("/api/", view(READ_ONLY, get(discovery::api_root))),
        ("/api/v2/", view(READ_ONLY, get(discovery::v2_root))),
        ("/api/o/", view(READ_ONLY, get(discovery::oauth_root))),
        (
            "/api/v2/auth/",
            view(READ_ONLY, get(discovery::sso_backends)),
        ),
        (
            "/api/v2/config/",
            protected(READ_ONLY, get(discovery::config)),
        ),
        (
            "/api/v2/me/",
            protected(
                READ_ONLY,
                get(me::get_me).options(crate::api::awx::options::me_options),
            ),
        ),
        (
            "/api/v2/users/",
            protected(
                "GET, POST, HEAD, OPTIONS",
                get(users::list_users)
                    .post(users::create_user)
                    .options(crate::api::awx::options::users_options),
            ),
        ),
        (
            "/api/v2/users/{u}/",
            protected(
                "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
                get(users::get_user)
                    .put(users::update_user)
                    .patch(users::update_user)
                    .delete(users::delete_user)
                    .options(crate::api::awx::options::user_options),
            ),
        ),
        (
            "/api/v2/settings/",
            protected(
                READ_ONLY,
                get(settings::list_settings)
                    .options(crate::api::awx::options::settings_list_options),
            ),
        ),
        (
            "/api/v2/settings/{slug}/",
            protected(
                "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
                get(settings::get_settings)
                    .put(settings::update_settings)
                    .patch(settings::update_settings)
                    .delete(settings::reset_settings)
                    .options(crate::api::awx::options::settings_options),
            ),
        ),
    ] {
        api_views = awx_route(api_views, path, mr);
    }
    // Each AWX resource module registers its own views (tokens, applications, the
    // compatibility lists, inventories and hosts, the activity stream).
    let api_views = tokens::register(api_views);
    let api_views = applications::register(api_views);
    let api_views = resources::register(api_views);
    let api_views = crate::api::awx::organizations::register(api_views);
    let api_views = activity::register(api_views);
    // The console's JSON API authenticates through the same chain (session + CSRF, Basic,
    // tokens) and answers in the MDR dialect.
    let api_views = crate::api::console::mdr::register(api_views);
    let api_views = crate::api::console::soc::register(api_views);
    let api_views = api_views.route_layer(from_fn_with_state(state.clone(), chain::layer));

    let mut other_views = Router::new();
    for (path, mr) in [
        (
            "/api/login/",
            view(
                "GET, POST, HEAD, OPTIONS",
                get(login::login_form).post(login::login),
            ),
        ),
        (
            "/api/logout/",
            view(
                "GET, POST, HEAD, OPTIONS",
                get(login::logout).post(login::logout),
            ),
        ),
        ("/accounts/profile/", view(READ_ONLY, get(login::profile))),
        ("/api/v2/ping/", view(READ_ONLY, get(discovery::ping))),
    ] {
        other_views = awx_route(other_views, path, mr);
    }
    let other_views = oauth::register(other_views);
    let other_views = other_views.route("/api/openapi.json", get(openapi::openapi_json));
    // The MDR surface authenticates each call itself (access JWTs), never through the chain.
    let other_views = crate::api::mdr::register(other_views);

    let timeout = Duration::from_secs(state.config.limits.request_timeout_seconds);
    api_views
        .merge(other_views)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(state.config.limits.json_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(from_fn_with_state(state.clone(), request_id::layer))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
