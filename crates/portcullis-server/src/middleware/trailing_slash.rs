//! AWX's trailing-slash rule (`docs/awx-compat.md`, "URL handling"): a `GET`/`HEAD` on a path
//! routed only with a final `/` answers 301 to that path (query kept); other methods are handled as
//! if the slash were present. The router registers every path twice (see `router::awx_route`); this
//! layer sits on the slash-less twin only.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// On a slash-less route: redirect safe methods to the slashed path, pass the rest on.
pub async fn redirect(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let location = match req.uri().query() {
            Some(q) => format!("{}/?{q}", req.uri().path()),
            None => format!("{}/", req.uri().path()),
        };
        let mut resp = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return resp;
    }
    next.run(req).await
}
