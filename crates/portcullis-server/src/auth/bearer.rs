//! The Bearer authenticator of the AWX views: the [`BearerVerifier`]s in
//! [`AppState::bearer`](crate::state::AppState) run in order, and today there is one,
//! [`OpaqueTokens`] (personal and application access tokens). MDR access JWTs are not Bearer
//! credentials here: the MDR surface checks them itself (`service/mdr_session.rs`). A Bearer
//! header that no verifier accepts is a failed credential (token 401), never "absent" — AWX
//! would fall through to the session here, Portcullis deliberately does not
//! (`docs/awx-compat.md`, "Authenticator chain").

use crate::error::ApiResult;
use crate::state::AppState;
use portcullis_core::principal::Principal;

/// What a verifier says about a presented Bearer value.
#[derive(Debug)]
pub enum BearerOutcome {
    /// Not a token of this verifier's kind: ask the next one.
    NotMine,
    /// A valid token.
    Valid(Box<Principal>),
    /// This verifier's kind, but unknown, expired or revoked.
    Invalid,
}

/// One kind of Bearer token.
#[async_trait::async_trait]
pub trait BearerVerifier: Send + Sync {
    /// Checks `token` (already known to be one well-formed b64token of ≤ 4 096 bytes).
    async fn verify(&self, state: &AppState, token: &str) -> ApiResult<BearerOutcome>;
}

/// Runs the verifiers in order. `Ok(None)` means the token is invalid.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Option<Principal>> {
    for v in &state.bearer {
        match v.verify(state, token).await? {
            BearerOutcome::NotMine => continue,
            BearerOutcome::Valid(p) => return Ok(Some(*p)),
            BearerOutcome::Invalid => return Ok(None),
        }
    }
    Ok(None)
}

/// Personal and application access tokens (`pcl_pat_…`, `pcl_oat_…`): format and checksum
/// first (no lookup for foreign strings), then one indexed read by SHA-256 that also checks
/// revocation, expiry and the user's state. A use is noted for the coalesced `last_used`.
#[derive(Debug, Default)]
pub struct OpaqueTokens;

#[async_trait::async_trait]
impl BearerVerifier for OpaqueTokens {
    async fn verify(&self, state: &AppState, token: &str) -> ApiResult<BearerOutcome> {
        use portcullis_core::principal::AuthVia;
        use portcullis_core::scope::Scope;
        use portcullis_core::token::{self, TokenKind};
        let kind = match TokenKind::of(token) {
            Some(k @ (TokenKind::PersonalAccess | TokenKind::AppAccess)) => k,
            // Refresh tokens, session ids and client secrets are never Bearer credentials.
            Some(_) => return Ok(BearerOutcome::Invalid),
            None => return Ok(BearerOutcome::NotMine),
        };
        let Ok(hash) = token::parse(kind, token) else {
            return Ok(BearerOutcome::Invalid);
        };
        let now = state.clock.now();
        let Some((record, user)) = state.store.token_for_bearer(&hash, now).await? else {
            crate::service::audit::Event::new(
                "bearer_invalid",
                crate::service::audit::Outcome::Failure,
            )
            .via("bearer")
            .token(&hash.log_ref())
            .emit();
            return Ok(BearerOutcome::Invalid);
        };
        // A stored scope that no longer parses is refused rather than guessed at.
        let Some(scope) = Scope::parse(&record.scope) else {
            return Ok(BearerOutcome::Invalid);
        };
        let interval = time::Duration::seconds(
            i64::try_from(state.config.oauth2.last_used_interval).unwrap_or(60),
        );
        state
            .last_used
            .note(record.id, record.last_used, now, interval);
        Ok(BearerOutcome::Valid(Box::new(Principal {
            user,
            via: if kind == TokenKind::PersonalAccess {
                AuthVia::Pat
            } else {
                AuthVia::AppToken
            },
            scope,
            session: None,
        })))
    }
}
