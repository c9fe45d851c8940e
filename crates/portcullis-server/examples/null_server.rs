//! The benchmark yardstick (`bench/auth.sh`): a server that does nothing but answer every
//! request with the anonymous 401 of the AWX API (same status, `WWW-Authenticate` and body),
//! on Portcullis's own listener with its default limits. Its rate is the ceiling of the
//! framework and listener on this machine; Portcullis's anonymous 401 is measured against it.
//!
//!     cargo run --release -p portcullis-server --example null_server -- 127.0.0.1:18090

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

async fn refuse() -> impl IntoResponse {
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=api authorization_url=/api/o/authorize/"),
            ),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        r#"{"detail":"Authentication credentials were not provided."}"#,
    )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    portcullis_server::listener::serve_forever(&addr, || axum::Router::new().fallback(refuse))
}
