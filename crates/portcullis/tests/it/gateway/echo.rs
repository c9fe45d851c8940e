//! The tiny upstream the gateway tests protect: a hyper server on a loopback port that answers
//! what it received, so a test sees exactly what the gateway (or nginx) let through.
//!
//! - any path: `200` with JSON `{method, target, headers: [[name, value], …], body_bytes}`,
//!   where `target` is the raw request target and `headers` are in arrival order;
//! - `/wsgi/…`: the same, but the headers as a WSGI or PHP application sees them: names
//!   lower-cased with `_` and `.` mapped to `-`, and repeated names merged with `,`;
//! - `/ws/…` with `Upgrade: websocket`: a WebSocket that echoes every message;
//! - `/stream/events`: server-sent events: `event 1` at once, `event 2` only after the test
//!   calls [`Echo::release`], so a client that saw `event 1` before the release proves the
//!   body was streamed;
//! - `/stream/sink`: reads the body and answers `{"bytes": n}`;
//! - `/stream/big?bytes=N`: N zero bytes, streamed.
//!
//! Every request is counted ([`Echo::hits`]), so a test can prove nothing reached it.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// A zero-filled chunk for streamed bodies.
pub static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// A response or request body: all at once, from a channel, or `n` zero bytes.
pub enum EchoBody {
    Full(Option<Bytes>),
    Channel(mpsc::Receiver<Bytes>),
    Zeros(u64),
}

impl EchoBody {
    pub fn text(s: impl Into<String>) -> EchoBody {
        EchoBody::Full(Some(Bytes::from(s.into())))
    }
}

impl hyper::body::Body for EchoBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            EchoBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            EchoBody::Channel(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
            EchoBody::Zeros(left) => {
                if *left == 0 {
                    return Poll::Ready(None);
                }
                let n = (*left).min(ZEROS.len() as u64);
                *left -= n;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                    &ZEROS[..n as usize],
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            EchoBody::Full(b) => b.is_none(),
            EchoBody::Channel(_) => false,
            EchoBody::Zeros(left) => *left == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            EchoBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            EchoBody::Channel(_) => SizeHint::default(),
            EchoBody::Zeros(left) => SizeHint::with_exact(*left),
        }
    }
}

struct State {
    hits: AtomicUsize,
    release: Notify,
}

/// A running echo upstream; stopped on drop.
pub struct Echo {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    pub async fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            hits: AtomicUsize::new(0),
            release: Notify::new(),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((io, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(io), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Echo { addr, state, task }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Lets the pending (or the next) `/stream/events` send its second event.
    pub fn release(&self) {
        self.state.release.notify_one();
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<EchoBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(EchoBody::text(v.to_string()))
        .unwrap()
}

/// Lower case, `_` and `.` mapped to `-`: how CGI, WSGI and PHP fold header names.
fn wsgi_name(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<EchoBody> {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    let is_ws = req
        .headers()
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if path.starts_with("/ws/") && is_ws {
        return websocket(req);
    }
    match path.as_str() {
        "/stream/events" => return events(state),
        "/stream/sink" => {
            let mut body = req.into_body();
            let mut n: u64 = 0;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => n += f.data_ref().map_or(0, |d| d.len() as u64),
                    Err(_) => return json(StatusCode::BAD_REQUEST, &serde_json::json!({})),
                }
            }
            return json(StatusCode::OK, &serde_json::json!({ "bytes": n }));
        }
        "/stream/big" => {
            let n: u64 = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("bytes="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            return Response::builder()
                .header("content-type", "application/octet-stream")
                .header("content-length", n)
                .body(EchoBody::Zeros(n))
                .unwrap();
        }
        _ => {}
    }
    let wsgi = path.starts_with("/wsgi/");
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().to_string(), |p| p.as_str().to_owned());
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if !wsgi {
            headers.push((name.as_str().to_owned(), value));
            continue;
        }
        let name = wsgi_name(name.as_str());
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let body_bytes = body.map_or(0, |b| b.len());
    json(
        StatusCode::OK,
        &serde_json::json!({
            "method": method,
            "target": target,
            "headers": headers,
            "body_bytes": body_bytes,
        }),
    )
}

/// `event 1`, then `event 2` once the test releases it.
fn events(state: Arc<State>) -> Response<EchoBody> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        if tx
            .send(Bytes::from_static(b"data: event 1\n\n"))
            .await
            .is_err()
        {
            return;
        }
        state.release.notified().await;
        let _ = tx.send(Bytes::from_static(b"data: event 2\n\n")).await;
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        // nginx passes the events on as they come instead of buffering the response.
        .header("x-accel-buffering", "no")
        .body(EchoBody::Channel(rx))
        .unwrap()
}

/// Answers the WebSocket handshake and echoes messages until the peer closes.
fn websocket(mut req: Request<Incoming>) -> Response<EchoBody> {
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return json(StatusCode::BAD_REQUEST, &serde_json::json!({}));
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(io) = upgrade.await else {
            return;
        };
        let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_text() || msg.is_binary() {
                if ws.send(msg).await.is_err() {
                    break;
                }
            } else if msg.is_close() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(EchoBody::Full(None))
        .unwrap()
}
