//! The client address and the request's own origin. `X-Forwarded-*` headers are believed
//! only when the socket peer is a configured trusted proxy; otherwise a client could spoof
//! its address (defeating throttles) or its scheme (defeating the Referer check).

use crate::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// What the CSRF check and the logs need to know about where a request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrigin {
    /// Client address (socket peer, or the right-most untrusted `X-Forwarded-For` entry).
    pub client_ip: IpAddr,
    /// True when the request came over TLS ended by this server, or a trusted proxy says
    /// the client used HTTPS.
    pub https: bool,
    /// `scheme://host[:port]` browsers must send as `Origin`.
    pub public_origin: String,
}

/// The client address of a request: the socket peer, or the right-most `X-Forwarded-For`
/// entry that is not a trusted proxy when the peer is one.
pub fn client_ip(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
    client_and_peer(state, headers, extensions).0
}

fn client_and_peer(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> (IpAddr, bool) {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    let trusted_peer = state.config.trusted_proxies.contains(&peer);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let client_ip = if trusted_peer {
        header("x-forwarded-for")
            .and_then(|xff| {
                xff.rsplit(',')
                    .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                    .find(|ip| !state.config.trusted_proxies.contains(ip))
            })
            .unwrap_or(peer)
    } else {
        peer
    };
    (client_ip, trusted_peer)
}

/// Derives the [`RequestOrigin`] of a request.
pub fn request_origin(state: &AppState, parts: &Parts) -> RequestOrigin {
    let (client_ip, trusted_peer) = client_and_peer(state, &parts.headers, &parts.extensions);
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let over_tls = parts.extensions.get::<crate::listener::OverTls>().is_some();
    let https = over_tls || (trusted_peer && header("x-forwarded-proto") == Some("https"));
    let public_origin = match &state.public_origin {
        Some(o) => o.clone(),
        None => {
            let scheme = if https { "https" } else { "http" };
            let host = header("host").unwrap_or("127.0.0.1");
            format!("{scheme}://{host}")
        }
    };
    RequestOrigin {
        client_ip,
        https,
        public_origin,
    }
}
