//! Extractors: our JSON body reader (whose rejection is an [`ApiError`](crate::error::ApiError)),
//! the client address and request origin, and the authenticated principal.

pub mod client_ip;
pub mod json;
pub mod principal;
