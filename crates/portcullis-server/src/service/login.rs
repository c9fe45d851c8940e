//! Password authentication shared by form login and HTTP Basic (one policy on every path):
//! the account must exist, be active and be allowed to use a local password; the password is
//! verified off the executor; a legacy or weaker hash is replaced by Argon2id with a
//! conditional update that does not end the user's sessions.

use crate::directory::{self, DirectoryUser};
use crate::service::audit::{self, Outcome};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::throttle;
use crate::state::AppState;
use portcullis_core::password::Verification;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::{PlainToken, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{
    DirectorySync, NewActivity, NewSession, NewUser, StoreError, UserField, UserQuery,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
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
    let checked = check(state, username, password, via, client).await;
    let (event, outcome, reason) = match &checked {
        Ok(Ok(_)) if via == PasswordVia::Basic => return checked.map(Result::ok),
        Ok(Ok(_)) => ("login_success", Outcome::Success, None),
        Ok(Err(why)) => (via.failure_event(), Outcome::Failure, Some(*why)),
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
    if let Ok(Ok(u)) = &checked {
        e = e.user_id(u.id.0);
    }
    if let PasswordVia::PasswordGrant(client_id) = via {
        e = e.client_id(client_id);
    }
    e.emit();
    checked.map(Result::ok)
}

/// A check's answer: the user, or the audit reason of the refusal (`bad_credentials`, or
/// `directory_unavailable` when no directory server could be asked).
type Checked = Result<User, &'static str>;

const BAD_CREDENTIALS: &str = "bad_credentials";

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
) -> ServiceResult<Checked> {
    let user = state.store.user_by_username(username).await?;
    let settings = state.settings.get();
    let disable_local = settings.auth.disable_local_auth;
    let usable = user
        .as_ref()
        .filter(|u| u.is_active && !u.is_external() && !disable_local && u.password_hash.is_some());
    // The directory is asked only for names it may own: unknown names, its own shadow users,
    // and local accounts without a password. A local account with a password never is.
    let directory = !settings.ldap.is_empty()
        && match &user {
            None => true,
            Some(u) => {
                u.is_active
                    && u.password_hash.is_none()
                    && matches!(u.external_account.as_deref(), None | Some(LDAP_SOURCE))
            }
        };
    let now = state.clock.now();
    let use_basic_cache = via == PasswordVia::Basic;
    let cached = usable.or(user
        .as_ref()
        .filter(|u| directory && u.external_account.as_deref() == Some(LDAP_SOURCE)));
    if let Some(user) = cached
        && use_basic_cache
        && state
            .basic_cache
            .hit(user.id, user.auth_generation, password.expose_secret(), now)
    {
        return Ok(Ok(user.clone()));
    }
    // A locked account (or limited source) is refused here, before the attempt waits for a
    // password worker: a flood on a locked account must not queue for the pool. No dummy
    // hash is spent: the lock is keyed by the name whether or not the account exists, so
    // the fast answer tells nothing about existence (`docs/security.md`, "Brute-force limits").
    let attempt = throttle::reserve(state, username, client).await?;
    if usable.is_none() && directory {
        return check_directory(state, user, username, password, via, client, &attempt).await;
    }
    let Some(user) = usable else {
        // Same cost as a real check, so timing does not reveal which case applied.
        state.passwords.verify(None, password.clone()).await?;
        throttle::failed(state, &attempt).await?;
        record(state, "login_failed", None, username, client).await?;
        return Ok(Err(BAD_CREDENTIALS));
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
            Ok(Err(BAD_CREDENTIALS))
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
            succeeded(state, user, username, password, via, client, &attempt).await?;
            Ok(Ok(user.clone()))
        }
    }
}

/// The `external_account` of directory users.
pub const LDAP_SOURCE: &str = "ldap";

