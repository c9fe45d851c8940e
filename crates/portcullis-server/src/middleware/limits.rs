//! Input limits that hyper does not enforce per field (security.md §11): request line
//! length (414), one header field and the whole header section (431), and exactly one
//! `Authorization` header (400). The listener additionally caps the read buffer and the
//! header count, so oversized header sections never reach this layer whole.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{Response, header};
use axum::middleware::Next;
use axum::response::IntoResponse;

/// Checks the limits before anything else reads the request.
pub async fn layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response<axum::body::Body> {
    let l = &state.config.limits;
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > l.max_uri_bytes {
        return ApiError::UriTooLong.into_response();
    }
    let headers = req.headers();
    if headers.len() > l.max_headers {
        return ApiError::HeadersTooLarge.into_response();
    }
    let mut total = 0usize;
    for (name, value) in headers {
        let size = name.as_str().len() + value.len();
        if size > l.max_header_field_bytes {
            return ApiError::HeadersTooLarge.into_response();
        }
        total += size + 4;
    }
    if total > l.max_header_bytes {
        return ApiError::HeadersTooLarge.into_response();
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return ApiError::BadRequest("Only one Authorization header is allowed.".into())
            .into_response();
    }
    next.run(req).await
}
