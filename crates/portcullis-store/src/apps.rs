//! OAuth2 applications and authorization codes (`docs/awx-compat.md`, "Applications",
//! "Authorization endpoint").
//!
//! Policy: the client secret and codes are stored only as SHA-256 hashes; a code is consumed
//! by one conditional update, so it can be exchanged once however many requests race.

use crate::activity::NewActivity;
use crate::{Page, StoreResult};
use portcullis_core::ids::{ApplicationId, UserId};
use portcullis_core::token::TokenHash;
use time::OffsetDateTime;

/// An application to insert.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Name, unique per organization value.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Generated 40-character public identifier.
    pub client_id: String,
    /// SHA-256 of the `pcl_cs_` secret; `None` for public clients.
    pub secret_hash: Option<TokenHash>,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Space-separated redirect URIs.
    pub redirect_uris: String,
    /// `password` or `authorization-code`.
    pub authorization_grant_type: String,
    /// Consent page skipped.
    pub skip_authorization: bool,
    /// Organization id as given (AWX's built-in `Default` is 1), or none.
    pub organization: Option<i64>,
    /// Creation instant (also `modified`).
    pub created_at: OffsetDateTime,
}

/// A stored application (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    /// Id.
    pub id: ApplicationId,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Public identifier.
    pub client_id: String,
    /// SHA-256 of the secret (confidential clients), for client authentication.
    pub secret_hash: Option<TokenHash>,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Space-separated redirect URIs.
    pub redirect_uris: String,
    /// `password` or `authorization-code`.
    pub authorization_grant_type: String,
    /// Consent page skipped.
    pub skip_authorization: bool,
    /// Organization id, if any.
    pub organization: Option<i64>,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub modified_at: OffsetDateTime,
}

/// Changes to an application; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New client type. Changing to `public` clears the secret hash; changing to
    /// `confidential` requires `secret_hash`.
    pub client_type: Option<String>,
    /// New secret hash (only with a change to `confidential`).
    pub secret_hash: Option<TokenHash>,
    /// New redirect URIs.
    pub redirect_uris: Option<String>,
    /// New consent switch.
    pub skip_authorization: Option<bool>,
    /// New organization (`Some(None)` clears it).
    pub organization: Option<Option<i64>>,
}

/// Columns applications can be filtered and ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationField {
    /// `id`.
    Id,
    /// `name`.
    Name,
    /// `description`.
    Description,
    /// `client_id`.
    ClientId,
    /// `client_type`.
    ClientType,
    /// `redirect_uris`.
    RedirectUris,
    /// `authorization_grant_type`.
    AuthorizationGrantType,
    /// `skip_authorization` (`true`/`false`/`True`/`False`/`1`/`0`).
    SkipAuthorization,
    /// `organization` (`null` matches none).
    Organization,
    /// `created`.
    Created,
    /// `modified`.
    Modified,
}

/// A filtered, ordered, paged listing of applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationQuery {
    /// Exact-match filters (text as given; a value that cannot match matches nothing).
    pub filters: Vec<(ApplicationField, String)>,
    /// Order column and whether descending; ties by id ascending. `None`: id ascending.
    pub order: Option<(ApplicationField, bool)>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// An authorization code to insert.
#[derive(Debug, Clone)]
pub struct NewAuthCode {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// Client it was issued to.
    pub application_id: ApplicationId,
    /// Approving user.
    pub user_id: UserId,
    /// The exact `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// Granted scope string.
    pub scope: String,
    /// PKCE challenge, if one was sent.
    pub code_challenge: Option<String>,
    /// `S256` or `plain`, with a challenge.
    pub code_challenge_method: Option<String>,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Deadline (`AUTHORIZATION_CODE_EXPIRE_SECONDS`).
    pub expires_at: OffsetDateTime,
}

/// A consumed authorization code, handed back once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCodeRecord {
    /// Approving user.
    pub user_id: UserId,
    /// The exact `redirect_uri` it is bound to.
    pub redirect_uri: String,
    /// Granted scope.
    pub scope: String,
    /// PKCE challenge, if any.
    pub code_challenge: Option<String>,
    /// PKCE method, if any.
    pub code_challenge_method: Option<String>,
}

/// Storage of applications and authorization codes.
#[async_trait::async_trait]
pub trait AppStore: Send + Sync {
    /// Inserts an application; `activity` (object1_id `None` ⇒ the new id) in the same
    /// transaction. `Conflict("name")` when the name is taken for that organization value
    /// (two applications with no organization conflict too).
    async fn create_application(
        &self,
        new: NewApplication,
        activity: Option<NewActivity>,
    ) -> StoreResult<ApplicationRecord>;
    /// By id.
    async fn application_by_id(&self, id: ApplicationId) -> StoreResult<Option<ApplicationRecord>>;
    /// By public client id (exact match).
    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ApplicationRecord>>;
    /// A page of applications.
    async fn list_applications(
        &self,
        query: &ApplicationQuery,
    ) -> StoreResult<Page<ApplicationRecord>>;
    /// Applies `patch`, stamps `modified_at = now`. `NotFound`, `Conflict("name")`.
    async fn update_application(
        &self,
        id: ApplicationId,
        patch: ApplicationPatch,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<ApplicationRecord>;
    /// Deletes the application with its tokens, refresh tokens and codes. `NotFound`.
    async fn delete_application(
        &self,
        id: ApplicationId,
        activity: Option<NewActivity>,
    ) -> StoreResult<()>;
    /// Stores a new authorization code.
    async fn create_auth_code(&self, new: NewAuthCode) -> StoreResult<()>;
    /// Consumes the code with `hash` issued to `client` if it is unused and `now <
    /// expires_at`, in one conditional update; `None` otherwise (unknown, used, expired or
    /// another client's — the caller cannot tell them apart).
    async fn consume_auth_code(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthCodeRecord>>;
    /// A spent code of `client` presented again (RFC 6749 §4.1.2): revokes the refresh
    /// family it was exchanged for — every refresh and access token of it — in one
    /// transaction. Answers whether the code was a spent one of this client with tokens to
    /// revoke; unknown, unspent and other clients' codes change nothing.
    async fn revoke_code_grant(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
}
