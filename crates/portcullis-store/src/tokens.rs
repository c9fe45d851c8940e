//! OAuth2 access tokens (personal and application) and application refresh tokens, keyed by the
//! SHA-256 of their values (`docs/awx-compat.md`, "Tokens", "OAuth2 endpoints"; `docs/security.md`,
//! "OAuth tokens", "Refresh rotation").
//!
//! Policy: clear values never reach this layer. The bearer lookup is one read statement that
//! filters on not revoked, not expired, active user and the system-wide revocation mark; it
//! never writes (`last_used` is stamped in batches by [`TokenStore::stamp_last_used`]).
//! Refresh rotation is one transaction ([`TokenStore::rotate_refresh`]): of any number of
//! concurrent rotations of one refresh token exactly one succeeds.

use crate::activity::NewActivity;
use crate::{Page, StoreResult};
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use time::OffsetDateTime;

/// A refresh token to insert with an application access token.
#[derive(Debug, Clone, Copy)]
pub struct NewRefreshToken {
    /// SHA-256 of the `pcl_ort_` value.
    pub hash: TokenHash,
    /// Deadline (`REFRESH_TOKEN_EXPIRE_SECONDS` from creation, capped by the family's cap).
    pub expires_at: OffsetDateTime,
}

/// An access token to insert.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    /// SHA-256 of the `pcl_pat_` / `pcl_oat_` value.
    pub hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// `None` for a personal access token.
    pub application_id: Option<ApplicationId>,
    /// Validated scope string as it will be shown (`read`, `write`, `read write`).
    pub scope: String,
    /// Free text.
    pub description: String,
    /// Creation instant (also `modified`).
    pub created_at: OffsetDateTime,
    /// `now >= expires_at` ⇒ invalid.
    pub expires_at: OffsetDateTime,
    /// Application tokens carry a refresh token; PATs never do. A new token with a refresh
    /// token starts a new refresh family (rotation continues the family instead).
    pub refresh: Option<NewRefreshToken>,
    /// The authorization code this token was exchanged for: the new family is recorded on
    /// the code, in the same transaction, so a replay of the code can revoke it
    /// ([`crate::AppStore::revoke_code_grant`]).
    pub from_code: Option<TokenHash>,
}

/// A stored access token as the API shows it (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// Token id.
    pub id: TokenId,
    /// Owner.
    pub user_id: UserId,
    /// Owner's username, for `summary_fields.user`.
    pub username: String,
    /// Owner's given name.
    pub first_name: String,
    /// Owner's family name.
    pub last_name: String,
    /// `None` for a PAT.
    pub application_id: Option<ApplicationId>,
    /// The application's name, for `summary_fields.application`.
    pub application_name: Option<String>,
    /// Free text.
    pub description: String,
    /// Scope string.
    pub scope: String,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Last change of description or scope.
    pub modified_at: OffsetDateTime,
    /// Deadline.
    pub expires_at: OffsetDateTime,
    /// True when a refresh token was issued with this token and is not yet revoked
    /// (shown as the masked value; `false` shows `null`).
    pub has_refresh: bool,
    /// Last recorded use (coalesced; may lag by the stamping interval).
    pub last_used: Option<OffsetDateTime>,
}

/// Which token kinds a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKindFilter {
    /// Personal and application tokens.
    #[default]
    All,
    /// Personal access tokens only.
    Personal,
    /// Application tokens only.
    Application,
}

/// Columns tokens can be filtered and ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    /// `id`.
    Id,
    /// `description`.
    Description,
    /// `user` (owner id).
    User,
    /// `application` (id; `null` matches PATs).
    Application,
    /// `expires`.
    Expires,
    /// `scope`.
    Scope,
    /// `created`.
    Created,
    /// `modified`.
    Modified,
}

/// A filtered, ordered, paged listing of live (not revoked) tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
    /// Only tokens of this user.
    pub user: Option<UserId>,
    /// Only tokens of this application.
    pub application: Option<ApplicationId>,
    /// Personal, application or both.
    pub kind: TokenKindFilter,
    /// Exact-match filters as query-string text (a value that cannot match the column's type
    /// matches nothing; `application=null` matches PATs).
    pub filters: Vec<(TokenField, String)>,
    /// Order column and whether descending; ties broken by id ascending. `None`: id ascending.
    pub order: Option<(TokenField, bool)>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Outcome of [`TokenStore::rotate_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented refresh token was consumed, its access token deleted, and the successor
    /// pair inserted in the same family.
    Rotated(Box<AccessTokenRecord>),
    /// No such refresh token, or its family/user is revoked or inactive.
    Unknown,
    /// Presented with another client's credentials: nothing changed.
    WrongClient,
    /// Older than its deadline (nothing changed, nothing revoked).
    Expired,
    /// Already consumed at most `race_tolerance` before `now`: a concurrent rotation won.
    /// (Expiry is checked first: an expired token, consumed or not, is `Expired` and revokes
    /// nothing — `docs/security.md`, "Refresh rotation", retention.)
    /// Nothing changed; the client should load its newest token.
    RaceLost,
    /// Already consumed earlier: reuse. The whole family (refresh and access tokens) was
    /// revoked in this transaction.
    Reused {
        /// The family's owner, for the audit record.
        user_id: UserId,
    },
}

/// Outcome of [`TokenStore::revoke_token_by_hash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked (access token deleted, or refresh token revoked with its family's access
    /// tokens).
    Revoked {
        /// The token's owner, for the audit record.
        user_id: UserId,
    },
    /// No such live application token: RFC 7009 answers 200 anyway.
    Unknown,
    /// The token belongs to another client (or is a PAT): nothing changed.
    WrongClient,
}

/// What a refresh token being rotated must match, and what replaces it.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// SHA-256 of the presented refresh token.
    pub presented: TokenHash,
    /// The authenticated client; a refresh token of another client is `WrongClient`.
    pub client: ApplicationId,
    /// The successor access token (its `refresh` must be set; `user_id` and
    /// `application_id` are ignored and taken from the presented token's family; `scope` is
    /// used as given, the caller having checked it narrows the old one). When `scope` is
    /// empty the old token's scope is kept.
    pub successor: NewAccessToken,
    /// The instant of the rotation.
    pub now: OffsetDateTime,
    /// A consumed token presented within this long after its consumption is a lost race,
    /// not reuse.
    pub race_tolerance: time::Duration,
    /// Absolute cap of a refresh family (`docs/security.md`, "Lifetime"): the successor refresh
    /// token expires no later than the family's creation plus this. Zero means no cap.
    pub family_max_lifetime: time::Duration,
}

