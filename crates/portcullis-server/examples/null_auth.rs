//! Yardstick "F"/"N" of `bench/gateway.sh`: a forward-auth server that does nothing but
//! compare the `Authorization` header with the value given on the command line, answering 204
//! when it matches and 401 otherwise, on Portcullis's own listener with its default limits. Its
//! rate is the ceiling of a forward-auth check on this machine; the gateway's forward-auth
//! endpoint is measured against it, directly (F) and behind nginx's `auth_request` (N).
//!
//!     cargo run --release -p portcullis-server --example null_auth -- 127.0.0.1:18092 'Bearer xyz'

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use std::sync::Arc;

async fn check(State(expected): State<Arc<str>>, headers: HeaderMap) -> StatusCode {
    match headers.get(header::AUTHORIZATION) {
        Some(v) if v.as_bytes() == expected.as_bytes() => StatusCode::NO_CONTENT,
        _ => StatusCode::UNAUTHORIZED,
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18092".to_owned());
    let Some(expected) = args.next() else {
        return Err(std::io::Error::other(
            "usage: null_auth LISTEN_ADDR EXPECTED_AUTHORIZATION",
        ));
    };
    let expected: Arc<str> = expected.into();
    portcullis_server::listener::serve_forever(&addr, || {
        axum::Router::new().fallback(check).with_state(expected)
    })
}
