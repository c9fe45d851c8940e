//! The built-in reverse proxy (`docs/gateway.md`, "Proxy mode"): the gateway listener's only
//! handler. Each request is checked for ambiguous input, decided on by [`super::decide`], and
//! forwarded to its route's upstream over a pooled hyper-util client:
//!
//! - the path sent upstream is the canonical path the decision judged (after `strip_prefix`);
//! - hop-by-hop headers, every header `Connection` names, every identity-looking header (after
//!   mapping `_` and `.` to `-`), the client's `X-Forwarded-*`/`Forwarded` and, by default,
//!   `Authorization` are removed *before* Portcullis adds its own, so no client value can
//!   survive under a name Portcullis sets;
//! - header names holding `_` or `.` are refused (nginx drops them by default; frameworks fold
//!   them into the names above);
//! - bodies stream both ways; a WebSocket is switched to raw bytes only after the upstream
//!   answered 101, and only on routes that allow it.

use super::answer::{self, Dialect};
use super::decide::{self, Allowed, Mode, Refusal};
use super::forward_auth::canonical;
use crate::auth::chain;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use portcullis_core::gateway::headers::{has_alias_chars, is_identity_header};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

/// Request headers above this total size are refused with 431 (`docs/gateway.md`, "Limits").
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Client headers Portcullis sets itself, or ignores (`Forwarded`, `X-Forwarded-Prefix`).
const REPLACED: [&str; 6] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-prefix",
    "forwarded",
    "x-real-ip",
];

/// The proxy listener's application.
pub fn app(state: AppState) -> Router {
    Router::new().fallback(serve).with_state(state)
}

fn peer_of(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip())
}

/// Names listed in `Connection` (lower case).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && connection_listed(headers).iter().any(|t| t == "upgrade")
}

