//! Yardstick "B" of `bench/gateway.sh`: a bare pass-through HTTP/1.1 reverse proxy, on
//! Portcullis's own listener (as the gateway) with hyper-util's pooled keep-alive client, that
//! forwards every request to one upstream with its body streamed and no header logic beyond
//! the URI. Its rate is the ceiling of listener + client on this machine; the gateway's proxy
//! mode is measured against it.
//!
//!     cargo run --release -p portcullis-server --example bare_proxy -- 127.0.0.1:18091 127.0.0.1:18080

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Clone)]
struct Proxy {
    client: Client<HttpConnector, Body>,
    upstream: String,
}

async fn forward(State(proxy): State<Proxy>, mut req: Request) -> Response {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let uri = match Uri::try_from(format!("http://{}{path}", proxy.upstream)) {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    *req.uri_mut() = uri;
    match proxy.client.request(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18091".to_owned());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    portcullis_server::listener::serve_forever(&addr, || {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        axum::Router::new()
            .fallback(forward)
            .with_state(Proxy { client, upstream })
    })
}
