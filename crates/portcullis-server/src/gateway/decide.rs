//! The one decision both gateway modes make (`docs/gateway.md`, "Decision order"): refuse
//! ambiguous input, find the route, verify the credential with the authenticator chain (the
//! route's credential kinds only; the node's caches apply), apply the route's policy, and
//! name the caller to the upstream.

use crate::auth::chain::{self, Accept, Failure};
use crate::auth::cookies;
use crate::auth::session::LiveSession;
use crate::state::AppState;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use portcullis_core::gateway::canonical::Target;
use portcullis_core::gateway::headers::{Identity, identity_headers};
use portcullis_core::gateway::policy;
use portcullis_core::gateway::route::{Lookup, Route};
use portcullis_core::principal::{AuthVia, Principal};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Which mode asks (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `/api/gateway/auth`.
    ForwardAuth,
    /// The reverse proxy.
    Proxy,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::ForwardAuth => "forward_auth",
            Self::Proxy => "proxy",
        }
    }
}

/// An allowed request.
#[derive(Debug)]
pub struct Allowed {
    route: Arc<Route>,
    /// The caller (`None` on a public route).
    pub principal: Option<Principal>,
    /// Identity headers for the upstream (and the signed assertion when the route has one).
    pub identity: Vec<(HeaderName, HeaderValue)>,
    /// A live session to re-arm, with the cookie value to send back.
    pub renew: Option<(LiveSession, String)>,
}

impl Allowed {
    /// The route that serves the request.
    pub fn route(&self) -> &Route {
        &self.route
    }
}

