//! `/console/api/mdr/`: customers, tenants and API connections (`docs/mdr-api.md`, "Customers,
//! tenants and connections").

use super::ConsoleCaller;
use crate::api::mdr::body::MdrBytes;
use crate::api::mdr::error::{MdrError, MdrResult};
use crate::api::mdr::json_ok;
use crate::service::error::ServiceError;
use crate::service::mdr_admins;
use crate::service::mdr_session::{self as svc, Actor, Bootstrap, ConnectionInput};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::UserId;

fn object(body: &[u8]) -> MdrResult<serde_json::Map<String, serde_json::Value>> {
    crate::api::mdr::body::json_object(body)
}

fn string(
    obj: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> MdrResult<Option<String>> {
    match obj.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MdrError::invalid(key)),
    }
}

fn input(obj: &serde_json::Map<String, serde_json::Value>) -> MdrResult<ConnectionInput> {
    let tenants = match obj.get("tenants") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Array(a)) => Some(
            a.iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| MdrError::invalid("tenants"))?,
        ),
        Some(_) => return Err(MdrError::invalid("tenants")),
    };
    Ok(ConnectionInput {
        name: string(obj, "name")?,
        role: string(obj, "role")?,
        tenants,
    })
}

fn created(value: &serde_json::Value) -> Response {
    let mut r = json_ok(value);
    *r.status_mut() = StatusCode::CREATED;
    r
}

/// A view that carries a one-time token: never cached.
fn with_token(state: &AppState, b: &Bootstrap, status: StatusCode) -> Response {
    let mut view = svc::connection_view(state, &b.connection);
    if let Some(m) = view.as_object_mut() {
        m.insert("refresh_token".into(), b.token.clone().into());
        m.insert(
            "refresh_token_expires_at".into(),
            portcullis_core::clock::unix_ms(b.expires_at).into(),
        );
    }
    let mut r = json_ok(&view);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn actor(a: &ConsoleCaller) -> Actor<'_> {
    Some(&a.0)
}

/// Creates a customer.
#[utoipa::path(post, path = "/console/api/mdr/customers", tag = "console",
    request_body(content = Object, description = "A JSON object", content_type = "application/json"),
    responses((status = 201, description = "The customer: client_id, name"), (status = 400, description = "Invalid body"), (status = 409, description = "Name taken")))]
pub async fn create_customer(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    let obj = object(&body)?;
    let name = string(&obj, "name")?.ok_or_else(|| MdrError::required("name"))?;
    let c = svc::create_customer(&state, actor(&admin), &name).await?;
    Ok(created(
        &serde_json::json!({"client_id": c.client_id, "name": c.name}),
    ))
}

/// Lists the customers the caller may manage: all for superusers, those they are an MDR
/// administrator of for everyone else (possibly none).
#[utoipa::path(get, path = "/console/api/mdr/customers", tag = "console",
    responses((status = 200, description = "Array of customers")))]
pub async fn list_customers(
    State(state): State<AppState>,
    admin: ConsoleCaller,
) -> MdrResult<Response> {
    let list = mdr_admins::visible_customers(&state, actor(&admin)).await?;
    let out: Vec<serde_json::Value> = list
        .iter()
        .map(|c| serde_json::json!({"client_id": c.client_id, "name": c.name}))
        .collect();
    Ok(json_ok(&serde_json::Value::Array(out)))
}

/// Adds a tenant to a customer.
#[utoipa::path(post, path = "/console/api/mdr/customers/{client_id}/tenants", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    request_body(content = Object, description = "A JSON object", content_type = "application/json"),
    responses((status = 201, description = "The tenant: tenant_id, tenant_name"), (status = 400, description = "Invalid body"), (status = 404, description = "No such customer"), (status = 409, description = "Name taken")))]
pub async fn create_tenant(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    let obj = object(&body)?;
    let name = string(&obj, "tenant_name")?.ok_or_else(|| MdrError::required("tenant_name"))?;
    let t = svc::create_tenant(&state, actor(&admin), &client_id, &name).await?;
    Ok(created(
        &serde_json::json!({"tenant_id": t.tenant_id, "tenant_name": t.tenant_name}),
    ))
}

