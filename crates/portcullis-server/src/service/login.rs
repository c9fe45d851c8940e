//! Password authentication shared by form login and HTTP Basic (one policy on every path):
//! the account must exist, be active and be allowed to use a local password; the password is
//! verified off the executor; a legacy or weaker hash is replaced by Argon2id with a
//! conditional update that does not end the user's sessions.

use crate::service::audit::{self, Outcome};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::throttle;
use crate::state::AppState;
use portcullis_core::password::Verification;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::{PlainToken, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::NewSession;
use secrecy::{ExposeSecret, SecretString};
use time::Duration;

/// The surface a password arrives on: it names the audit events and decides whether the
/// verified-credential cache applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordVia<'a> {
    /// `POST /api/login/`.
    Form,
    /// The console's login form (`POST /console/login/`).
    Console,
    /// `Authorization: Basic` on an API request (uses the verified-credential cache).
    Basic,
    /// `grant_type=password` at `/api/o/token/`, by the application with this `client_id`.
    PasswordGrant(&'a str),
}

impl PasswordVia<'_> {
    fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Console => "console",
            Self::Basic => "basic",
            Self::PasswordGrant(_) => "password_grant",
        }
    }

    fn failure_event(self) -> &'static str {
        match self {
            Self::Basic => "basic_failure",
            Self::Form | Self::Console | Self::PasswordGrant(_) => "login_failure",
        }
    }
}

/// Checks `username`/`password` from `client`. `Ok(None)` for any failed check (unknown user,
/// inactive, external, local auth disabled, wrong password) — the caller cannot and must not tell
/// them apart. `Err(Locked)` / `Err(Throttled)` when the brute-force counters refuse the attempt
/// (`docs/security.md`, "Brute-force limits"); `Err(Unavailable)` when storage or the password pool
/// cannot answer.
///
/// Every outcome is one audit event (service/audit.rs), except a Basic success, which the
/// authenticator chain reports with the request's method and path.
///
/// A Basic credential found in the verified-credential cache skips the counters: it was
/// verified moments ago, and a guess can never hit the cache (its key is a MAC of the
/// password), so the hot Basic path stays free of writes.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    via: PasswordVia<'_>,
    client: std::net::IpAddr,
) -> ServiceResult<Option<User>> {
    let result = check(state, username, password, via, client).await;
    let (event, outcome, reason) = match &result {
        Ok(Some(_)) if via == PasswordVia::Basic => return result,
        Ok(Some(_)) => ("login_success", Outcome::Success, None),
        Ok(None) => (
            via.failure_event(),
            Outcome::Failure,
            Some("bad_credentials"),
        ),
        Err(ServiceError::Locked { .. }) => ("account_locked", Outcome::Locked, Some("locked")),
        Err(ServiceError::Throttled { .. }) => ("source_rate_limited", Outcome::Throttled, None),
        // Overload and storage failures are refusals like any other, with the user named.
        Err(e) => (
            via.failure_event(),
            Outcome::Unavailable,
            Some(unavailable_reason(e)),
        ),
    };
    let mut e = audit::Event::new(event, outcome)
        .via(via.as_str())
        .user(username)
        .source(client);
    if let Some(r) = reason {
        e = e.reason(r);
    }
    if let Ok(Some(u)) = &result {
        e = e.user_id(u.id.0);
    }
    if let PasswordVia::PasswordGrant(client_id) = via {
        e = e.client_id(client_id);
    }
    e.emit();
    result
}

fn unavailable_reason(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Unavailable(why) if why.contains("password pool") => {
            "password_pool_saturated"
        }
        ServiceError::Unavailable(_) => "storage_unavailable",
        _ => "error",
    }
}

