//! The protected resource API: one axum route per action, `POST /api/v1/{client_id}/…`.
//!
//! Policy: checks run in a fixed order — Client ID syntax, the access token, then the
//! route's role requirement (all in the server's `MdrCaller` extractor, before the body is
//! even read, so a Security Officer's `response/update` is 403 whatever it sends), then the
//! caller's tenant scope ([`Call`]) — and only then the body: JSON under the server's
//! tolerant Content-Type rules ([`JsonObject`]), or `multipart/form-data` for
//! `attachments/upload`. The handlers are thin; the rules live in [`crate::service`].

pub mod assets;
pub mod attachments;
pub mod comments;
pub mod incidents;
pub mod multipart;
pub mod responses;
pub mod soc;

use crate::service::Ctx;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portcullis_server::api::mdr::body::json_body;
use portcullis_server::api::mdr::caller::{AnyRole, MdrCaller, RoleRequirement};
use portcullis_server::api::mdr::error::MdrError;
use portcullis_server::state::AppState;
use std::marker::PhantomData;

/// Largest JSON body of a resource call.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// The OpenAPI tag of the resource API.
pub const TAG: &str = "MDR resources";

/// An authenticated call with the role `R` requires: the request's [`Ctx`], built from the
/// connection's tenant scope as stored now.
#[derive(Debug, Clone)]
pub struct Call<R = AnyRole> {
    /// Who acts, for whom, and what they may see.
    pub ctx: Ctx,
    _requirement: PhantomData<fn() -> R>,
}

impl<R: RoleRequirement> FromRequestParts<AppState> for Call<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = MdrCaller::<R>::from_request_parts(parts, state).await?;
        let ctx = Ctx::for_caller(state, &caller.client_id, &caller.connection)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            ctx,
            _requirement: PhantomData,
        })
    }
}

/// A resource call's body: a JSON object (empty = `{}`) of at most [`JSON_BODY_LIMIT`]
/// bytes.
#[derive(Debug, Clone)]
pub struct JsonObject(pub serde_json::Map<String, serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = MdrError;

    async fn from_request(req: Request, _: &S) -> Result<Self, MdrError> {
        json_body(req, JSON_BODY_LIMIT).await.map(Self)
    }
}

/// A JSON resource action: the handler, documented for OpenAPI, that reads the caller (with
/// the role requirement), the body, and answers what the service returns.
macro_rules! json_action {
    ($(#[doc = $doc:tt])* $name:ident, $path:tt, $role:ty, $svc:path, $ok:tt) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = crate::api::TAG,
            params(("client_id" = String, Path, description = "The customer's Client ID")),
            request_body(content = Object, content_type = "application/json"),
            responses(
                (status = 200, description = $ok, content_type = "application/json"),
                (status = 400, description = "invalid body or value"),
                (status = 401, description = "no valid access token"),
                (status = 403, description = "token of another client, revoked, or role not permitted"),
                (status = 404, description = "unknown customer or object"),
            ),
            security(("mdr_access_token" = []))
        )]
        pub async fn $name(
            axum::extract::State(state): axum::extract::State<portcullis_server::state::AppState>,
            call: crate::api::Call<$role>,
            crate::api::JsonObject(body): crate::api::JsonObject,
        ) -> portcullis_server::api::mdr::error::MdrResult<axum::response::Response> {
            let value = $svc(&state, &call.ctx, &crate::service::Keys(&body)).await?;
            Ok(portcullis_server::api::mdr::json_ok(&value))
        }
    };
}
pub(crate) use json_action;

/// The MDR routes of a `routes!(…)` group: `POST` only with the MDR 405, `no-store`.
fn action(
    (schemas, paths, mr): utoipa_axum::router::UtoipaMethodRouter<AppState>,
) -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    (schemas, paths, portcullis_server::api::mdr::action(mr))
}

/// The OpenAPI security scheme of the access token, named by every resource operation.
pub const SECURITY_SCHEME: &str = "mdr_access_token";

/// The document the routes' operations are added to: it defines [`SECURITY_SCHEME`], the
/// access JWT of `session/confirm` as a Bearer token.
fn base_document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(
            "The access token of `POST /api/v1/{client_id}/session/confirm`",
        ))
        .build();
    OpenApiBuilder::new()
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(SECURITY_SCHEME, SecurityScheme::Http(bearer))
                .build(),
        ))
        .build()
}

/// The resource API's routes, each documented.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(base_document())
        .routes(action(routes!(assets::count)))
        .routes(action(routes!(assets::list)))
        .routes(action(routes!(assets::details)))
        .routes(action(routes!(incidents::count)))
        .routes(action(routes!(incidents::list)))
        .routes(action(routes!(incidents::details)))
        .routes(action(routes!(incidents::create)))
        .routes(action(routes!(incidents::close)))
        .routes(action(routes!(incidents::history)))
        .routes(action(routes!(responses::list)))
        .routes(action(routes!(responses::update)))
        .routes(action(routes!(responses::update_many)))
        .routes(action(routes!(comments::list)))
        .routes(action(routes!(comments::create)))
        .routes(action(routes!(comments::delete)))
        .routes(action(routes!(attachments::list)))
        .routes(action(routes!(attachments::download)))
        .routes(action(routes!(attachments::upload)))
}

#[cfg(test)]
mod tests {
    /// Every action has its route and its documented operation, and nothing else is there.
    #[test]
    fn every_action_is_routed_and_documented() {
        let (_, doc) = super::routes().split_for_parts();
        let mut paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        paths.sort_unstable();
        let mut expected: Vec<String> = [
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
        ]
        .iter()
        .map(|a| format!("/api/v1/{{client_id}}/{a}"))
        .collect();
        expected.sort_unstable();
        assert_eq!(paths, expected);
        for item in doc.paths.paths.values() {
            let op = item.post.as_ref().unwrap();
            assert!(op.security.is_some());
            assert!(item.get.is_none() && item.put.is_none() && item.delete.is_none());
        }
        let schemes = &doc.components.unwrap().security_schemes;
        assert!(schemes.contains_key(super::SECURITY_SCHEME));
    }

    #[test]
    fn the_console_routes_are_documented() {
        let (_, doc) = super::soc::routes().split_for_parts();
        assert_eq!(doc.paths.paths.len(), 6);
    }
}