/// The end of a successful check on any source: counters cleared, then the Basic cache
/// (Basic is not a login: it authenticates each request) or the login record (form logins
/// and the password grant are).
async fn succeeded(
    state: &AppState,
    user: &User,
    username: &str,
    password: &SecretString,
    via: PasswordVia<'_>,
    client: std::net::IpAddr,
    attempt: &throttle::Attempt,
) -> ServiceResult<()> {
    throttle::succeeded(state, attempt).await?;
    if via == PasswordVia::Basic {
        state.basic_cache.insert(
            user.id,
            user.auth_generation,
            password.expose_secret(),
            state.clock.now(),
        );
    } else {
        record(state, "login", Some(user), username, client).await?;
    }
    Ok(())
}

/// A password checked by the directory (`docs/ldap.md`): on success the local shadow user is
/// created or brought up to date (DN, mapped attributes, flags from groups) before the
/// answer. A refusal counts like a wrong password; an unreachable directory is a failed
/// login for the client (the normal 401), a warning in the log and an activity entry, and
/// is not counted against the account.
async fn check_directory(
    state: &AppState,
    existing: Option<User>,
    username: &str,
    password: &SecretString,
    via: PasswordVia<'_>,
    client: std::net::IpAddr,
    attempt: &throttle::Attempt,
) -> ServiceResult<Checked> {
    let servers = &state.settings.get().ldap;
    match state
        .directory
        .authenticate(servers, username, password)
        .await
    {
        directory::Outcome::Authenticated(found) => {
            let Some(user) = shadow_user(state, existing, username, &found).await? else {
                throttle::failed(state, attempt).await?;
                record(state, "login_failed", None, username, client).await?;
                return Ok(Err(BAD_CREDENTIALS));
            };
            succeeded(state, &user, username, password, via, client, attempt).await?;
            Ok(Ok(user))
        }
        directory::Outcome::Refused(why) => {
            tracing::info!(event = "ldap_refused", user = %username, reason = why.as_str(), "directory refused the login");
            // A local user's failure costs a hash; a directory failure costs the same, so the
            // time of a refusal does not tell a local name from a directory or unknown one.
            state.passwords.verify(None, password.clone()).await?;
            throttle::failed(state, attempt).await?;
            record(state, "login_failed", existing.as_ref(), username, client).await?;
            Ok(Err(BAD_CREDENTIALS))
        }
        directory::Outcome::Unavailable(errors) => {
            let detail = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            tracing::error!(event = "ldap_unavailable", user = %username, error = %detail, "no directory server could be asked; login refused");
            throttle::abandoned(state, attempt).await?;
            record_unavailable(state, existing.as_ref(), username, client, &detail).await?;
            Ok(Err("directory_unavailable"))
        }
    }
}

