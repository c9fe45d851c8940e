//! The forward-auth endpoint (`docs/gateway.md`, "Forward-auth"): `/api/gateway/auth` for
//! nginx `auth_request` (`X-Original-URI`, `X-Original-Method`), Traefik `forwardAuth` and
//! Caddy `forward_auth` (`X-Forwarded-Method`, `-Uri`, `-Host`), and
//! `/api/gateway/auth/{path}` for Envoy `ext_authz` (original method, path after the prefix).
//!
//! These headers say which request is being judged, so they are believed only from
//! `gateway.trusted_proxies`. From anyone else the request is judged as what it is: a call to
//! `/api/gateway/auth` itself. A trusted proxy that names no method gets 400, never "assume
//! GET". The answer is 200 with the identity headers (and a re-armed session cookie), or the
//! refusal of [`super::answer`]. This is a proxy protocol rather than a REST resource, so it is
//! registered here and not in the OpenAPI document.

use super::answer::{self, Dialect};
use super::decide::{self, Mode, Refusal};
use crate::auth::chain;
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use portcullis_core::gateway::canonical::{Target, canonical_host, canonical_target};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The endpoint's path.
pub const PATH: &str = "/api/gateway/auth";

/// The forward-auth routes, merged into the API listener's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, any(check))
        .route("/api/gateway/auth/{*rest}", any(check))
}

/// The request being judged, as the asking proxy describes it.
struct Original {
    dialect: Dialect,
    method: Method,
    target: String,
    host: Option<String>,
}

/// One value of a header that must not repeat; `Err` when it does or is not text.
fn one<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Refusal::BadRequest("a forwarded header is repeated"));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| Refusal::BadRequest("a forwarded header is not text"))
        })
        .transpose()
}

fn original(parts: &Parts, trusted: bool) -> Result<Original, Refusal> {
    let h = &parts.headers;
    let own_host = one(h, "host")?.map(str::to_owned);
    if !trusted {
        return Ok(Original {
            dialect: Dialect::Redirect,
            method: parts.method.clone(),
            target: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            host: own_host,
        });
    }
    // Traefik and Caddy name the original host in X-Forwarded-Host; nginx and Envoy pass the
    // original Host itself. Reading X-Forwarded-Host only in the dialect that sets it means a
    // client's own copy, which nginx and Envoy may pass along, never chooses the host.
    let forwarded_host = one(h, "x-forwarded-host")?.map(str::to_owned);
    let method = |v: Option<&str>| -> Result<Method, Refusal> {
        let v = v.ok_or(Refusal::BadRequest("the original method is missing"))?;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Refusal::BadRequest("the original method is not a method"));
        }
        Method::from_bytes(v.as_bytes())
            .map_err(|_| Refusal::BadRequest("the original method is not a method"))
    };
    let (o_uri, o_method) = (one(h, "x-original-uri")?, one(h, "x-original-method")?);
    if o_uri.is_some() || o_method.is_some() {
        return Ok(Original {
            dialect: Dialect::Nginx,
            method: method(o_method)?,
            target: o_uri
                .ok_or(Refusal::BadRequest("X-Original-URI is missing"))?
                .to_owned(),
            host: own_host,
        });
    }
    let (f_uri, f_method) = (one(h, "x-forwarded-uri")?, one(h, "x-forwarded-method")?);
    if f_uri.is_some() || f_method.is_some() {
        return Ok(Original {
            dialect: Dialect::Redirect,
            method: method(f_method)?,
            target: f_uri
                .ok_or(Refusal::BadRequest("X-Forwarded-Uri is missing"))?
                .to_owned(),
            host: forwarded_host.or(own_host),
        });
    }
    // Envoy: the original method, and the original path after the prefix.
    let rest = parts.uri.path().strip_prefix(PATH).unwrap_or_default();
    if rest.starts_with('/') {
        let target = match parts.uri.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        };
        return Ok(Original {
            dialect: Dialect::Redirect,
            method: parts.method.clone(),
            target,
            host: own_host,
        });
    }
    Err(Refusal::BadRequest(
        "the original method is missing: send X-Original-Method or X-Forwarded-Method",
    ))
}