/// Why a request is not let through; [`super::answer`] renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Ambiguous or malformed input (400).
    BadRequest(&'static str),
    /// No route (404).
    NotFound,
    /// The route does not take the method (405).
    MethodNotAllowed(Vec<String>),
    /// No acceptable credential (401, or a login redirect for a browser).
    Unauthenticated {
        /// Answer in the MDR dialect (an MDR JWT was presented, or the route takes only those).
        mdr: bool,
        /// A credential was presented and refused.
        presented: bool,
        /// The account is locked: seconds until it may try again.
        retry_after: Option<u64>,
    },
    /// Authenticated, but the policy says no (403); the reason label.
    Forbidden(&'static str),
    /// A session's unsafe request failed the CSRF check (403).
    Csrf(String),
    /// Too many failures from this network (429).
    Throttled(u64),
    /// Storage or the password workers could not answer (503): fail closed.
    Unavailable(String),
}

impl Refusal {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::NotFound => "no_route",
            Self::MethodNotAllowed(_) => "method",
            Self::Unauthenticated {
                presented: false, ..
            } => "unauthenticated",
            Self::Unauthenticated { .. } => "invalid_credential",
            Self::Forbidden(r) => r,
            Self::Csrf(_) => "csrf",
            Self::Throttled(_) => "throttled",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// Refuses what no honest client sends and the decision must not guess at (`docs/gateway.md`,
/// "Ambiguous input"): two `Host` or `Authorization` headers, a session cookie named twice.
pub fn duplicates(headers: &HeaderMap, session_cookie: &str) -> Result<(), Refusal> {
    if headers.get_all(header::HOST).iter().count() > 1 {
        return Err(Refusal::BadRequest("duplicate Host header"));
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(Refusal::BadRequest("duplicate Authorization header"));
    }
    if cookies::values(headers, session_cookie).len() > 1 {
        return Err(Refusal::BadRequest("duplicate session cookie"));
    }
    Ok(())
}

/// Decides on a request. `parts` carries the client's headers, the original method and the
/// connection's extensions; `host` and `target` are already canonical.
pub async fn decide(
    state: &AppState,
    mode: Mode,
    parts: &Parts,
    host: &str,
    target: &Target,
) -> Result<Allowed, (Option<String>, Refusal)> {
    let table = state.gateway.table();
    let method = parts.method.as_str();
    let route = match table.lookup(host, &target.path, method) {
        Lookup::Found(r) => r.clone(),
        Lookup::MethodNotAllowed(allow) => {
            return Err(refused(mode, None, Refusal::MethodNotAllowed(allow)));
        }
        Lookup::NotFound => return Err(refused(mode, None, Refusal::NotFound)),
    };
    let id = route.id.clone();
    if route.public {
        crate::metrics::gateway_decision(mode.as_str(), &id, "allow", "public");
        return Ok(Allowed {
            route,
            principal: None,
            identity: Vec::new(),
            renew: None,
        });
    }
    // Boxed: the chain's future (Basic holds a password check's) would otherwise be part of
    // every gateway request's future and be copied with it.
    let (mut ctx, cached) = crate::service::credential_cache::observe(Box::pin(
        chain::run_accepting(state, parts, Accept::of(&route.kinds)),
    ))
    .await;
    chain::count(&ctx);
    if let Some(hit) = cached {
        crate::metrics::gateway_cache(&id, hit);
    }
    let Some(principal) = ctx.principal.take() else {
        let presented_mdr = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ey"));
        let mdr =
            presented_mdr || route.kinds == [portcullis_core::gateway::route::CredentialKind::Mdr];
        let refusal = match ctx.failure {
            Some(Failure::Csrf(r)) => Refusal::Csrf(r),
            Some(Failure::Throttled(s)) => Refusal::Throttled(s),
            Some(Failure::Unavailable(m)) => Refusal::Unavailable(m),
            Some(Failure::Locked(s)) => Refusal::Unauthenticated {
                mdr,
                presented: true,
                retry_after: Some(s),
            },
            Some(Failure::Token | Failure::Credentials) => Refusal::Unauthenticated {
                mdr,
                presented: true,
                retry_after: None,
            },
            None => Refusal::Unauthenticated {
                mdr,
                presented: false,
                retry_after: None,
            },
        };
        return Err(refused(mode, Some(id), refusal));
    };
    if let Err(deny) = policy::authorize(&route, method, &principal) {
        return Err(refused(mode, Some(id), Refusal::Forbidden(deny.reason())));
    }
    let mut identity = identity_of(&principal, &route);
    if let Some(ttl) = route.assertion_ttl {
        let credential = credential_hash(&parts.headers, &principal);
        match state.gateway.assertions.get(
            state,
            &credential,
            &route,
            &principal,
            method,
            &target.path,
            ttl,
        ) {
            Ok(jwt) => {
                if let Ok(v) = HeaderValue::from_str(&jwt) {
                    identity.push((HeaderName::from_static("x-portcullis-assertion"), v));
                }
            }
            Err(e) => {
                return Err(refused(mode, Some(id), Refusal::Unavailable(e.to_string())));
            }
        }
    }
    let renew = match (&ctx.session, principal.via) {
        (Some(s), AuthVia::Session) => {
            cookies::single(&parts.headers, &state.config.session.cookie_name)
                .map(|v| (s.clone(), v.to_owned()))
        }
        _ => None,
    };
    crate::metrics::gateway_decision(mode.as_str(), &id, "allow", "");
    Ok(Allowed {
        route,
        principal: Some(principal),
        identity,
        renew,
    })
}

fn refused(mode: Mode, route: Option<String>, r: Refusal) -> (Option<String>, Refusal) {
    crate::metrics::gateway_decision(
        mode.as_str(),
        route.as_deref().unwrap_or(""),
        "deny",
        r.reason(),
    );
    (route, r)
}

/// Characters escaped in identity header values that are not plain visible ASCII (an MDR
/// connection's name may hold spaces and non-ASCII letters).
const VALUE_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

fn header_value(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap_or_else(|_| {
        HeaderValue::from_str(&utf8_percent_encode(v, VALUE_ESCAPES).to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    })
}

/// The identity headers of a caller on a route.
pub fn identity_of(p: &Principal, route: &Route) -> Vec<(HeaderName, HeaderValue)> {
    let id = Identity {
        user: p.user.username.clone(),
        user_id: match &p.connection {
            Some(c) => c.connection_id.clone(),
            None => p.user.id.0.to_string(),
        },
        email: p.user.email.clone(),
        scopes: policy::scopes_of(p).to_owned(),
        roles: policy::roles_of(p),
        method: policy::kind_of(p).as_str(),
    };
    identity_headers(&id, route.preset)
        .into_iter()
        .map(|(n, v)| (HeaderName::from_static(n), header_value(&v)))
        .collect()
}

/// SHA-256 of the credential that authenticated the caller: the `Authorization` value, or the
/// session id's hash. Keys the assertion cache; the credential itself is never kept.
fn credential_hash(headers: &HeaderMap, p: &Principal) -> [u8; 32] {
    let mut h = Sha256::new();
    match (&p.session, headers.get(header::AUTHORIZATION)) {
        (Some(s), _) => {
            h.update(b"session:");
            h.update(s.as_bytes());
        }
        (None, Some(a)) => {
            h.update(b"authorization:");
            h.update(a.as_bytes());
        }
        (None, None) => h.update(b"none"),
    }
    h.finalize().into()
}
