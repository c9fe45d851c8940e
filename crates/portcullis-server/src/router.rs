//! The route table, the OpenAPI document built from it, and the middleware stack around both.
//!
//! Every route of the server is registered here, through `utoipa-axum`'s [`OpenApiRouter`]
//! and the handlers' `#[utoipa::path]` annotations: a documented path and its handler are the
//! same entry, so a route cannot exist undocumented. The only routes added without a document
//! entry are AWX's slash-less twins (see `awx`); `tests/it/openapi.rs` checks the sources for
//! any other `.route(` call.

use crate::api::awx::{
    activity, applications, discovery, login, me, oauth, options, organizations, resources,
    settings, tokens, users,
};
use crate::api::console::mdr as console_mdr;
use crate::api::{health, mdr, sso};
use crate::auth::chain;
use crate::auth::check::Authed;
use crate::error::ApiError;
use crate::extract::path::AwxPath;
use crate::middleware::{request_id, trailing_slash};
use crate::openapi::{self, ApiDoc, Document};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::{RefOr, Response as DocResponse};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// On protected views authentication comes first, as in DRF: an anonymous caller gets the
/// 401 (or the CSRF 403 / 503 the chain decided) before learning which methods exist.
async fn method_not_allowed_protected(_: Authed, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

async fn no_route(uri: axum::http::Uri) -> Response {
    if mdr::is_mdr_path(uri.path()) {
        return mdr::error::MdrError::no_route().into_response();
    }
    ApiError::NoRoute.into_response()
}

/// Who reaches an AWX view's handlers.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// Anyone: other methods answer AWX's 405 at once.
    Open,
    /// Authenticated callers: other methods answer 405 only after authentication succeeded.
    Protected,
}

fn with_allow(allow: &'static str, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
    mr.layer(SetResponseHeaderLayer::overriding(
        header::ALLOW,
        HeaderValue::from_static(allow),
    ))
}

/// `Allow` of read-only views.
const READ_ONLY: &str = "GET, HEAD, OPTIONS";
/// `Allow` of list views that accept creation.
const LIST_CREATE: &str = "GET, POST, HEAD, OPTIONS";
/// `Allow` of writable detail views.
const DETAIL: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";

/// Adds an AWX view: its documented operations at the slashed path, AWX's 405 for other
/// methods, the `Allow` header listing `allow`, and the slash-less twin.
///
/// The twin answers `GET`/`HEAD` with AWX's 301 to the slashed path and handles other methods
/// as if the slash were there (`docs/awx-compat.md`). Registering both keeps the rule out of
/// every other request's path. The twin is deliberately left out of the document: it is the
/// same operation under a spelling AWX clients never use on purpose, and documenting it would
/// double every AWX operation (with a 301 for the reads).
fn awx(
    router: OpenApiRouter<AppState>,
    allow: &'static str,
    gate: Gate,
    (schemas, mut paths, mr): UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    if matches!(gate, Gate::Protected) {
        document_refusals(&mut paths, &AWX_REFUSALS, &BODY_REFUSALS);
    }
    let mr = with_allow(
        allow,
        match gate {
            Gate::Open => mr.fallback(method_not_allowed),
            Gate::Protected => mr.fallback(method_not_allowed_protected),
        },
    );
    let twins: Vec<String> = paths
        .paths
        .keys()
        .map(|p| p.trim_end_matches('/').to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let mut router = router.routes((schemas, paths, mr.clone()));
    for twin in twins {
        router = router.route(&twin, mr.clone().layer(from_fn(trailing_slash::redirect)));
    }
    router
}

/// What any protected AWX view may answer besides its own results: `Authed`'s refusals before
/// the handler runs, and the list and object rules every view shares (an unknown filter
/// field or page size is 400, a page past the last or a missing object 404).
const AWX_REFUSALS: [(&str, &str); 6] = [
    ("400", "Invalid query (filter, ordering, page) or body"),
    ("404", "No such object, or a page past the last"),
    ("401", "Not authenticated, or the credential was refused"),
    (
        "403",
        "CSRF check failed, or a read-scope token tried to change something",
    ),
    ("429", "Too many failed logins from this source"),
    (
        "503",
        "Authentication unavailable (store outage); retry later",
    ),
];

/// What an operation reading a body may answer about the body itself.
const BODY_REFUSALS: [(&str, &str); 3] = [
    ("400", "The body is not valid for this operation"),
    ("413", "Body too large"),
    ("415", "Unsupported Content-Type"),
];

/// What the form endpoints of `/api/o/` and the login answer before their own checks.
const FORM_REFUSALS: [(&str, &str); 4] = [
    ("400", "Malformed request"),
    ("413", "Body too large"),
    ("429", "Too many failures from this network"),
    ("503", "Unavailable; retry later"),
];

/// What [`ConsoleCaller`](crate::api::console::ConsoleCaller) and the services answer before a console
/// handler runs, and what every console operation may answer (an unknown customer).
const CONSOLE_REFUSALS: [(&str, &str); 5] = [
    ("404", "No such customer or object"),
    ("401", "Not authenticated"),
    (
        "403",
        "Not permitted (not a superuser, nor for a customer's routes its MDR administrator), CSRF check failed, or a read-scope token",
    ),
    ("429", "Too many failed logins from this source"),
    (
        "503",
        "Authentication unavailable (store outage); retry later",
    ),
];

/// Adds `refusals` to every operation of `paths`, and `body_refusals` to those reading a
/// body (`POST`, `PUT`, `PATCH`), where the operation does not document that status itself.
fn document_refusals(paths: &mut Paths, refusals: &[(&str, &str)], body_refusals: &[(&str, &str)]) {
    for item in paths.paths.values_mut() {
        for (op, body) in [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, false),
            (&mut item.options, false),
            (&mut item.patch, true),
        ] {
            let Some(op) = op.as_mut() else { continue };
            let extra: &[(&str, &str)] = if body { body_refusals } else { &[] };
            for (status, description) in refusals.iter().chain(extra) {
                op.responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| RefOr::T(DocResponse::new(*description)));
            }
        }
    }
}

