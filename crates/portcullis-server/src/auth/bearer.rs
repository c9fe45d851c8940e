//! The Bearer authenticator of the AWX views: the [`BearerVerifier`]s in
//! [`AppState::bearer`](crate::state::AppState) run in order, and today there is one,
//! [`OpaqueTokens`] (personal and application access tokens). MDR access JWTs are not Bearer
//! credentials here: the MDR surface checks them itself (`service/mdr_session.rs`). A Bearer
//! header that no verifier accepts is a failed credential (token 401), never "absent" — AWX
//! would fall through to the session here, Portcullis deliberately does not
//! (`docs/awx-compat.md`, "Authenticator chain").

use crate::service::credential_cache::TokenGrant;
use crate::service::error::{Refusal, ServiceResult};
use crate::service::mdr_session;
use crate::state::AppState;
use portcullis_core::principal::Principal;

/// Which surface a Bearer token is presented to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerContext<'a> {
    /// The AWX API, `/api/o/` and the console API.
    Awx,
    /// The MDR resource API of the customer `client_id` (from the path).
    Mdr {
        /// The path's Client ID.
        client_id: &'a str,
    },
    /// A gateway route (`docs/gateway.md`): personal and application tokens, and MDR access
    /// JWTs verified for the customer their own `sub` names (the verification then checks
    /// `sub` and `aud` against that customer as the MDR surface does).
    Gateway,
}

/// What a verifier says about a presented Bearer value.
#[derive(Debug)]
pub enum BearerOutcome {
    /// Not a token of this verifier's kind, or not for this surface: ask the next one.
    NotMine,
    /// A valid token.
    Valid(Box<Principal>),
    /// This verifier's kind, but refused, and why.
    Refused(Refusal),
}

/// One kind of Bearer token.
#[async_trait::async_trait]
pub trait BearerVerifier: Send + Sync {
    /// Checks `token` (a non-empty string without spaces) presented to `context`.
    async fn verify(
        &self,
        state: &AppState,
        token: &str,
        context: BearerContext<'_>,
    ) -> ServiceResult<BearerOutcome>;
}

/// Runs the verifiers in order: the principal, or why the token is refused (a token no
/// verifier claims is [`Refusal::Invalid`]). `Err` only when a verifier could not decide
/// (storage unavailable): fail closed.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    context: BearerContext<'_>,
) -> ServiceResult<Result<Principal, Refusal>> {
    for v in &state.bearer {
        match v.verify(state, token, context).await? {
            BearerOutcome::NotMine => continue,
            BearerOutcome::Valid(p) => return Ok(Ok(*p)),
            BearerOutcome::Refused(why) => return Ok(Err(why)),
        }
    }
    Ok(Err(Refusal::Invalid))
}

/// MDR access JWTs (docs/mdr-api.md, "Access tokens"): only on the MDR resource API, for
/// the path's customer; the checks and their order are [`mdr_session::verify_access`]'s.
#[derive(Debug, Default)]
pub struct MdrAccessTokens;

#[async_trait::async_trait]
impl BearerVerifier for MdrAccessTokens {
    async fn verify(
        &self,
        state: &AppState,
        token: &str,
        context: BearerContext<'_>,
    ) -> ServiceResult<BearerOutcome> {
        let client_id = match context {
            BearerContext::Mdr { client_id } => client_id.to_owned(),
            BearerContext::Gateway => match portcullis_core::jwt::unverified_subject(token) {
                Some(sub) => sub,
                None => return Ok(BearerOutcome::NotMine),
            },
            BearerContext::Awx => return Ok(BearerOutcome::NotMine),
        };
        let client_id = client_id.as_str();
        Ok(
            match mdr_session::verify_access(state, client_id, token).await? {
                Ok(p) => {
                    crate::metrics::authentication("mdr_access", "success", "");
                    BearerOutcome::Valid(Box::new(p))
                }
                Err(why) => {
                    crate::metrics::authentication("mdr_access", "failure", why.label());
                    BearerOutcome::Refused(why)
                }
            },
        )
    }
}

