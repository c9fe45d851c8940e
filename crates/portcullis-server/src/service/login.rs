//! Password authentication shared by form login and HTTP Basic (one policy on every path):
//! the account must exist, be active and be allowed to use a local password; the password is
//! verified off the executor; a legacy or weaker hash is replaced by Argon2id with a
//! conditional update that does not end the user's sessions.

use crate::error::{ApiError, ApiResult};
use crate::service::throttle;
use crate::state::AppState;
use portcullis_core::password::Verification;
use portcullis_core::user::User;
use secrecy::{ExposeSecret, SecretString};

/// Checks `username`/`password` from `client`. `Ok(None)` for any failed check (unknown
/// user, inactive, external, local auth disabled, wrong password) — the caller cannot and
/// must not tell them apart. `Err(Locked)` / `Err(Throttled)` when the brute-force counters
/// refuse the attempt (security.md §6); `Err(Unavailable)` when storage or the password pool
/// cannot answer.
///
/// A Basic credential found in the verified-credential cache skips the counters: it was
/// verified moments ago, and a guess can never hit the cache (its key is a MAC of the
/// password), so the hot Basic path stays free of writes.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    use_basic_cache: bool,
    client: std::net::IpAddr,
) -> ApiResult<Option<User>> {
    let user = state.store.user_by_username(username).await?;
    let disable_local = state.settings.get().auth.disable_local_auth;
    let usable = user
        .as_ref()
        .filter(|u| u.is_active && !u.is_external() && !disable_local && u.password_hash.is_some());
    let now = state.clock.now();
    if let Some(user) = usable
        && use_basic_cache
        && state
            .basic_cache
            .hit(user.id, user.auth_generation, password.expose_secret(), now)
    {
        return Ok(Some(user.clone()));
    }
    let attempt = match throttle::reserve(state, username, client).await {
        Ok(a) => a,
        Err(ApiError::Locked(secs)) => {
            // Locked looks like a wrong password, timing included.
            state.passwords.verify(None, password.clone()).await?;
            return Err(ApiError::Locked(secs));
        }
        Err(e) => return Err(e),
    };
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
            if !use_basic_cache {
                record(state, "login", Some(user), username, client).await?;
            }
            if use_basic_cache {
                state.basic_cache.insert(
                    user.id,
                    user.auth_generation,
                    password.expose_secret(),
                    now,
                );
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
) -> ApiResult<()> {
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