/// Splits an absolute-form target, refusing one whose authority is not the request's host.
pub fn origin_form(target: &str, host: Option<&str>) -> Result<(String, String), Refusal> {
    let absolute = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"));
    let host = host.ok_or(Refusal::BadRequest("the request names no host"))?;
    let host = canonical_host(host).map_err(|_| Refusal::BadRequest("malformed host"))?;
    match absolute {
        None => Ok((host, target.to_owned())),
        Some(rest) => {
            let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            let authority =
                canonical_host(authority).map_err(|_| Refusal::BadRequest("malformed host"))?;
            if authority != host {
                return Err(Refusal::BadRequest(
                    "the request target's authority differs from Host",
                ));
            }
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            Ok((host, path))
        }
    }
}

/// Canonical host and target of a request, or the 400.
pub fn canonical(target: &str, host: Option<&str>) -> Result<(String, Target), Refusal> {
    let (host, target) = origin_form(target, host)?;
    let target = canonical_target(&target).map_err(|e| Refusal::BadRequest(e.reason()))?;
    Ok((host, target))
}

async fn check(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    let trusted = state.config.gateway.trusts(peer);
    let refuse = |r: Refusal, dialect: Dialect| {
        crate::metrics::gateway_decision("forward_auth", "", "deny", r.reason());
        answer::render(&state, &r, dialect, &parts.method, None)
    };
    if let Err(r) = decide::duplicates(&parts.headers, &state.config.session.cookie_name) {
        return refuse(r, Dialect::Redirect);
    }
    let orig = match original(&parts, trusted) {
        Ok(o) => o,
        Err(r) => return refuse(r, Dialect::Redirect),
    };
    let (host, target) = match canonical(&orig.target, orig.host.as_deref()) {
        Ok(x) => x,
        Err(r) => return refuse(r, orig.dialect),
    };
    let Ok(uri) = target.path_and_query().parse::<Uri>() else {
        return refuse(
            Refusal::BadRequest("malformed request target"),
            orig.dialect,
        );
    };
    // The request as the client sent it: its method and path, this request's headers and
    // connection (the client address comes from the trusted proxy's X-Forwarded-For).
    let mut judged = Request::new(());
    *judged.method_mut() = orig.method.clone();
    *judged.uri_mut() = uri;
    *judged.headers_mut() = std::mem::take(&mut parts.headers);
    *judged.extensions_mut() = std::mem::take(&mut parts.extensions);
    let (judged, ()) = judged.into_parts();
    match Box::pin(decide::decide(
        &state,
        Mode::ForwardAuth,
        &judged,
        &host,
        &target,
    ))
    .await
    {
        Ok(allowed) => {
            let mut resp = StatusCode::OK.into_response();
            let h = resp.headers_mut();
            for (name, value) in &allowed.identity {
                h.insert(name.clone(), value.clone());
            }
            if let Ok(v) = HeaderValue::from_str(&allowed.route().id) {
                h.insert("x-portcullis-route", v);
            }
            // The path that was judged, for a proxy that forwards it rather than the
            // client's spelling (the nginx configuration of `docs/gateway.md` does).
            if let Ok(v) = HeaderValue::from_str(&target.path_and_query()) {
                h.insert("x-portcullis-path", v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some((session, cookie)) = &allowed.renew {
                chain::renew(&state, session, cookie, &mut resp);
            }
            resp
        }
        Err((_, r)) => {
            let browser =
                matches!(r, Refusal::Unauthenticated { .. }) && answer::is_browser(&judged.headers);
            let target = target.path_and_query();
            answer::render(
                &state,
                &r,
                orig.dialect,
                &orig.method,
                browser.then_some(target.as_str()),
            )
        }
    }
}