/// Lists a customer's tenants.
#[utoipa::path(get, path = "/console/api/mdr/customers/{client_id}/tenants", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    responses((status = 200, description = "Array of tenants"), (status = 404, description = "No such customer")))]
pub async fn list_tenants(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
) -> MdrResult<Response> {
    let list = mdr_admins::tenants(&state, actor(&admin), &client_id).await?;
    let out: Vec<serde_json::Value> = list
        .iter()
        .map(|t| serde_json::json!({"tenant_id": t.tenant_id, "tenant_name": t.tenant_name}))
        .collect();
    Ok(json_ok(&serde_json::Value::Array(out)))
}

/// Lists a customer's API connections.
#[utoipa::path(get, path = "/console/api/mdr/customers/{client_id}/connections", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    responses((status = 200, description = "Array of connections"), (status = 404, description = "No such customer")))]
pub async fn list_connections(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
) -> MdrResult<Response> {
    let list = mdr_admins::connections(&state, actor(&admin), &client_id).await?;
    let out: Vec<serde_json::Value> = list
        .iter()
        .map(|c| svc::connection_view(&state, c))
        .collect();
    Ok(json_ok(&serde_json::Value::Array(out)))
}

/// Creates an API connection; the answer carries its one-time refresh token.
#[utoipa::path(post, path = "/console/api/mdr/customers/{client_id}/connections", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    request_body(content = Object, description = "A JSON object", content_type = "application/json"),
    responses((status = 201, description = "The connection with refresh_token"), (status = 400, description = "Invalid body"), (status = 404, description = "No such customer or tenant"), (status = 409, description = "Conflict")))]
pub async fn create_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    let obj = object(&body)?;
    let input = input(&obj)?;
    mdr_admins::customer(&state, actor(&admin), &client_id).await?;
    let b = svc::create_connection(&state, actor(&admin), &client_id, input).await?;
    Ok(with_token(&state, &b, StatusCode::CREATED))
}

/// One API connection.
#[utoipa::path(get, path = "/console/api/mdr/customers/{client_id}/connections/{connection_id}", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "The connection"), (status = 404, description = "Not found")))]
pub async fn get_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> MdrResult<Response> {
    let c = mdr_admins::connection(&state, actor(&admin), &client_id, &connection_id).await?;
    Ok(json_ok(&svc::connection_view(&state, &c)))
}

/// Changes an API connection's name, role or tenants.
#[utoipa::path(patch, path = "/console/api/mdr/customers/{client_id}/connections/{connection_id}", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("connection_id" = String, Path, description = "Connection id")),
    request_body(content = Object, description = "A JSON object", content_type = "application/json"),
    responses((status = 200, description = "The connection"), (status = 400, description = "Invalid body"), (status = 404, description = "Not found"), (status = 409, description = "Conflict")))]
pub async fn update_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, connection_id)): Path<(String, String)>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    let obj = object(&body)?;
    let input = input(&obj)?;
    let c =
        svc::update_connection(&state, actor(&admin), &client_id, &connection_id, input).await?;
    Ok(json_ok(&svc::connection_view(&state, &c)))
}

/// Issues a new refresh token for a connection.
#[utoipa::path(post, path = "/console/api/mdr/customers/{client_id}/connections/{connection_id}/refresh", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "The connection with refresh_token"), (status = 404, description = "Not found"), (status = 409, description = "Revoked")))]
pub async fn refresh_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> MdrResult<Response> {
    let b = svc::refresh_connection(&state, actor(&admin), &client_id, &connection_id).await?;
    Ok(with_token(&state, &b, StatusCode::OK))
}

/// Revokes a connection.
#[utoipa::path(post, path = "/console/api/mdr/customers/{client_id}/connections/{connection_id}/revoke", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 200, description = "The connection"), (status = 404, description = "Not found")))]
pub async fn revoke_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> MdrResult<Response> {
    let c = svc::revoke_connection(&state, actor(&admin), &client_id, &connection_id).await?;
    Ok(json_ok(&svc::connection_view(&state, &c)))
}

