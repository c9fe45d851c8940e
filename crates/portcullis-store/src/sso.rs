//! Single sign-on through an OpenID Connect provider (`docs/sso.md`): the logins under way,
//! the provider identities linked to users, the sessions each login began (for back-channel
//! logout) and the single-use markers of logout tokens.

use crate::StoreResult;
use portcullis_core::ids::UserId;
use portcullis_core::token::TokenHash;
use time::OffsetDateTime;

/// A login begun at `/sso/login/oidc/`, kept until its callback or its expiry. `state` and
/// the browser's flow cookie are stored only as SHA-256 hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoFlow {
    /// SHA-256 of the `state` sent to the provider (the key: a callback finds its flow by it).
    pub state_hash: TokenHash,
    /// SHA-256 of the flow cookie of the browser that began the login.
    pub browser_hash: TokenHash,
    /// The `nonce` sent in the authorization request, compared with the id_token's.
    pub nonce: String,
    /// The PKCE `code_verifier` whose S256 challenge was sent.
    pub verifier: String,
    /// The `redirect_uri` sent, repeated in the token request.
    pub redirect_uri: String,
    /// Where the browser goes after the login (a checked same-origin path).
    pub next: String,
    /// After this instant the flow is dead.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SsoFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoFlow")
            .field("redirect_uri", &self.redirect_uri)
            .field("next", &self.next)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A session begun by a single sign-on login, remembered so the provider's back-channel
/// logout can end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    /// SHA-256 of the session id (the `sessions` row).
    pub session: TokenHash,
    /// The provider's issuer.
    pub issuer: String,
    /// The user's `sub` at that provider.
    pub subject: String,
    /// The provider's session id (`sid` claim), when the id_token carried one.
    pub sid: Option<String>,
}

/// Storage of single sign-on state.
#[async_trait::async_trait]
pub trait SsoStore: Send + Sync {
    /// Stores a begun login.
    async fn create_sso_flow(&self, flow: SsoFlow) -> StoreResult<()>;
    /// Removes and returns the flow with `state_hash`, live at `now`. Single use: of two
    /// concurrent calls at most one gets it; an expired flow is removed and not returned.
    async fn take_sso_flow(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SsoFlow>>;
    /// The user linked to (`issuer`, `subject`), if any.
    async fn sso_identity_user(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserId>>;
    /// Links (`issuer`, `subject`) to `user`. `Conflict("identity")` when that identity is
    /// linked already.
    async fn link_sso_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Remembers which provider login began a session. The record goes with the session.
    async fn record_sso_session(&self, session: SsoSession) -> StoreResult<()>;
    /// Deletes the sessions begun through `issuer` for provider session `sid` (when given)
    /// and subject `subject` (when given); at least one must be given, or nothing is ended.
    /// Returns how many sessions ended.
    async fn end_sso_sessions(
        &self,
        issuer: &str,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> StoreResult<u64>;
    /// Records `key` as used until `expires_at`. `false` when it was recorded already and is
    /// still live at `now` (a replay).
    async fn use_sso_once(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Deletes flows and single-use markers that ended at or before `now`; returns how many.
    async fn purge_sso(&self, now: OffsetDateTime) -> StoreResult<u64>;
}