/// Storage of OAuth2 tokens.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// Inserts a token (and its refresh token and new family), and `activity` in the same
    /// transaction; an `activity` whose `object1_id` is `None` is stored with the new token's
    /// id. `NotFound` if the user or application does not exist.
    async fn create_token(
        &self,
        new: NewAccessToken,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord>;
    /// The hot path: the live token with `hash` and its active user, in one read: not
    /// revoked, `now < expires_at`, user active, token id above the system-wide revocation
    /// mark. No write.
    async fn token_for_bearer(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(AccessTokenRecord, User)>>;
    /// A live token by id (expired tokens are still shown until purged; revoked ones not).
    async fn token_by_id(&self, id: TokenId) -> StoreResult<Option<AccessTokenRecord>>;
    /// A page of live tokens.
    async fn list_tokens(&self, query: &TokenQuery) -> StoreResult<Page<AccessTokenRecord>>;
    /// Changes description and/or scope, stamps `modified_at = now`. `NotFound` if absent.
    async fn update_token(
        &self,
        id: TokenId,
        description: Option<String>,
        scope: Option<String>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord>;
    /// Deletes a token and revokes the refresh token issued with it. `NotFound` if absent.
    async fn delete_token(&self, id: TokenId, activity: Option<NewActivity>) -> StoreResult<()>;
    /// Batched `last_used` stamps: for each pair, `last_used = max(last_used, at)`. Missing
    /// tokens are skipped.
    async fn stamp_last_used(&self, uses: &[(TokenId, OffsetDateTime)]) -> StoreResult<()>;
    /// Refresh rotation in one transaction (see [`RotateOutcome`]). The successor and
    /// `activity` (create entry, `object1_id` filled with the new id) are written only on
    /// `Rotated`.
    async fn rotate_refresh(
        &self,
        rotation: Rotation,
        activity: Option<NewActivity>,
    ) -> StoreResult<RotateOutcome>;
    /// The unconsumed, unrevoked refresh token with `hash` (whatever its expiry): its client,
    /// owner and scope. Read before a rotation to check scope narrowing and the owner's
    /// external-user rule; `rotate_refresh` re-checks everything itself.
    async fn refresh_token_owner(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(ApplicationId, UserId, String)>>;
    /// RFC 7009 revocation of an application access or refresh token presented by `client`.
    /// On `Revoked`, `activity` is written in the same transaction; when its `object1_id` is
    /// `None` it is stored with the revoked access token's id (a refresh token: as given).
    async fn revoke_token_by_hash(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<RevokeOutcome>;
    /// Revokes every access token of `user` (and, with `include_refresh`, their refresh
    /// tokens and families). Returns the number of access tokens revoked. `activity` is
    /// written in the same transaction, with that number as `changes.revoked`
    /// ([`NewActivity::with_revoked`]).
    async fn revoke_user_tokens(
        &self,
        user: UserId,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<u64>;
    /// System-wide revocation as one mark: every access token that exists now (and, with
    /// `include_refresh`, every refresh token) is invalid from now on; tokens created later are
    /// not affected. Returns the number of live access tokens the mark covers. `activity` is
    /// written in the same transaction, with that number as `changes.revoked`.
    async fn revoke_all_tokens(
        &self,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<u64>;
    /// Revokes the access tokens of every user whose `external_account` is set (console action that
    /// goes with switching `ALLOW_OAUTH2_FOR_EXTERNAL_USERS` off, `docs/security.md`, "Revocation
    /// bounds"). Returns how many.
    async fn revoke_external_users_tokens(&self, now: OffsetDateTime) -> StoreResult<u64>;
    /// How many live access tokens [`TokenStore::revoke_external_users_tokens`] would revoke
    /// now (the console's confirmation step names the count before the revocation).
    async fn count_external_users_tokens(&self) -> StoreResult<i64>;
    /// Removes access tokens past their deadline or revoked, refresh tokens past their
    /// deadline or revoked, and used or expired authorization codes. Returns rows removed.
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> StoreResult<u64>;
}
