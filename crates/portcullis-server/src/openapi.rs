//! The OpenAPI 3.1 document: its header (title, tags, shared schemas) and the view serving it
//! at `/api/openapi.json`. The paths come from the route table itself
//! ([`crate::router`]), so the document lists exactly the routes that are served.

use crate::api::awx::render;
use crate::error::ApiError;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use utoipa::openapi::path::Operation;
use utoipa_axum::router::{UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The document's header; the router adds every path.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Authentication server for REST APIs: the AWX / Astra Automation Controller-compatible API, OAuth2 under /api/o/, the MDR exchange and the console's JSON API."
    ),
    components(schemas(render::UserResponse)),
    tags(
        (name = "discovery", description = "Read anonymously by AWX clients first"),
        (name = "session", description = "Session login with CSRF"),
        (name = "users", description = "Users and the caller"),
        (name = "settings", description = "Runtime authentication settings"),
        (name = "tokens", description = "OAuth2 personal and application access tokens"),
        (name = "applications", description = "OAuth2 applications"),
        (name = "oauth2", description = "OAuth2 endpoints under /api/o/ (form-encoded)"),
        (name = "compatibility", description = "Lists AWX clients probe; Portcullis does not manage these resources"),
        (name = "inventories", description = "The minimal inventory and host registry"),
        (name = "activity", description = "The AWX activity stream"),
        (name = "mdr", description = "The MDR API: the token exchange and the signing keys"),
        (name = "console", description = "The console's JSON API (superusers; MDR error dialect)"),
        (name = "sso", description = "Single sign-on through an OpenID Connect provider, at AWX's /sso/ URLs"),
    )
)]
pub struct ApiDoc;

/// The serialized document of one application, filled once its route table is complete
/// (the view serving it is part of that table, so it cannot hold the document up front).
#[derive(Debug, Clone, Default)]
pub struct Document(Arc<OnceLock<Bytes>>);

impl Document {
    /// Stores the finished document (once; later calls are ignored).
    pub fn fill(&self, api: utoipa::openapi::OpenApi) {
        match serde_json::to_vec(&api) {
            Ok(bytes) => {
                // Only the table builder fills it, once per application.
                let _ = self.0.set(Bytes::from(bytes));
            }
            Err(e) => tracing::error!(error = %e, "the OpenAPI document does not serialize"),
        }
    }
}

/// The document view with its cell.
pub fn route<S>(doc: &Document) -> UtoipaMethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let doc = doc.clone();
    routes!(openapi_json).map(|mr| mr.layer(Extension(doc)))
}

/// Final touches on the collected document: operation ids made unique (a handler serving
/// two methods, such as `PUT` and `PATCH`, yields one id twice; the later method gets its
/// name appended).
pub fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut seen = HashSet::new();
    for item in api.paths.paths.values_mut() {
        let ops: [(&str, &mut Option<Operation>); 8] = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let Some(id) = op.operation_id.clone() else {
                continue;
            };
            if !seen.insert(id.clone()) {
                let unique = format!("{id}_{method}");
                seen.insert(unique.clone());
                op.operation_id = Some(unique);
            }
        }
    }
    api
}

/// `GET /api/openapi.json`
#[utoipa::path(get, path = "/api/openapi.json", tag = "discovery",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    let Some(bytes) = doc.0.get() else {
        return ApiError::Internal("the OpenAPI document was not built".into()).into_response();
    };
    let mut r = Response::new(Body::from(bytes.clone()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
