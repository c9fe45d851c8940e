//! AWX's trailing-slash rule (`awx-api.md` §2.4): a `GET`/`HEAD` on a path routed only with
//! a final `/` answers 301 to that path (query kept); other methods are handled as if the
//! slash were present. The outer half adds the slash before routing and marks the request;
//! the inner half, a route layer, runs only when the slashed path matched a route.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The path as the client sent it, before a slash was added.
#[derive(Debug, Clone)]
pub struct SlashAdded(pub String);

/// Outer half: append `/` to `/api/…` and `/accounts/…` paths that lack it.
pub async fn add(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let wants = (path.starts_with("/api/") || path.starts_with("/accounts/") || path == "/api")
        && !path.ends_with('/')
        && path != "/api/openapi.json";
    if wants {
        let original = req.uri().to_string();
        let new_pq = match req.uri().query() {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = new_pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
                req.extensions_mut().insert(SlashAdded(original));
            }
        }
    }
    next.run(req).await
}

/// Inner half: a matched route reached through an added slash redirects safe methods.
pub async fn redirect(req: Request, next: Next) -> Response {
    let added = req.extensions().get::<SlashAdded>().is_some();
    if added && matches!(*req.method(), Method::GET | Method::HEAD) {
        let location = req
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        let mut resp = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return resp;
    }
    next.run(req).await
}
