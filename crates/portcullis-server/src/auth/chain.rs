//! The authenticator chain, run as middleware on every API view (`docs/awx-compat.md`,
//! "Authenticator chain"): Bearer, then the session cookie (with CSRF on unsafe methods), then
//! Basic while `AUTH_BASIC_ENABLED`. The first authenticator that yields a user wins; a failing
//! credential ends the chain. The outcome is stored in the request as an [`AuthContext`] and each
//! handler's [`check`](crate::auth::check) decides what it means for that view.
//!
//! After the handler, the same middleware renews a live session (sliding idle expiry,
//! coalesced) and adds the headers that depend on authentication.

use crate::auth::bearer::{self, BearerContext};
use crate::auth::session::{self, LiveSession};
use crate::auth::{cookies, csrf};
use crate::extract::client_ip::{RequestOrigin, request_origin};
use crate::service::error::ServiceError;
use crate::service::{audit, login};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use portcullis_core::basic::{Authorization, Scheme, parse_authorization};
use portcullis_core::gateway::route::CredentialKind;
use portcullis_core::principal::{AuthVia, Principal};
use portcullis_core::scope::Scope;
use std::sync::Arc;

/// Why the chain produced no principal although credentials were presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Basic (or other password) credentials failed.
    Credentials,
    /// A Bearer token was malformed, unknown, expired or revoked.
    Token,
    /// The session won but the CSRF check failed (reason text), or a Basic unsafe request
    /// came from an untrusted Origin.
    Csrf(String),
    /// The account is locked for this source (answered like bad credentials, with
    /// `Retry-After` seconds).
    Locked(u64),
    /// The client network failed too often: 429 with `Retry-After` seconds.
    Throttled(u64),
    /// Storage or the password pool could not answer: fail closed with 503.
    Unavailable(String),
}

/// The chain's verdict for one request.
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// The authenticated caller, if any.
    pub principal: Option<Principal>,
    /// Why credentials that were presented did not authenticate.
    pub failure: Option<Failure>,
    /// The live session named by the cookie, whichever authenticator won.
    pub session: Option<LiveSession>,
    /// Client address and expected origin.
    pub origin: RequestOrigin,
}

/// Marks a response whose handler already set (or deleted) the session cookie, so the
/// renewal step must not overwrite it.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookieHandled;

fn is_unsafe(m: &Method) -> bool {
    !matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Which credential kinds a chain run accepts: the AWX surface takes Bearer tokens (not MDR
/// JWTs), sessions and Basic; a gateway route takes its own list (`docs/gateway.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// Personal and application access tokens.
    pub bearer: bool,
    /// MDR access JWTs (verified for the customer their `sub` names).
    pub mdr: bool,
    /// The session cookie.
    pub session: bool,
    /// HTTP Basic (still only while `AUTH_BASIC_ENABLED`).
    pub basic: bool,
}

impl Accept {
    /// The AWX API, `/api/o/` and the console.
    pub const AWX: Self = Self {
        bearer: true,
        mdr: false,
        session: true,
        basic: true,
    };

    /// The kinds of a gateway route.
    pub fn of(kinds: &[CredentialKind]) -> Self {
        Self {
            bearer: kinds.contains(&CredentialKind::Bearer),
            mdr: kinds.contains(&CredentialKind::Mdr),
            session: kinds.contains(&CredentialKind::Session),
            basic: kinds.contains(&CredentialKind::Basic),
        }
    }
}

/// Runs the chain for a request.
pub async fn run(state: &AppState, parts: &Parts) -> AuthContext {
    run_accepting(state, parts, Accept::AWX).await
}

/// Runs the chain, trying only the credential kinds in `accept`: a credential of another
/// kind counts as absent, except that a Bearer value of a refused kind is a failed token.
pub async fn run_accepting(state: &AppState, parts: &Parts, accept: Accept) -> AuthContext {
    let origin = request_origin(state, parts);
    let mut ctx = AuthContext {
        principal: None,
        failure: None,
        session: None,
        origin,
    };
    if accept.session {
        match session::load(state, &parts.headers).await {
            Ok(s) => ctx.session = s,
            Err(e) => {
                ctx.failure = Some(Failure::Unavailable(e.to_string()));
                return ctx;
            }
        }
    }
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| parse_authorization(v.as_bytes()));
    let unsafe_method = is_unsafe(&parts.method);

    // 1. Bearer: a presented token decides on its own; failure ends the chain.
    let bearer_context = if accept.mdr {
        BearerContext::Gateway
    } else {
        BearerContext::Awx
    };
    match &authorization {
        Some(Authorization::Bearer(token)) if accept.bearer || accept.mdr => {
            use secrecy::ExposeSecret;
            match bearer::authenticate(state, token.expose_secret(), bearer_context).await {
                Ok(Ok(p)) if p.via == AuthVia::MdrAccess && !accept.mdr => {
                    ctx.failure = Some(Failure::Token);
                }
                Ok(Ok(p)) if p.via != AuthVia::MdrAccess && !accept.bearer => {
                    ctx.failure = Some(Failure::Token);
                }
                Ok(Ok(p)) => ctx.principal = Some(p),
                Ok(Err(_)) => ctx.failure = Some(Failure::Token),
                Err(e) => ctx.failure = Some(Failure::Unavailable(e.to_string())),
            }
            return ctx;
        }
        Some(Authorization::Malformed(Scheme::Bearer)) if accept.bearer || accept.mdr => {
            ctx.failure = Some(Failure::Token);
            return ctx;
        }
        _ => {}
    }

    // 2. Session: wins over Basic, and then CSRF applies to unsafe methods.
    if let Some(s) = &ctx.session {
        if unsafe_method
            && let Err(reason) =
                csrf::check(state, &parts.headers, &ctx.origin, Some(&s.hash), None)
        {
            ctx.failure = Some(Failure::Csrf(reason));
            return ctx;
        }
        ctx.principal = Some(Principal {
            user: s.user.clone(),
            via: AuthVia::Session,
            scope: Scope::WRITE,
            session: Some(s.hash),
            connection: None,
        });
        return ctx;
    }

    // 3. Basic, only while enabled: otherwise the header counts as absent.
    if !accept.basic || !state.settings.get().auth.auth_basic_enabled {
        return ctx;
    }
    match authorization {
        Some(Authorization::Basic { username, password }) => {
            match login::check_password(
                state,
                &username,
                &password,
                login::PasswordVia::Basic,
                ctx.origin.client_ip,
            )
            .await
            {
                Ok(Some(user)) => {
                    if unsafe_method
                        && let Err(reason) = csrf::check_origin(state, &parts.headers, &ctx.origin)
                    {
                        ctx.failure = Some(Failure::Csrf(reason));
                        return ctx;
                    }
                    // AWX: "User X performed a METHOD to PATH through the API".
                    audit::Event::new("basic_success", audit::Outcome::Success)
                        .via("basic")
                        .user(&user.username)
                        .user_id(user.id.0)
                        .request(parts.method.as_str(), parts.uri.path())
                        .emit();
                    ctx.principal = Some(Principal {
                        user: std::sync::Arc::new(user),
                        via: AuthVia::Basic,
                        scope: Scope::WRITE,
                        session: None,
                        connection: None,
                    });
                }
                Ok(None) => {
                    ctx.failure = Some(Failure::Credentials);
                }
                Err(ServiceError::Locked { retry_after }) => {
                    ctx.failure = Some(Failure::Locked(retry_after));
                }
                Err(ServiceError::Throttled { retry_after }) => {
                    ctx.failure = Some(Failure::Throttled(retry_after));
                }
                // A username the database cannot even hold names no account.
                Err(ServiceError::ValueRefused(_)) => ctx.failure = Some(Failure::Credentials),
                Err(e) => ctx.failure = Some(Failure::Unavailable(e.to_string())),
            }
        }
        Some(Authorization::Malformed(Scheme::Basic)) => {
            ctx.failure = Some(Failure::Credentials);
        }
        _ => {}
    }
    ctx
}