async fn check(
    state: &AppState,
    username: &str,
    password: &SecretString,
    via: PasswordVia<'_>,
    client: std::net::IpAddr,
) -> ServiceResult<Option<User>> {
    let user = state.store.user_by_username(username).await?;
    let disable_local = state.settings.get().auth.disable_local_auth;
    let usable = user
        .as_ref()
        .filter(|u| u.is_active && !u.is_external() && !disable_local && u.password_hash.is_some());
    let now = state.clock.now();
    let use_basic_cache = via == PasswordVia::Basic;
    if let Some(user) = usable
        && use_basic_cache
        && state
            .basic_cache
            .hit(user.id, user.auth_generation, password.expose_secret(), now)
    {
        return Ok(Some(user.clone()));
    }
    // A locked account (or limited source) is refused here, before the attempt waits for a
    // password worker: a flood on a locked account must not queue for the pool. No dummy
    // hash is spent: the lock is keyed by the name whether or not the account exists, so
    // the fast answer tells nothing about existence (`docs/security.md`, "Brute-force limits").
    let attempt = throttle::reserve(state, username, client).await?;
    let Some(user) = usable else {
        // Same cost as a real check, so timing does not reveal which case applied.
        state.passwords.verify(None, password.clone()).await?;
        throttle::failed(state, &attempt).await?;
        record(state, "login_failed", None, username, client).await?;
        return Ok(None);
    };
    let stored = user.password_hash.clone();
    match state
        .passwords
        .verify(stored.clone(), password.clone())
        .await?
    {
        Verification::Mismatch => {
            throttle::failed(state, &attempt).await?;
            record(state, "login_failed", Some(user), username, client).await?;
            Ok(None)
        }
        Verification::Match { needs_rehash } => {
            if needs_rehash && let Some(old) = stored {
                let new = state.passwords.hash(password.clone()).await?;
                // Conditional: a concurrent password change wins over the upgrade.
                state
                    .store
                    .upgrade_password_hash(user.id, &old, &new)
                    .await?;
            }
            throttle::succeeded(state, &attempt).await?;
            // Basic is not a login (it authenticates each request); form logins and the
            // password grant are.
            if use_basic_cache {
                state.basic_cache.insert(
                    user.id,
                    user.auth_generation,
                    password.expose_secret(),
                    now,
                );
            } else {
                record(state, "login", Some(user), username, client).await?;
            }
            Ok(Some(user.clone()))
        }
    }
}

/// Records a login or failed login in the activity stream (issue 4 asks for both; AWX only
/// logs them). Durable before the answer: if it cannot be written the request fails closed.
/// The username is stored as typed only for existing users; an unknown name is not echoed
/// (it may be a password typed into the wrong field).
async fn record(
    state: &AppState,
    operation: &str,
    user: Option<&User>,
    username: &str,
    client: std::net::IpAddr,
) -> ServiceResult<()> {
    if !state.settings.get().auth.activity_stream_enabled {
        return Ok(());
    }
    let entry = portcullis_store::NewActivity {
        timestamp: state.clock.now(),
        actor: user.filter(|_| operation == "login").map(|u| u.id),
        operation: operation.into(),
        object1: "user".into(),
        object1_id: user.map(|u| u.id.0),
        changes: serde_json::json!({
            "username": user.map(|_| username),
            "client": client.to_string(),
        }),
    };
    Ok(state.store.record_activity(entry).await?)
}

/// Creates the session of a successful login: new id, the `planted` one (the id the request
/// carried, if any) deleted so a session cannot be fixed, the per-user cap applied,
/// `last_login` stamped. Returns the id and a CSRF token bound to it.
pub async fn start_session(
    state: &AppState,
    planted: Option<TokenHash>,
    user: &User,
) -> ServiceResult<(PlainToken, String)> {
    let settings = state.settings.get();
    let now = state.clock.now();
    let token = PlainToken::generate(TokenKind::Session, state.rng.as_ref());
    let new = NewSession {
        hash: token.hash(),
        user_id: user.id,
        times: SessionTimes::new(
            now,
            Duration::seconds(settings.auth.session_cookie_age),
            Duration::seconds(state.config.session.absolute_timeout),
        ),
        auth_generation: user.auth_generation,
    };
    let evicted = state
        .store
        .create_session(new, planted, settings.auth.session_cap())
        .await?;
    if evicted > 0 {
        tracing::info!(event = "session_ended", reason = "limit", user_id = %user.id, count = evicted);
    }
    if let Some(p) = planted {
        state.renewals.forget(&p);
    }
    state.store.record_login(user.id, now).await?;
    let csrf_token = state.csrf.mint(state.rng.as_ref(), Some(&token.hash()));
    Ok((token, csrf_token))
}
