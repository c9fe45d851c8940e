//! Back-channel logout from the provider (`docs/sso.md`, "Back-channel logout"): a logout
//! token ends the sessions its `sid` (or, without one, its `sub`) began here.
//!
//! Policy: the token is verified like an id_token (signature with the allow-list, issuer,
//! audience) and then as a logout token (the event, no `nonce`, `iat` at most 300 s old, a
//! `jti` that was never accepted before). A refused token changes nothing.

use super::SsoFailure;
use crate::state::AppState;
use portcullis_core::sso::flow::{LEEWAY, LOGOUT_MAX_AGE};
use portcullis_core::sso::verify::{Expect, Refusal, check_logout_token};
use portcullis_core::token::TokenHash;

/// Ends the sessions a logout token names; returns how many ended.
pub async fn backchannel(state: &AppState, logout_token: &str) -> Result<u64, SsoFailure> {
    let snap = state.settings.get();
    let sso = &snap.sso;
    if !sso.configured() {
        return Err(SsoFailure::NotConfigured);
    }
    let now = state.clock.now();
    let (meta, keys) = state
        .sso
        .provider
        .get(&state.sso.outbound, sso, now)
        .await?;
    let verified = super::login::verify(state, sso, keys, logout_token).await?;
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
