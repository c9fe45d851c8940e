//! Back-channel logout from the provider (`docs/sso.md`, "Back-channel logout"): a logout
//! token ends the sessions its `sid` (or, without one, its `sub`) began here.
//!
//! Policy: the token is verified like an id_token (signature with the allow-list, issuer,
//! audience) and then as a logout token (the event, no `nonce`, `iat` at most 300 s old, a
//! `jti` that was never accepted before). A refused token changes nothing.

use super::SsoFailure;
use crate::state::AppState;
use portcullis_core::sso::flow::{LEEWAY, LOGOUT_MAX_AGE};
use portcullis_core::sso::verify::{Expect, Refusal, check_logout_token, verify_signature};
use portcullis_core::token::TokenHash;

/// Ends the sessions a logout token names; returns how many ended.
pub async fn backchannel(state: &AppState, logout_token: &str) -> Result<u64, SsoFailure> {
    let snap = state.settings.get();
    let sso = &snap.sso;
    if !sso.configured() {
        return Err(SsoFailure::NotConfigured);
    }
    let (meta, keys) = state.sso.provider.get(&state.sso.outbound, sso).await?;
    let verified = match verify_signature(logout_token, &keys) {
        Err(Refusal::UnknownKey) => {
            let fresh = state
                .sso
                .provider
                .refetch_keys(&state.sso.outbound, sso, &keys)
                .await?
                .ok_or(SsoFailure::Token(Refusal::UnknownKey))?;
            verify_signature(logout_token, &fresh)
        }
        other => other,
    }
    .map_err(SsoFailure::Token)?;
    let now = state.clock.now();
    let expect = Expect {
        issuer: &meta.issuer,
        client_id: &sso.client_id,
        trusted_audiences: &sso.trusted_audiences,
        now,
    };
    let claims = check_logout_token(&verified, &expect).map_err(SsoFailure::Token)?;
    let key = TokenHash::of(&format!("{}\u{0}{}", meta.issuer, claims.jti));
    let first_use = state
        .store
        .use_sso_once(&key, now, now + LOGOUT_MAX_AGE + LEEWAY + LEEWAY)
        .await?;
    if !first_use {
        return Err(SsoFailure::Token(Refusal::TokenId));
    }
    let ended = state
        .store
        .end_sso_sessions(
            &meta.issuer,
            claims.subject.as_deref(),
            claims.sid.as_deref(),
        )
        .await?;
    if ended > 0 {
        state.changes.catch_up(state).await;
    }
    tracing::info!(event = "sso_backchannel_logout", ended);
    Ok(ended)
}
