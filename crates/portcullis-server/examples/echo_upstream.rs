//! A sample upstream for trying the gateway (README, "Gateway"): answers every request with
//! JSON naming the method, the request target and every header it received, so the identity
//! headers Portcullis sets — and the client headers it removed — can be seen.
//!
//!     cargo run --release -p portcullis-server --example echo_upstream -- 127.0.0.1:9001

use axum::extract::Request;
use axum::response::IntoResponse;

async fn echo(req: Request) -> impl IntoResponse {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        "method": req.method().as_str(),
        "target": req.uri().to_string(),
        "headers": headers,
    }))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    portcullis_server::listener::serve_forever(&addr, || axum::Router::new().fallback(echo))
}
