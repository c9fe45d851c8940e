//! The Bearer authenticator's extension point. Token kinds (personal and application
//! tokens, MDR access JWTs) plug in as [`BearerVerifier`]s; a Bearer header that no verifier
//! accepts is a failed credential (token 401), never "absent" — AWX would fall through to
//! the session here, Portcullis deliberately does not (`awx-api.md` §2.3).

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
