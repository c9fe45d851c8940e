//! Middleware, outermost first (`router.rs`): catch-panic → one envelope layer
//! ([`request_id`]: input limits, request id, AWX and security headers, access log) → handler
//! timeout → the router. Inside the router, route layers: the slash-less twin of every AWX path
//! carries the trailing-slash redirect ([`trailing_slash`]), and the AWX API views carry the
//! authenticator chain ([`crate::auth::chain`]). The `/api/o/`, MDR and console routes
//! authenticate in their handlers.

pub mod limits;
pub mod request_id;
pub mod security_headers;
pub mod trailing_slash;