/// `umr` with the form endpoints' refusals documented.
fn form(mut umr: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    document_refusals(&mut umr.1, &FORM_REFUSALS, &[]);
    umr
}

/// Adds a console view: the route as documented, the console's refusals in the document.
fn console(
    router: OpenApiRouter<AppState>,
    (schemas, mut paths, mr): UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    document_refusals(&mut paths, &CONSOLE_REFUSALS, &BODY_REFUSALS);
    router.routes((schemas, paths, mr))
}

/// The compatibility lists are one handler set shared by seven paths; each path gets its own
/// copy of the shared operations, with the concrete segment instead of a `{stub}` parameter.
fn stub_views(mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    use resources::{
        __path_stub_detail, __path_stub_list, __path_stub_options, stub_detail, stub_list,
        stub_options,
    };
    use utoipa::Path as _;
    for stub in resources::stubs() {
        let segment = stub.segment();
        let list_path = format!("/api/v2/{segment}/");
        let detail_path = format!("/api/v2/{segment}/{{id}}/");
        let mut detail_options = __path_stub_options::operation();
        detail_options.parameters = __path_stub_detail::operation().parameters;

        let mut paths = Paths::new();
        paths.add_path_operation(
            &list_path,
            vec![HttpMethod::Get],
            concrete(__path_stub_list::operation(), format!("list_{segment}")),
        );
        paths.add_path_operation(
            &list_path,
            vec![HttpMethod::Options],
            concrete(
                __path_stub_options::operation(),
                format!("{segment}_options"),
            ),
        );
        let list = get(move |a: Authed, u: OriginalUri| stub_list(stub, a, u))
            .options(move |a: Authed| stub_options(stub, a, false));
        router = awx(
            router,
            READ_ONLY,
            Gate::Protected,
            (Vec::new(), paths, list),
        );

        let mut paths = Paths::new();
        paths.add_path_operation(
            &detail_path,
            vec![HttpMethod::Get],
            concrete(__path_stub_detail::operation(), format!("get_{segment}")),
        );
        paths.add_path_operation(
            &detail_path,
            vec![HttpMethod::Options],
            concrete(detail_options, format!("{segment}_detail_options")),
        );
        let detail = get(move |a: Authed, id: AwxPath<String>| stub_detail(stub, a, id))
            .options(move |a: Authed| stub_options(stub, a, true));
        router = awx(
            router,
            READ_ONLY,
            Gate::Protected,
            (Vec::new(), paths, detail),
        );
    }
    router
}

/// A shared stub operation made concrete: no `{stub}` parameter, its own operation id.
fn concrete(mut op: Operation, operation_id: String) -> Operation {
    if let Some(params) = op.parameters.as_mut() {
        params.retain(|p| !matches!(p, RefOr::T(p) if p.name == "stub"));
    }
    op.operation_id = Some(operation_id);
    op.tags = Some(vec!["compatibility".to_owned()]);
    op
}

