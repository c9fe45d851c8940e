//! Extractors: the shared body reader (limits), our JSON body and path readers (whose rejections are
//! [`ApiError`](crate::error::ApiError)s), the NUL-character rules every reader of client
//! text applies, and the client address and request origin.

pub mod body;
pub mod client_ip;
pub mod json;
pub mod nul;
pub mod path;