/// Personal and application access tokens (`pcl_pat_…`, `pcl_oat_…`): format and checksum
/// first (no lookup for foreign strings), then one indexed read by SHA-256 that also checks
/// revocation, expiry and the user's state. A use is noted for the coalesced `last_used`.
#[derive(Debug, Default)]
pub struct OpaqueTokens;

#[async_trait::async_trait]
impl BearerVerifier for OpaqueTokens {
    async fn verify(
        &self,
        state: &AppState,
        token: &str,
        context: BearerContext<'_>,
    ) -> ServiceResult<BearerOutcome> {
        use portcullis_core::principal::AuthVia;
        use portcullis_core::token::{self, TokenKind};
        if !matches!(context, BearerContext::Awx | BearerContext::Gateway) {
            return Ok(BearerOutcome::NotMine);
        }
        let kind = match TokenKind::of(token) {
            Some(k @ (TokenKind::PersonalAccess | TokenKind::AppAccess)) => k,
            // Refresh tokens, session ids and client secrets are never Bearer credentials.
            Some(_) => return Ok(BearerOutcome::Refused(Refusal::Invalid)),
            None => return Ok(BearerOutcome::NotMine),
        };
        let Ok(hash) = token::parse(kind, token) else {
            return Ok(BearerOutcome::Refused(Refusal::Invalid));
        };
        let now = state.clock.now();
        let Some(grant) = live_token(state, &hash, now).await? else {
            crate::service::audit::Event::new(
                "bearer_invalid",
                crate::service::audit::Outcome::Failure,
            )
            .via("bearer")
            .token(&hash.log_ref())
            .emit();
            return Ok(BearerOutcome::Refused(Refusal::Invalid));
        };
        // A stored scope that no longer parses is refused rather than guessed at.
        let Some(scope) = grant.scope else {
            return Ok(BearerOutcome::Refused(Refusal::Invalid));
        };
        let interval = time::Duration::seconds(
            i64::try_from(state.config.oauth2.last_used_interval).unwrap_or(60),
        );
        state
            .last_used
            .note(grant.id, grant.last_used, now, interval);
        Ok(BearerOutcome::Valid(Box::new(Principal {
            user: grant.user,
            via: if kind == TokenKind::PersonalAccess {
                AuthVia::Pat
            } else {
                AuthVia::AppToken
            },
            scope,
            session: None,
            connection: None,
        })))
    }
}

/// The live token with `hash` and its owner: from this node's cache while the change log
/// reader is fresh (`docs/cluster.md`), else one indexed read whose acceptance is cached.
async fn live_token(
    state: &AppState,
    hash: &portcullis_core::token::TokenHash,
    now: time::OffsetDateTime,
) -> ServiceResult<Option<TokenGrant>> {
    let cache = &state.caches.tokens;
    let cached = |fresh: bool| {
        if !fresh {
            return None;
        }
        let grant = cache.get(hash)?;
        // Revocation and user changes drop the entry; expiry is checked here.
        if grant.expires_at > now && grant.user.is_active {
            return Some(grant);
        }
        cache.forget(hash);
        None
    };
    let fresh = state.changes.fresh();
    if let Some(hit) = cached(fresh) {
        return Ok(Some(hit));
    }
    // One read per credential at a time while the cache may be used; the others then find
    // what it read (a stale node reads on every request and must not queue them).
    let _flight = if fresh && cache.enabled() {
        let flight = cache.flight(hash).await;
        if let Some(hit) = cached(state.changes.fresh()) {
            return Ok(Some(hit));
        }
        Some(flight)
    } else {
        None
    };
    let ticket = cache.ticket();
    let started = std::time::Instant::now();
    let found = state.store.token_for_bearer(hash, now).await?;
    crate::metrics::query("token_for_bearer", started.elapsed());
    Ok(found.map(|(record, user)| {
        let grant = TokenGrant::new(&record, state.caches.share(user));
        cache.insert(ticket, *hash, grant.user.id, grant.clone());
        grant
    }))
}