/// The views that authenticate through the chain (session + CSRF, Basic, tokens).
fn chain_views() -> OpenApiRouter<AppState> {
    use Gate::{Open, Protected};
    let r = OpenApiRouter::new();
    // Discovery: read anonymously by AWX clients first (the chain still runs, so a bad
    // credential is refused even here, as in AWX).
    let r = awx(r, READ_ONLY, Open, routes!(discovery::api_root));
    let r = awx(r, READ_ONLY, Open, routes!(discovery::v2_root));
    let r = awx(r, READ_ONLY, Open, routes!(discovery::oauth_root));
    let r = awx(r, READ_ONLY, Open, routes!(discovery::sso_backends));
    let r = awx(r, READ_ONLY, Protected, routes!(discovery::config));
    // Users and the caller.
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(me::get_me, options::me_options),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            users::list_users,
            users::create_user,
            options::users_options
        ),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            users::get_user,
            users::update_user,
            users::delete_user,
            options::user_options
        ),
    );
    // Runtime settings.
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(settings::list_settings, options::settings_list_options),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            settings::get_settings,
            settings::update_settings,
            settings::reset_settings,
            options::settings_options
        ),
    );
    // Tokens.
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            tokens::list_tokens,
            tokens::create_token,
            tokens::tokens_options
        ),
    );
    let r = awx(
        r,
        "POST, OPTIONS",
        Protected,
        routes!(tokens::revoke_tokens),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            tokens::get_token,
            tokens::update_token,
            tokens::delete_token,
            tokens::token_options
        ),
    );
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(tokens::token_activity, tokens::token_activity_options),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            tokens::list_user_tokens,
            tokens::create_user_token,
            tokens::user_tokens_options
        ),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            tokens::list_personal_tokens,
            tokens::create_personal_token,
            tokens::personal_tokens_options
        ),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            tokens::list_authorized_tokens,
            tokens::create_authorized_token,
            tokens::authorized_tokens_options
        ),
    );
    // Applications.
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            applications::list_applications,
            applications::create_application,
            applications::applications_options
        ),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            applications::get_application,
            applications::update_application,
            applications::delete_application,
            applications::application_options
        ),
    );
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(
            applications::application_activity,
            applications::application_activity_options
        ),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            applications::list_application_tokens,
            applications::create_application_token,
            applications::application_tokens_options
        ),
    );
    // The compatibility lists, the Default organization's members, inventories and hosts.
    let r = stub_views(r);
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            organizations::list_organization_users,
            organizations::change_organization_users,
            organizations::organization_users_options
        ),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            resources::list_inventories,
            resources::create_inventory,
            resources::inventories_options
        ),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            resources::get_inventory,
            resources::update_inventory,
            resources::delete_inventory,
            resources::inventory_options
        ),
    );
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(
            resources::list_inventory_hosts,
            resources::inventory_hosts_options
        ),
    );
    let r = awx(
        r,
        LIST_CREATE,
        Protected,
        routes!(
            resources::list_hosts,
            resources::create_host,
            resources::hosts_options
        ),
    );
    let r = awx(
        r,
        DETAIL,
        Protected,
        routes!(
            resources::get_host,
            resources::update_host,
            resources::delete_host,
            resources::host_options
        ),
    );
    // The activity stream.
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(activity::list_activity, activity::activity_options),
    );
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(activity::get_activity, activity::entry_options),
    );
    let r = awx(
        r,
        READ_ONLY,
        Protected,
        routes!(activity::user_activity, activity::user_activity_options),
    );
    // The console's JSON API: the same chain, answered in the MDR dialect, without AWX's
    // trailing-slash rule or 405 body (axum's own 405 with its `Allow`).
    let r = console(
        r,
        routes!(console_mdr::create_customer, console_mdr::list_customers),
    );
    let r = console(
        r,
        routes!(console_mdr::create_tenant, console_mdr::list_tenants),
    );
    let r = console(
        r,
        routes!(
            console_mdr::list_connections,
            console_mdr::create_connection
        ),
    );
    let r = console(
        r,
        routes!(
            console_mdr::get_connection,
            console_mdr::update_connection,
            console_mdr::delete_connection
        ),
    );
    let r = console(r, routes!(console_mdr::refresh_connection));
    let r = console(r, routes!(console_mdr::revoke_connection));
    let r = console(
        r,
        routes!(
            console_mdr::list_administrators,
            console_mdr::grant_administrator
        ),
    );
    let r = console(r, routes!(console_mdr::revoke_administrator));
    console(r, routes!(console_mdr::exchange_audit))
}

