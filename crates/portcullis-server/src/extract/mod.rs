//! Extractors: our JSON body and path readers (whose rejections are
//! [`ApiError`](crate::error::ApiError)s), the client address and request origin, and the
//! authenticated principal.

pub mod client_ip;
pub mod json;
pub mod path;
pub mod principal;