/// Middleware: runs the chain, then renews the session and sets auth-dependent headers.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = Arc::new(run(&state, &parts).await);
    count(&ctx);
    let quiet = parts
        .headers
        .get("x-ws-session-quiet")
        .is_some_and(|v| !v.is_empty());
    // Only kept when the cookie named a live session; it is re-sent on renewal.
    let cookie_value = ctx
        .session
        .as_ref()
        .and_then(|_| cookies::single(&parts.headers, &state.config.session.cookie_name))
        .map(str::to_owned);
    parts.extensions.insert(ctx.clone());
    let mut resp = next.run(Request::from_parts(parts, body)).await;

    if ctx.principal.is_some()
        && let Ok(v) = HeaderValue::from_str(&state.config.api.product_version)
    {
        resp.headers_mut().insert("x-api-product-version", v);
    }
    let handled = resp.extensions().get::<SessionCookieHandled>().is_some();
    if let (Some(s), Some(value), false, false) = (&ctx.session, cookie_value, quiet, handled) {
        renew(&state, s, &value, &mut resp);
    }
    resp
}

/// Counts the chain's outcome by method and reason (`docs/metrics.md`).
pub(crate) fn count(ctx: &AuthContext) {
    let (method, outcome, reason) = match (&ctx.principal, &ctx.failure) {
        (Some(p), _) => (
            match p.via {
                AuthVia::Session => "session",
                AuthVia::Basic => "basic",
                AuthVia::MdrAccess => "mdr_access",
                _ => "bearer",
            },
            "success",
            "",
        ),
        (None, Some(Failure::Token)) => ("bearer", "failure", "invalid"),
        (None, Some(Failure::Credentials)) => ("basic", "failure", "invalid"),
        (None, Some(Failure::Csrf(_))) => ("session", "failure", "csrf"),
        (None, Some(Failure::Locked(_))) => ("basic", "failure", "locked"),
        (None, Some(Failure::Throttled(_))) => ("basic", "failure", "throttled"),
        (None, Some(Failure::Unavailable(_))) => ("any", "failure", "unavailable"),
        (None, None) => ("none", "anonymous", ""),
    };
    crate::metrics::authentication(method, outcome, reason);
}

/// Re-arms a live session's idle expiry (in memory; persisted later in a batch) and sends
/// the refreshed cookie and `Session-Timeout`.
pub(crate) fn renew(state: &AppState, s: &LiveSession, value: &str, resp: &mut Response) {
    let now = state.clock.now();
    let age = state.settings.get().auth.session_cookie_age;
    state.renewals.renew(
        s.hash,
        s.stored_idle_expires_at,
        now + time::Duration::seconds(age),
    );
    let cookie = cookies::session(
        &state.config.session.cookie_name,
        value,
        age,
        now,
        state.config.secure_cookies(),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&age.to_string()) {
        resp.headers_mut().insert("session-timeout", v);
    }
}