/// The views that authenticate themselves (login, `/api/o/`, MDR access JWTs) or not at all.
fn self_authenticating_views(doc: &Document) -> OpenApiRouter<AppState> {
    use Gate::Open;
    let r = OpenApiRouter::new();
    let r = awx(
        r,
        LIST_CREATE,
        Open,
        form(routes!(login::login_form, login::login)),
    );
    let r = awx(r, LIST_CREATE, Open, routes!(login::logout));
    let r = awx(r, READ_ONLY, Open, routes!(login::profile));
    let r = awx(r, READ_ONLY, Open, routes!(discovery::ping));
    // Single sign-on at AWX's `/sso/` URLs (`docs/sso.md`): browser redirects and the
    // provider's back-channel logout.
    let r = awx(r, READ_ONLY, Open, routes!(sso::begin));
    let r = awx(r, READ_ONLY, Open, routes!(sso::complete));
    let r = awx(r, READ_ONLY, Open, routes!(sso::landing));
    let r = awx(r, READ_ONLY, Open, routes!(sso::error));
    let r = awx(r, READ_ONLY, Open, routes!(sso::inactive));
    let r = awx(
        r,
        "POST, OPTIONS",
        Open,
        form(routes!(sso::backchannel_logout)),
    );
    // `/api/o/`: form views (no API-view headers, no chain).
    let r = awx(r, "POST, OPTIONS", Open, form(routes!(oauth::token)));
    let r = awx(r, "POST, OPTIONS", Open, form(routes!(oauth::revoke_token)));
    let r = awx(r, "POST, OPTIONS", Open, form(routes!(oauth::introspect)));
    let r = awx(
        r,
        LIST_CREATE,
        Open,
        form(routes!(oauth::authorize_form, oauth::authorize_decision)),
    );
    // The document itself, read from the cell `app_with` fills once the table is complete.
    let r = r.routes(openapi::route(doc));
    // MDR: the exchange (POST only, MDR's 405 otherwise) and the signing keys.
    let r = r
        .routes(
            routes!(mdr::session::session_confirm).map(|mr| mr.fallback(mdr::method_not_allowed)),
        )
        .routes(routes!(mdr::jwks));
    health_views(r)
}

/// `/healthz` and `/readyz` (GET only, AWX's 405 otherwise).
fn health_views(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(health::healthz).map(|mr| mr.fallback(method_not_allowed)))
        .routes(routes!(health::readyz).map(|mr| mr.fallback(method_not_allowed)))
}

/// What the plain-HTTP health listener beside a TLS listener serves (`tls.health_listen`,
/// `docs/tls.md`): `/healthz`, `/readyz` and `/api/v2/ping/`, nothing that takes a
/// credential.
pub fn health_app(state: AppState) -> Router {
    let r = health_views(OpenApiRouter::new())
        .routes(routes!(discovery::ping).map(|mr| mr.fallback(method_not_allowed)));
    let (router, _) = r.split_for_parts();
    router
        .fallback(no_route)
        .layer(from_fn_with_state(state.clone(), request_id::layer))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // A panic is a defect; the payload may hold request data, so it is not logged here.
    tracing::error!("handler panicked");
    ApiError::Internal("panic".into()).into_response()
}

/// The whole application: routes plus middleware.
pub fn app(state: AppState) -> Router {
    app_with(state, OpenApiRouter::new(), OpenApiRouter::new())
}

/// The whole application with extra routes mounted, such as the MDR demo resource server
/// (`portcullis-mdr-demo`), whose documented paths appear in the document served at
/// `/api/openapi.json`.
///
/// `extra` joins the views that authenticate themselves (the MDR resource API: an
/// [`crate::api::mdr::caller::MdrCaller`] in each handler's signature; no chain layer, no
/// AWX 405 or trailing-slash rule unless its handlers add them); `extra_authenticated` joins
/// the views behind the authenticator chain (session with CSRF, Basic, tokens), as the
/// console's JSON API is.
pub fn app_with(
    state: AppState,
    extra: OpenApiRouter<AppState>,
    extra_authenticated: OpenApiRouter<AppState>,
) -> Router {
    let router = table(&state, extra, extra_authenticated);
    let timeout = Duration::from_secs(state.config.limits.request_timeout_seconds);
    router
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

/// The route table and its document, without the middleware stack.
fn table(
    state: &AppState,
    extra: OpenApiRouter<AppState>,
    extra_authenticated: OpenApiRouter<AppState>,
) -> Router<AppState> {
    let doc = Document::default();
    let chained = chain_views()
        .merge(extra_authenticated)
        .route_layer(from_fn_with_state(state.clone(), chain::layer));
    let others = self_authenticating_views(&doc).merge(extra);
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(chained)
        .merge(others)
        .split_for_parts();
    doc.fill(openapi::finish(api));
    router
        .merge(crate::console::router(state))
        .merge(crate::gateway::forward_auth::router())
        .route_layer(axum::middleware::from_fn(crate::metrics::label_route))
}
