//! Discovery endpoints (`docs/awx-compat.md`, "Discovery"): answered to anyone, credentials
//! ignored. The AWX CLI reads `/api/` and `/api/v2/` anonymously before every command and aborts on
//! any non-2xx, so these never answer 401/403. `/api/v2/config/` is the exception: AWX answers it
//! to authenticated callers only.

use crate::auth::check::{Authed, MaybeAuthed};
use crate::auth::cookies;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::token::TokenHash;
use serde_json::{Value, json};

/// The `csrftoken` cookie to set: the request's own when it is a valid token for `binding`,
/// else a fresh one (AWX's `GET /api/` and `GET /api/login/` behaviour).
pub fn csrf_cookie_for(
    state: &AppState,
    headers: &HeaderMap,
    binding: Option<&TokenHash>,
) -> (String, String) {
    let current = cookies::single(headers, cookies::CSRF_COOKIE)
        .filter(|v| state.csrf.is_valid(v, binding))
        .map(str::to_owned);
    let value = current.unwrap_or_else(|| state.csrf.mint(state.rng.as_ref(), binding));
    let cookie = cookies::csrf(&value, state.config.secure_cookies());
    (value, cookie)
}

/// `GET /api/`
#[utoipa::path(get, path = "/api/", tag = "discovery",
    responses((status = 200, description = "API root; sets the csrftoken cookie")))]
pub async fn api_root(
    State(state): State<AppState>,
    MaybeAuthed(ctx): MaybeAuthed,
    headers: HeaderMap,
) -> Response {
    let binding = ctx.session.as_ref().map(|s| s.hash);
    let (_, cookie) = csrf_cookie_for(&state, &headers, binding.as_ref());
    let api = &state.config.api;
    let body = json!({
        "description": api.description,
        "current_version": "/api/v2/",
        "available_versions": {"v2": "/api/v2/"},
        "oauth2": "/api/o/",
        "custom_logo": api.custom_logo,
        "custom_login_info": api.custom_login_info,
        "login_redirect_override": state.settings.get().auth.login_redirect_override,
    });
    let mut resp = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The resources this build serves, in AWX's order. Every key becomes an AWX CLI
/// sub-command, so only served resources may appear.
pub const V2_RESOURCES: [(&str, &str); 17] = [
    ("ping", "/api/v2/ping/"),
    ("instance_groups", "/api/v2/instance_groups/"),
    // The AWX CLI treats `config` as its own command, not as a resource list.
    ("config", "/api/v2/config/"),
    ("settings", "/api/v2/settings/"),
    ("me", "/api/v2/me/"),
    ("organizations", "/api/v2/organizations/"),
    ("users", "/api/v2/users/"),
    ("projects", "/api/v2/projects/"),
    ("teams", "/api/v2/teams/"),
    ("credentials", "/api/v2/credentials/"),
    ("applications", "/api/v2/applications/"),
    ("tokens", "/api/v2/tokens/"),
    // AWX names the inventories list `inventory` in its root map.
    ("inventory", "/api/v2/inventories/"),
    ("hosts", "/api/v2/hosts/"),
    ("job_templates", "/api/v2/job_templates/"),
    ("activity_stream", "/api/v2/activity_stream/"),
    ("workflow_job_templates", "/api/v2/workflow_job_templates/"),
];

/// `GET /api/v2/`
#[utoipa::path(get, path = "/api/v2/", tag = "discovery",
    responses((status = 200, description = "Resource name → relative list URL")))]
pub async fn v2_root(MaybeAuthed(_): MaybeAuthed) -> Json<Value> {
    let map: serde_json::Map<String, Value> = V2_RESOURCES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    Json(Value::Object(map))
}

/// `GET /api/v2/config/`: what AWX says about its installation. Portcullis runs no
/// playbooks, so the Ansible-related values describe an empty installation; `tower-cli
/// version` reads `version`, `license_info.license_type` and `ansible_version`.
#[utoipa::path(get, path = "/api/v2/config/", tag = "discovery",
    responses((status = 200, description = "Version, open license, time zone and other installation facts"),
              (status = 401, description = "Not authenticated")))]
pub async fn config(State(state): State<AppState>, Authed(_): Authed) -> Json<Value> {
    let version = &state.config.api.product_version;
    Json(json!({
        "time_zone": "UTC",
        "license_info": {
            "license_type": "open",
            "valid_key": true,
            "subscription_name": "OPEN",
            "product_name": state.config.api.product_name,
        },
        "version": version,
        "eula": "",
        "analytics_status": "off",
        "analytics_collectors": {},
        "become_methods": [],
        "project_base_dir": "/var/lib/awx/projects/",
        "project_local_paths": [],
        "custom_virtualenvs": [],
        // Older clients print it unconditionally; Portcullis bundles no Ansible.
        "ansible_version": "none",
    }))
}

/// `GET /api/o/`
#[utoipa::path(get, path = "/api/o/", tag = "discovery",
    responses((status = 200, description = "OAuth2 endpoint map")))]
pub async fn oauth_root(MaybeAuthed(_): MaybeAuthed) -> Json<Value> {
    Json(json!({
        "authorize": "/api/o/authorize/",
        "token": "/api/o/token/",
        "revoke_token": "/api/o/revoke_token/",
    }))
}

/// `GET /api/v2/auth/`: the redirect-based single sign-on backends, as AWX lists them: `{}`
/// until the `oidc` settings are complete, then the `oidc` entry with a relative
/// `login_url` and an absolute `complete_url` (`docs/sso.md`).
#[utoipa::path(get, path = "/api/v2/auth/", tag = "discovery",
    responses((status = 200, description = "{} or {\"oidc\": {\"login_url\", \"complete_url\"}}")))]
pub async fn sso_backends(
    State(state): State<AppState>,
    MaybeAuthed(_): MaybeAuthed,
    parts: axum::http::request::Parts,
) -> Json<Value> {
    if !state.settings.get().sso.configured() {
        return Json(json!({}));
    }
    let origin = crate::extract::client_ip::request_origin(&state, &parts);
    Json(json!({
        "oidc": {
            "login_url": "/sso/login/oidc/",
            "complete_url": crate::service::sso::login::complete_url(&origin.public_origin),
        }
    }))
}

/// `GET /api/v2/ping/`: runs no authenticator at all.
#[utoipa::path(get, path = "/api/v2/ping/", tag = "discovery",
    responses((status = 200, description = "Node and version information")))]
pub async fn ping(State(state): State<AppState>) -> Json<Value> {
    let version = &state.config.api.product_version;
    Json(json!({
        "ha": false,
        "version": version,
        "active_node": state.node,
        "install_uuid": state.install_uuid,
        "instances": [{
            "node": state.node,
            "node_type": "hybrid",
            "uuid": state.install_uuid,
            "heartbeat": crate::api::awx::render::awx_time(state.clock.now()),
            "capacity": 0,
            "version": version,
        }],
        "instance_groups": [],
    }))
}
