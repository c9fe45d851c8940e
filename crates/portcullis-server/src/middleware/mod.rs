//! Middleware, outermost first: catch-panic → one envelope layer (limits, request id, AWX
//! and security headers, access log) → timeout → trailing-slash rewrite; inside the router:
//! trailing-slash redirect → authenticator chain.

pub mod limits;
pub mod request_id;
pub mod security_headers;
pub mod trailing_slash;
