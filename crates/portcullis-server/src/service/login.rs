//! Password authentication shared by form login and HTTP Basic (one policy on every path):
//! the account must exist, be active and be allowed to use a local password; the password is
//! verified off the executor; a legacy or weaker hash is replaced by Argon2id with a
//! conditional update that does not end the user's sessions.

use crate::error::ApiResult;
use crate::state::AppState;
use portcullis_core::password::Verification;
use portcullis_core::user::User;
use secrecy::{ExposeSecret, SecretString};

/// Checks `username`/`password`. `Ok(None)` for any failed check (unknown user, inactive,
/// external, local auth disabled, wrong password) — the caller cannot and must not tell
/// them apart. `Err` only when storage or the password pool is unavailable.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    use_basic_cache: bool,
) -> ApiResult<Option<User>> {
    let user = state.store.user_by_username(username).await?;
    let disable_local = state.settings.get().auth.disable_local_auth;
    let usable = user
        .as_ref()
        .filter(|u| u.is_active && !u.is_external() && !disable_local && u.password_hash.is_some());
    let Some(user) = usable else {
        // Same cost as a real check, so timing does not reveal which case applied.
        state.passwords.verify(None, password.clone()).await?;
        return Ok(None);
    };
    let now = state.clock.now();
    if use_basic_cache
        && state
            .basic_cache
            .hit(user.id, user.auth_generation, password.expose_secret(), now)
    {
        return Ok(Some(user.clone()));
    }
    let stored = user.password_hash.clone();
    match state
        .passwords
        .verify(stored.clone(), password.clone())
        .await?
    {
        Verification::Mismatch => Ok(None),
        Verification::Match { needs_rehash } => {
            if needs_rehash && let Some(old) = stored {
                let new = state.passwords.hash(password.clone()).await?;
                // Conditional: a concurrent password change wins over the upgrade.
                state
                    .store
                    .upgrade_password_hash(user.id, &old, &new)
                    .await?;
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