/// Creates or updates the shadow user of a directory login. `None` when the name now belongs
/// to a local account with a password (created or given one since the lookup) or the user
/// was disabled.
async fn shadow_user(
    state: &AppState,
    existing: Option<User>,
    username: &str,
    found: &DirectoryUser,
) -> ServiceResult<Option<User>> {
    let sync = DirectorySync {
        source: LDAP_SOURCE.into(),
        ldap_dn: found.dn.clone(),
        first_name: found.first_name.clone(),
        last_name: found.last_name.clone(),
        email: found.email.clone(),
        is_superuser: found.flags.is_superuser,
        is_system_auditor: found.flags.is_system_auditor,
    };
    let now = state.clock.now();
    let activity_on = state.settings.get().auth.activity_stream_enabled;
    // The directory matches names without case (`Alice` finds alice's entry): a DN that
    // already has a shadow user logs in as that user rather than creating a second one.
    let existing = match existing {
        Some(u) => Some(u),
        None => user_with_dn(state, &found.dn).await?,
    };
    let existing = match existing {
        Some(u) => Some(u),
        None => {
            let new = NewUser {
                username: username.to_owned(),
                email: sync.email.clone().unwrap_or_default(),
                first_name: sync.first_name.clone().unwrap_or_default(),
                last_name: sync.last_name.clone().unwrap_or_default(),
                password_hash: None,
                is_superuser: sync.is_superuser,
                is_system_auditor: sync.is_system_auditor,
                external_account: Some(LDAP_SOURCE.into()),
                ldap_dn: sync.ldap_dn.clone(),
                created_at: now,
            };
            let activity = activity_on.then(|| NewActivity {
                timestamp: now,
                actor: None,
                operation: "create".into(),
                object1: "user".into(),
                object1_id: None,
                changes: json!({
                    "username": username,
                    "external_account": LDAP_SOURCE,
                    "ldap_dn": sync.ldap_dn,
                    "is_superuser": sync.is_superuser,
                    "is_system_auditor": sync.is_system_auditor,
                }),
            });
            match state.store.create_user(new, activity).await {
                Ok(u) => return Ok(Some(u)).filter_active(),
                // A concurrent first login of the same user made it: update that one.
                Err(StoreError::Conflict(_)) => state.store.user_by_username(username).await?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let Some(user) = existing else {
        return Ok(None);
    };
    // Nothing changed since the last login (the usual case): no write.
    let unchanged = user.external_account.as_deref() == Some(LDAP_SOURCE)
        && user.ldap_dn == sync.ldap_dn
        && sync
            .first_name
            .as_ref()
            .is_none_or(|v| *v == user.first_name)
        && sync.last_name.as_ref().is_none_or(|v| *v == user.last_name)
        && sync.email.as_ref().is_none_or(|v| *v == user.email)
        && user.is_superuser == sync.is_superuser
        && user.is_system_auditor == sync.is_system_auditor
        && user.password_hash.is_none();
    if unchanged {
        return Ok(Some(user)).filter_active();
    }
    // Flag changes are recorded: a directory group can make someone a superuser.
    let flags_changed =
        user.is_superuser != sync.is_superuser || user.is_system_auditor != sync.is_system_auditor;
    let activity = (activity_on && flags_changed).then(|| NewActivity {
        timestamp: now,
        actor: None,
        operation: "update".into(),
        object1: "user".into(),
        object1_id: Some(user.id.0),
        changes: json!({
            "is_superuser": [user.is_superuser, sync.is_superuser],
            "is_system_auditor": [user.is_system_auditor, sync.is_system_auditor],
            "source": LDAP_SOURCE,
        }),
    });
    let synced = state
        .store
        .sync_directory_user(user.id, sync, activity)
        .await?;
    // Flags the directory took away apply to this node's cached credentials at once.
    state.changes.catch_up(state).await;
    Ok(synced).filter_active()
}

/// The directory user whose DN is `dn`, if one exists.
async fn user_with_dn(state: &AppState, dn: &str) -> ServiceResult<Option<User>> {
    let query = UserQuery::matching(UserField::LdapDn, dn, 2);
    let page = state.store.list_users(&query).await?;
    Ok(page
        .items
        .into_iter()
        .find(|u| u.external_account.as_deref() == Some(LDAP_SOURCE)))
}

/// Keeps only active users: a disabled shadow user stays disabled whatever the directory says.
trait FilterActive {
    fn filter_active(self) -> Self;
}

impl FilterActive for ServiceResult<Option<User>> {
    fn filter_active(self) -> Self {
        self.map(|u| u.filter(|u| u.is_active))
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

/// An activity entry for a login refused because no directory server answered: an operator
/// reading the stream sees why directory users cannot log in. The detail names servers and
/// failed steps, never a password.
async fn record_unavailable(
    state: &AppState,
    user: Option<&User>,
    username: &str,
    client: std::net::IpAddr,
    detail: &str,
) -> ServiceResult<()> {
    if !state.settings.get().auth.activity_stream_enabled {
        return Ok(());
    }
    let entry = portcullis_store::NewActivity {
        timestamp: state.clock.now(),
        actor: None,
        operation: "login_failed".into(),
        object1: "user".into(),
        object1_id: user.map(|u| u.id.0),
        changes: serde_json::json!({
            "username": user.map(|_| username),
            "client": client.to_string(),
            "reason": "directory unavailable",
            "detail": detail,
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
        state.changes.catch_up(state).await;
    }
    if let Some(p) = planted {
        state.renewals.forget(&p);
    }
    state.store.record_login(user.id, now).await?;
    let csrf_token = state.csrf.mint(state.rng.as_ref(), Some(&token.hash()));
    Ok((token, csrf_token))
}
