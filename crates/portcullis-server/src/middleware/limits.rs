//! Input limits that hyper does not enforce per field (security.md §11): request line
//! length (414), one header field and the whole header section (431), and exactly one
//! `Authorization` header (400). The listener additionally caps the read buffer and the
//! header count, so oversized header sections never reach this layer whole.

use crate::config::LimitsConfig;
use crate::error::ApiError;
use axum::extract::Request;
use axum::http::header;

/// Checks the limits before anything else reads the request; `Err` is the answer to send.
pub fn check(l: &LimitsConfig, req: &Request) -> Result<(), ApiError> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > l.max_uri_bytes {
        return Err(ApiError::UriTooLong);
    }
    let headers = req.headers();
    if headers.len() > l.max_headers {
        return Err(ApiError::HeadersTooLarge);
    }
    let mut total = 0usize;
    for (name, value) in headers {
        let size = name.as_str().len() + value.len();
        if size > l.max_header_field_bytes {
            return Err(ApiError::HeadersTooLarge);
        }
        total += size + 4;
    }
    if total > l.max_header_bytes {
        return Err(ApiError::HeadersTooLarge);
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(ApiError::BadRequest(
            "Only one Authorization header is allowed.".into(),
        ));
    }
    Ok(())
}
