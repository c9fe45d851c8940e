//! The HTTP/1.1 listener. Serves the router with hyper directly so the limits axum's
//! `serve` does not expose are set: header read timeout (10 s), read buffer and header
//! count caps (hyper answers 431 itself when they are exceeded), keep-alive, and the
//! client's socket address for the client-IP rules.
//!
//! Policy on shutdown (SIGTERM): stop accepting, but first take in every connection the kernel
//! had already completed (its client has sent, or is sending, a request; dropping it would
//! reset a request that reached us before the signal). Every request that has reached the
//! server is then answered by its handler — never cut, never refused — with
//! `Connection: close`; a connection with no request under way is closed as soon as it has
//! been quiet for a moment. The drain is bounded by the caller's timeout; only connections
//! still busy then are cut. hyper's own graceful shutdown is not used on its own because it
//! closes a fresh connection whose request bytes are in the socket but not yet read.
//!
//! With TLS (`docs/tls.md`), each connection's task runs the handshake first, under the
//! handshake timeout, so `accept` never waits on a client; every limit above then applies to
//! the decrypted stream unchanged. Requests that arrived over TLS carry [`OverTls`].

use crate::config::LimitsConfig;
use crate::tls::ServerTls;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long a connection with no request under way must stay quiet, once the drain has
/// begun, before it is closed. Bytes that were already in its socket are read well within it.
const QUIET: Duration = Duration::from_millis(50);

/// How the drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every connection finished its requests and closed.
    Complete,
    /// The drain timeout passed; this many connections were still busy and were cut.
    TimedOut(usize),
}

/// Marks a request that reached the server over TLS ended by this listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls;

/// Serves `app` in plain HTTP on `listener` until `shutdown` completes, then drains (see
/// the module policy) for at most `drain_timeout` and returns how the drain ended.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<Drain> {
    serve_on(listener, app, limits, None, drain_timeout, shutdown).await
}

/// Serves the router `app` builds on `addr` with the default limits, on a runtime of its
/// own, until the process is killed: the benchmark yardsticks and the sample upstream of
/// `examples/` (the server binary has its own start-up and shutdown).
pub fn serve_forever(addr: &str, app: impl FnOnce() -> Router) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(addr).await?;
            serve(
                listener,
                app(),
                &LimitsConfig::default(),
                Duration::from_secs(1),
                std::future::pending(),
            )
            .await
            .map(|_| ())
        })
}

/// [`serve`], ending TLS on every connection when `tls` is given.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    tls: Option<ServerTls>,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<Drain> {
    let (draining_tx, draining) = watch::channel(false);
    let conns = Arc::new(Connections {
        app,
        buf: (limits.max_header_bytes + limits.max_uri_bytes).max(8192),
        max_headers: limits.max_headers,
        draining,
        tls,
    });
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, peer)) => conns.spawn(&mut tasks, stream, peer),
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            // Reap finished connections so the set does not grow with the server's age.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    let _ = draining_tx.send(true);
    // Connections the kernel has completed are clients that connected before the signal:
    // take them in (they get one answer each) before closing the listening socket.
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let adopted = stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream));
                match adopted {
                    Ok(stream) => conns.spawn(&mut tasks, stream, peer),
                    Err(e) => tracing::warn!(error = %e, "cannot adopt a queued connection"),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "accept failed while draining");
                break;
            }
        }
    }
    drop(listener);
    tracing::info!(
        connections = tasks.len(),
        "stopped accepting; answering the requests under way"
    );
    let drained = tokio::time::timeout(drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => Ok(Drain::Complete),
        Err(_) => {
            let cut = tasks.len();
            tracing::warn!(
                connections = cut,
                timeout_seconds = drain_timeout.as_secs(),
                "drain timeout passed; cutting the connections still busy"
            );
            tasks.shutdown().await;
            Ok(Drain::TimedOut(cut))
        }
    }
}