/// Deletes a connection.
#[utoipa::path(delete, path = "/console/api/mdr/customers/{client_id}/connections/{connection_id}", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("connection_id" = String, Path, description = "Connection id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found")))]
pub async fn delete_connection(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, connection_id)): Path<(String, String)>,
) -> MdrResult<Response> {
    svc::delete_connection(&state, actor(&admin), &client_id, &connection_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The customer's latest token exchanges (up to 200).
#[utoipa::path(get, path = "/console/api/mdr/customers/{client_id}/audit", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    responses((status = 200, description = "Array of audit entries"), (status = 404, description = "No such customer")))]
pub async fn exchange_audit(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
) -> MdrResult<Response> {
    let list = mdr_admins::exchange_audit(&state, actor(&admin), &client_id, 200).await?;
    let out: Vec<serde_json::Value> = list
        .iter()
        .map(|a| {
            serde_json::json!({
                "at": portcullis_core::clock::unix_ms(a.at),
                "connection_id": a.connection_id,
                "jti_prefix": a.jti_prefix,
                "result": a.result,
                "source": a.source,
            })
        })
        .collect();
    Ok(json_ok(&serde_json::Value::Array(out)))
}

fn administrator_json(a: &portcullis_store::CustomerAdministrator) -> serde_json::Value {
    serde_json::json!({
        "user_id": a.user_id.0,
        "username": a.username,
        "granted_at": portcullis_core::clock::unix_ms(a.granted_at),
    })
}

/// Lists the customer's MDR administrators (superusers only).
#[utoipa::path(get, path = "/console/api/mdr/customers/{client_id}/administrators", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    responses((status = 200, description = "Array of administrators: user_id, username, granted_at"), (status = 404, description = "No such customer")))]
pub async fn list_administrators(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
) -> MdrResult<Response> {
    let list = mdr_admins::administrators(&state, actor(&admin), &client_id).await?;
    let out: Vec<serde_json::Value> = list.iter().map(administrator_json).collect();
    Ok(json_ok(&serde_json::Value::Array(out)))
}

/// Makes a user an MDR administrator of the customer (superusers only); granting it twice
/// is no change.
#[utoipa::path(post, path = "/console/api/mdr/customers/{client_id}/administrators", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID")),
    request_body(content = Object, description = "A JSON object: username", content_type = "application/json"),
    responses((status = 201, description = "The administrator: user_id, username, granted_at"), (status = 400, description = "Invalid body or no such user"), (status = 404, description = "No such customer")))]
pub async fn grant_administrator(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path(client_id): Path<String>,
    MdrBytes(body): MdrBytes,
) -> MdrResult<Response> {
    let obj = object(&body)?;
    let username = string(&obj, "username")?.ok_or_else(|| MdrError::required("username"))?;
    let a = mdr_admins::grant_administrator(&state, actor(&admin), &client_id, &username).await?;
    Ok(created(&administrator_json(&a)))
}

/// Takes the MDR administrator role of the customer away from a user (superusers only).
#[utoipa::path(delete, path = "/console/api/mdr/customers/{client_id}/administrators/{user_id}", tag = "console",
    params(("client_id" = String, Path, description = "Customer Client ID"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such customer, or the user does not hold the role")))]
pub async fn revoke_administrator(
    State(state): State<AppState>,
    admin: ConsoleCaller,
    Path((client_id, user_id)): Path<(String, String)>,
) -> MdrResult<Response> {
    let Ok(user_id) = user_id.parse::<i64>() else {
        // Not an id, so no user holds the role under it: the 404 of an unknown id, after the
        // same checks (superuser, the customer exists), so the answer says nothing more.
        mdr_admins::administrators(&state, actor(&admin), &client_id).await?;
        return Err(ServiceError::NotFound("administrator").into());
    };
    mdr_admins::revoke_administrator(&state, actor(&admin), &client_id, UserId(user_id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