/// The checks that need only the headers: size, aliasing names, smuggling shapes, duplicates.
fn screen(state: &AppState, parts: &Parts) -> Result<(), (StatusCode, &'static str)> {
    let size: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request header fields too large.",
        ));
    }
    if parts.headers.keys().any(|n| has_alias_chars(n.as_str())) {
        return Err((
            StatusCode::BAD_REQUEST,
            "header names with '_' or '.' are not accepted",
        ));
    }
    // hyper has already refused a Transfer-Encoding that does not end in `chunked`, and for
    // one with Content-Length it dropped the length, reads the body as chunked and closes the
    // connection after the answer (RFC 9112 §6.3): the upstream gets a re-framed request
    // either way. What hyper lets through and no honest client sends is refused here.
    let mut te = parts.headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(first) = te.next()
        && (te.next().is_some() || !first.as_bytes().eq_ignore_ascii_case(b"chunked"))
    {
        return Err((
            StatusCode::BAD_REQUEST,
            "Transfer-Encoding other than a single chunked",
        ));
    }
    if parts.headers.contains_key(header::CONTENT_LENGTH)
        && parts.headers.contains_key(header::TRANSFER_ENCODING)
    {
        return Err((
            StatusCode::BAD_REQUEST,
            "Content-Length and Transfer-Encoding together",
        ));
    }
    if let Err(Refusal::BadRequest(why)) =
        decide::duplicates(&parts.headers, &state.config.session.cookie_name)
    {
        return Err((StatusCode::BAD_REQUEST, why));
    }
    Ok(())
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = (status, serde_json::json!({ "detail": text }).to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::BAD_REQUEST {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

async fn serve(State(state): State<AppState>, req: Request) -> Response {
    let audit = crate::service::audit::RequestContext {
        request_id: state.request_ids.next(),
        source: crate::extract::client_ip::client_ip(&state, req.headers(), req.extensions()),
    };
    crate::service::audit::in_request(audit, handle(state, req)).await
}

async fn handle(state: AppState, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Err((status, why)) = screen(&state, &parts) {
        crate::metrics::gateway_decision("proxy", "", "deny", "bad_request");
        return plain(status, why);
    }
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    let raw_target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    // An absolute-form target must name the Host it is sent with.
    if let (Some(a), Some(h)) = (parts.uri.authority(), parts.headers.get(header::HOST))
        && let (Ok(a), Ok(h)) = (
            portcullis_core::gateway::canonical::canonical_host(a.as_str()),
            portcullis_core::gateway::canonical::canonical_host(h.to_str().unwrap_or("")),
        )
        && a != h
    {
        return plain(
            StatusCode::BAD_REQUEST,
            "the request target's authority differs from Host",
        );
    }
    let (host, target) = match canonical(&raw_target, host.as_deref()) {
        Ok(x) => x,
        Err(r) => {
            crate::metrics::gateway_decision("proxy", "", "deny", r.reason());
            return answer::render(&state, &r, Dialect::Redirect, &parts.method, None);
        }
    };
    let upgrade = is_upgrade(&parts.headers);
    let allowed = match Box::pin(decide::decide(&state, Mode::Proxy, &parts, &host, &target)).await
    {
        Ok(a) => a,
        Err((_, r)) => {
            let browser =
                matches!(r, Refusal::Unauthenticated { .. }) && answer::is_browser(&parts.headers);
            let pq = target.path_and_query();
            return answer::render(
                &state,
                &r,
                Dialect::Redirect,
                &parts.method,
                browser.then_some(pq.as_str()),
            );
        }
    };
    let route = allowed.route();
    let Some(upstream) = route.upstream.as_ref() else {
        return plain(StatusCode::NOT_FOUND, "This route has no upstream.");
    };
    let websocket = upgrade
        && upstream.websocket
        && parts
            .headers
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if upgrade && !websocket {
        return plain(
            StatusCode::BAD_REQUEST,
            "this route does not accept a protocol upgrade",
        );
    }
    let client_upgrade = if websocket {
        parts.extensions.remove::<hyper::upgrade::OnUpgrade>()
    } else {
        None
    };
    let uri = match format!(
        "{}{}",
        upstream.origin,
        upstream.forward_path(&target.path, target.query.as_deref())
    )
    .parse::<Uri>()
    {
        Ok(u) => u,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "malformed request target"),
    };
    let headers = forwarded_headers(&state, &parts, &allowed, &host, websocket);
    let mut out = hyper::Request::new(if websocket { Body::empty() } else { body });
    *out.method_mut() = parts.method.clone();
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;
    let started = Instant::now();
    let sent = tokio::time::timeout(upstream.timeout, state.gateway.client.request(out)).await;
    let mut resp = match sent {
        Ok(Ok(r)) => {
            crate::metrics::gateway_upstream(&route.id, "ok", started.elapsed());
            r
        }
        Ok(Err(e)) => {
            crate::metrics::gateway_upstream(&route.id, "error", started.elapsed());
            tracing::warn!(route = %route.id, error = %e, "upstream request failed");
            return plain(StatusCode::BAD_GATEWAY, "Bad gateway.");
        }
        Err(_) => {
            crate::metrics::gateway_upstream(&route.id, "timeout", started.elapsed());
            tracing::warn!(route = %route.id, "upstream timed out");
            return plain(StatusCode::GATEWAY_TIMEOUT, "Gateway timeout.");
        }
    };
    if websocket && resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upstream_io = hyper::upgrade::on(&mut resp);
        if let Some(client_io) = client_upgrade {
            tokio::spawn(async move {
                match tokio::try_join!(client_io, upstream_io) {
                    Ok((c, u)) => {
                        let (mut c, mut u) = (TokioIo::new(c), TokioIo::new(u));
                        let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
                }
            });
        }
        let (head, _) = resp.into_parts();
        return Response::from_parts(head, Body::empty());
    }
    strip_hop_by_hop(resp.headers_mut());
    let mut resp = resp.map(Body::new);
    if let Some((session, cookie)) = &allowed.renew {
        chain::renew(&state, session, cookie, &mut resp);
    }
    resp
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in connection_listed(h) {
        h.remove(name.as_str());
    }
    for name in HOP_BY_HOP {
        h.remove(name);
    }
    h.remove(header::UPGRADE);
}

/// The headers sent upstream: the client's, cleaned (module rules), then Portcullis's.
fn forwarded_headers(
    state: &AppState,
    parts: &Parts,
    allowed: &Allowed,
    host: &str,
    websocket: bool,
) -> HeaderMap {
    let route = allowed.route();
    let listed = connection_listed(&parts.headers);
    let mut out = HeaderMap::with_capacity(parts.headers.len() + 8);
    for (name, value) in &parts.headers {
        let n = name.as_str();
        let drop = HOP_BY_HOP.contains(&n)
            || n == "upgrade"
            || listed.iter().any(|l| l == n)
            || REPLACED.contains(&n)
            || is_identity_header(n)
            || (route.strip_authorization && name == header::AUTHORIZATION);
        if !drop {
            out.append(name.clone(), value.clone());
        }
    }
    let peer = peer_of(parts);
    let client = crate::extract::client_ip::client_ip(state, &parts.headers, &parts.extensions);
    let chain = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prior) if state.config.gateway.trusts(peer) => format!("{prior}, {peer}"),
        _ => client.to_string(),
    };
    let proto = if parts.extensions.get::<crate::listener::OverTls>().is_some() {
        "https"
    } else {
        "http"
    };
    let put = |out: &mut HeaderMap, n: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            out.insert(HeaderName::from_static(n), v);
        }
    };
    put(&mut out, "x-forwarded-for", &chain);
    put(&mut out, "x-forwarded-proto", proto);
    put(&mut out, "x-forwarded-host", host);
    for (n, v) in &allowed.identity {
        out.insert(n.clone(), v.clone());
    }
    if websocket {
        out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
    out
}