/// What every connection task needs.
struct Connections {
    app: Router,
    buf: usize,
    max_headers: usize,
    draining: watch::Receiver<bool>,
    tls: Option<ServerTls>,
}

impl Connections {
    fn spawn(self: &Arc<Self>, tasks: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let this = self.clone();
        match &self.tls {
            None => {
                tasks.spawn(async move { this.run(stream, peer, false).await });
            }
            Some(tls) => {
                let tls = tls.clone();
                tasks.spawn(async move {
                    match tls.accept(stream).await {
                        Ok(stream) => this.run(stream, peer, true).await,
                        // A client's failure, not the server's: scanners and plain-HTTP
                        // clients end here all day long.
                        Err(e) => tracing::debug!(%peer, error = %e, "connection closed"),
                    }
                });
            }
        }
    }

    /// Serves HTTP/1.1 on an established (plain or decrypted) stream until it closes.
    async fn run<S>(&self, stream: S, peer: SocketAddr, over_tls: bool)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let track = Arc::new(Track::default());
        let io = TokioIo::new(Counted {
            inner: stream,
            track: track.clone(),
        });
        let app = self.app.clone();
        let draining = self.draining.clone();
        let svc_track = track.clone();
        let svc_draining = self.draining.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            if over_tls {
                req.extensions_mut().insert(OverTls);
            }
            let busy = Busy::enter(svc_track.clone());
            let draining = svc_draining.clone();
            let answer = app.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let mut response = answer.await?;
                if *draining.borrow() {
                    // The client must not send another request on this connection.
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                drop(busy);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .max_buf_size(self.buf)
            .max_headers(self.max_headers)
            .keep_alive(true);
        // Upgrades are served only where a handler asks for them (the gateway's WebSocket
        // routes, after the upstream's 101); everywhere else `Upgrade` is an ordinary header.
        let conn = builder.serve_connection(io, svc).with_upgrades();
        serve_connection(conn, track, draining).await;
    }
}

/// Runs one connection; once the drain begins, lets a request under way (or whose bytes are
/// arriving) finish, then closes the connection.
async fn serve_connection<I, S>(
    conn: hyper::server::conn::http1::UpgradeableConnection<TokioIo<Counted<I>>, S>,
    track: Arc<Track>,
    mut draining: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return log_end(result),
        // An error means the sender is gone, which only happens once serve has returned.
        _ = draining.wait_for(|d| *d) => {}
    }
    // Keep reading until the connection has been quiet with no request in the router: bytes
    // that reached the socket before the signal are read by then, so hyper sees the request
    // they begin and will not take the connection for an unused one.
    loop {
        let before = track.bytes_read.load(Ordering::Acquire);
        tokio::select! {
            result = conn.as_mut() => return log_end(result),
            () = tokio::time::sleep(QUIET) => {}
        }
        if track.in_flight.load(Ordering::Acquire) == 0
            && track.bytes_read.load(Ordering::Acquire) == before
        {
            break;
        }
    }
    // hyper closes the connection now if it is idle or unused; a request it has begun to read
    // is still read, answered and only then followed by the close.
    conn.as_mut().graceful_shutdown();
    log_end(conn.await);
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// What the drain needs to know about a connection.
#[derive(Debug, Default)]
struct Track {
    /// Bytes read from the client so far.
    bytes_read: AtomicU64,
    /// Requests handed to the router and not answered yet.
    in_flight: AtomicUsize,
}

/// Marks a request as under way until dropped (also when the handler future is dropped).
struct Busy(Arc<Track>);

impl Busy {
    fn enter(track: Arc<Track>) -> Self {
        track.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(track)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client stream (the socket, or the TLS stream over it), counting what is read from it.
struct Counted<I> {
    inner: I,
    track: Arc<Track>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.track
                .bytes_read
                .fetch_add(u64::try_from(read).unwrap_or(u64::MAX), Ordering::AcqRel);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
