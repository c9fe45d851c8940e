//! Middleware, outermost first: catch-panic → limits → request id and AWX headers →
//! security headers → timeout; inside the router: trailing-slash redirect → authenticator
//! chain.

pub mod limits;
pub mod request_id;
pub mod security_headers;
pub mod trailing_slash;
