//! MDR-style API connections (`docs/mdr-api.md`, "Objects and identifiers", "Console JSON API",
//! "Token exchange", "Rotation and reuse detection"): customers, tenants, connections, token
//! families, refresh-token records, the exchange audit and the signing keys.
//!
//! Policy: no token string ever reaches this layer, only `jti`s and metadata. Every change of a
//! connection's live family (create, Refresh, Revoke, reuse, Delete) is one transaction, and so is
//! an exchange ([`MdrStore::exchange`]): of any number of concurrent exchanges of one refresh token
//! exactly one creates a successor (`docs/mdr-api.md`, "Rotation and reuse detection").
//!
//! A connection's status is derived, not stored: no live family, or a live family whose
//! bootstrap token was never exchanged, is "Pending activation"; otherwise "Active" or "Idle"
//! by `last_used_at` (the service applies `mdr.idle_after`).

use crate::StoreResult;
use crate::activity::NewActivity;
use time::{Duration, OffsetDateTime};

/// A customer (MDR "client"): owns tenants, connections and resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    /// 32 lowercase hex characters.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Creation instant.
    pub created_at: OffsetDateTime,
}

/// A tenant of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// 20 base62 characters.
    pub tenant_id: String,
    /// Owning customer.
    pub client_id: String,
    /// Unique per customer.
    pub tenant_name: String,
}

/// A refresh-token record to insert (never the token string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshRecord {
    /// 22 base64url characters.
    pub jti: String,
    /// `iat` of the token.
    pub issued_at: OffsetDateTime,
    /// `exp` of the token.
    pub expires_at: OffsetDateTime,
}

/// The access token issued together with a successor refresh token. Kept with the successor so a
/// grace-period retry can re-sign the identical pair (`docs/mdr-api.md`, "Rotation and reuse
/// detection").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// 22 base64url characters.
    pub jti: String,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
}

/// A new token family with its bootstrap refresh token (console "Generate" / "Refresh").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    /// 20 base62 characters.
    pub family_id: String,
    /// The bootstrap token's record (origin `console`).
    pub bootstrap: NewRefreshRecord,
}

/// A connection to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// 20 base62 characters.
    pub connection_id: String,
    /// Owning customer.
    pub client_id: String,
    /// 1–64 printable characters, unique per customer.
    pub name: String,
    /// Wire value of the role (`"MDR Administrator"`, …).
    pub role: String,
    /// Tenant names in scope, possibly `"Root without tenants"`; empty = whole customer.
    pub tenants: Vec<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
}

/// A stored connection with the state the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// Connection id.
    pub connection_id: String,
    /// Owning customer.
    pub client_id: String,
    /// Current name (the `author_name` of what it creates).
    pub name: String,
    /// Role wire value.
    pub role: String,
    /// Tenant scope, in the order given.
    pub tenants: Vec<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// Last use (exchange or resource call), coalesced.
    pub last_used_at: Option<OffsetDateTime>,
    /// The family whose tokens are valid; `None` after Revoke or reuse.
    pub live_family: Option<String>,
    /// True once a token of the live family was exchanged.
    pub activated: bool,
    /// Expiry of the live family's one unspent refresh token, if any.
    pub refresh_expires_at: Option<OffsetDateTime>,
    /// `jti` of that token (the console shows a prefix only).
    pub refresh_jti: Option<String>,
}

/// Fields of a connection an Edit may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionPatch {
    /// New name.
    pub name: Option<String>,
    /// New role wire value.
    pub role: Option<String>,
    /// New tenant scope.
    pub tenants: Option<Vec<String>>,
}

/// Outcome of a conditional family change (Refresh, Revoke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyChange {
    /// Done; the connection as it is now.
    Done(ConnectionRecord),
    /// The connection is not in a state that allows the change; nothing changed.
    WrongState(ConnectionRecord),
}

/// One exchange of a refresh token whose JWT was already verified (signature, purpose, `iss`,
/// `sub`/`aud`, `exp`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `jti` of the presented token.
    pub jti: String,
    /// `sub` = the path's Client ID.
    pub client_id: String,
    /// `cnx` claim.
    pub connection_id: String,
    /// `fam` claim.
    pub family_id: String,
    /// When the request was received (also `spent_at` and `last_used_at` if it wins).
    pub now: OffsetDateTime,
    /// The successor to create if the presented token is unspent.
    pub successor: NewRefreshRecord,
    /// The access token issued with it.
    pub access: AccessRecord,
    /// `mdr.rotation_grace_period`; zero switches replay off.
    pub grace: Duration,
    /// `mdr.race_tolerance`.
    pub race_tolerance: Duration,
    /// Written in the same transaction when the exchange is detected as reuse.
    pub reuse_activity: NewActivity,
}

/// A refresh token and its access token, as issued by an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPair {
    /// The successor refresh token.
    pub refresh: NewRefreshRecord,
    /// The access token issued with it.
    pub access: AccessRecord,
}

/// What an exchange did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// The token was unspent: it is now spent and `Exchange::successor` exists. The connection
    /// is activated and its `last_used_at` set.
    Rotated,
    /// The token was spent within the grace period and its successor is still unspent: the
    /// stored successor pair, to re-sign unchanged. Nothing was written.
    Replayed(IssuedPair),
    /// The token was spent no longer than the race tolerance before `now` (grace off or past):
    /// a concurrent loser. Nothing was written.
    ConcurrentLoser,
    /// The token was spent earlier: the family is revoked, the connection is back to Pending
    /// activation and the activity entry is written, all in one transaction.
    Reused,
    /// No such record, or its family, connection or customer is not live, or the claims do
    /// not match the record (other family/connection/customer). Nothing was written.
    Revoked,
}

/// One audit record per exchange attempt (`docs/mdr-api.md`, "Token exchange"): never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeAudit {
    /// When.
    pub at: OffsetDateTime,
    /// Path Client ID (may name no customer).
    pub client_id: String,
    /// `cnx` claim once the token verified, else `None`.
    pub connection_id: Option<String>,
    /// First 8 characters of the `jti`, once known.
    pub jti_prefix: Option<String>,
    /// `ok`, `replayed` or the failure's short code (`expired`, `revoked`, `reuse`, …).
    pub result: String,
    /// Client address.
    pub source: String,
}

/// Lifecycle state of a signing key (`docs/mdr-api.md`, "Signing keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Published and verifies; does not sign yet.
    Pending,
    /// Signs and verifies; exactly one key is active.
    Active,
    /// Verifies tokens it signed earlier; no longer signs.
    VerifyOnly,
    /// Gone from the JWKS; its tokens fail.
    Retired,
}

impl KeyState {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::VerifyOnly => "verify-only",
            Self::Retired => "retired",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "verify-only" => Self::VerifyOnly,
            "retired" => Self::Retired,
            _ => return None,
        })
    }
}

/// A signing key as stored: the private key only encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// RFC 7638 thumbprint, base64url.
    pub kid: String,
    /// `EdDSA` or `ES256`.
    pub algorithm: String,
    /// Public key: raw 32 bytes (Ed25519) or the 65-byte uncompressed point (P-256).
    pub public_key: Vec<u8>,
    /// PKCS#8 private key sealed with the key-encryption key (nonce ‖ ciphertext ‖ tag).
    pub sealed_private_key: Vec<u8>,
    /// Current state.
    pub state: KeyState,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// When it became active, if it did.
    pub activated_at: Option<OffsetDateTime>,
    /// When it stopped signing, if it did.
    pub deactivated_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sealed private key is left out: encrypted, but still nothing for a log.
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Customers, tenants, connections and the exchange.
#[async_trait::async_trait]
pub trait MdrStore: Send + Sync {
    /// Creates a customer. `Conflict("client_id")` if the id exists.
    async fn create_customer(&self, customer: &CustomerRecord) -> StoreResult<()>;
    /// One customer.
    async fn customer(&self, client_id: &str) -> StoreResult<Option<CustomerRecord>>;
    /// Every customer, oldest first (ties by id).
    async fn list_customers(&self) -> StoreResult<Vec<CustomerRecord>>;

    /// Creates a tenant. `NotFound` if the customer is missing; `Conflict("tenant_name")` if
    /// the name is taken in that customer; `Conflict("tenant_id")` if the id exists.
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()>;
    /// The customer's tenants, by name.
    async fn tenants(&self, client_id: &str) -> StoreResult<Vec<TenantRecord>>;

    /// Creates a connection with its first family and bootstrap record, in one transaction.
    /// `NotFound` if the customer is missing; `Conflict("name")` if the name is taken in the
    /// customer.
    async fn create_connection(
        &self,
        connection: &NewConnection,
        family: &NewFamily,
        activity: Option<NewActivity>,
    ) -> StoreResult<ConnectionRecord>;
    /// One connection.
    async fn connection(&self, connection_id: &str) -> StoreResult<Option<ConnectionRecord>>;
    /// The customer's connections, oldest first (ties by id).
    async fn list_connections(&self, client_id: &str) -> StoreResult<Vec<ConnectionRecord>>;
    /// Applies an Edit. `NotFound`; `Conflict("name")`.
    async fn update_connection(
        &self,
        connection_id: &str,
        patch: &ConnectionPatch,
        activity: Option<NewActivity>,
    ) -> StoreResult<ConnectionRecord>;
    /// "Refresh": only while Pending activation (not activated). Revokes the live family, if
    /// any, and installs `family` as the new live one. `NotFound`.
    async fn refresh_connection(
        &self,
        connection_id: &str,
        family: &NewFamily,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange>;
    /// "Revoke": only while activated. Revokes the live family; the connection has none
    /// afterwards and is not activated. `NotFound`.
    async fn revoke_connection(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange>;
    /// "Delete": revokes the family and removes the connection with its records. `NotFound`.
    async fn delete_connection(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<()>;

    /// The exchange transaction of `docs/mdr-api.md`, "Rotation and reuse detection"; see
    /// [`ExchangeOutcome`].
    async fn exchange(&self, exchange: &Exchange) -> StoreResult<ExchangeOutcome>;
    /// Records uses: sets `last_used_at` to the later of the stored and the given instant.
    async fn touch_connections(&self, uses: &[(String, OffsetDateTime)]) -> StoreResult<()>;
    /// Appends exchange audit records.
    async fn record_exchanges(&self, audits: &[ExchangeAudit]) -> StoreResult<()>;
    /// The newest `limit` audit records of a customer, newest first.
    async fn exchange_audit(&self, client_id: &str, limit: i64) -> StoreResult<Vec<ExchangeAudit>>;
    /// Removes spent or revoked refresh records whose `expires_at` + `keep` is before `now`
    /// (R8: kept for their whole lifetime so reuse stays detectable). Returns the count.
    async fn purge_refresh_records(&self, now: OffsetDateTime, keep: Duration) -> StoreResult<u64>;
}

/// The signing keys shared by every node.
#[async_trait::async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key not retired, oldest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Every key including retired ones, oldest first (for `mdr keys list`).
    async fn all_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Inserts `key` (state `Active`) only if no key is active, atomically: of two nodes
    /// starting at once on an empty database exactly one inserts. Returns whether it did.
    async fn insert_first_key(&self, key: &SigningKeyRecord) -> StoreResult<bool>;
    /// Inserts a `Pending` key. `Conflict("kid")` if it exists.
    async fn insert_pending_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// In one transaction: the pending key `kid` becomes active and the active key becomes
    /// verify-only (stamped `now`). Returns false (nothing changed) if `kid` is not pending,
    /// so of two nodes promoting at once one wins.
    async fn promote_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Retires `kid` at once, from any state. `NotFound` if it does not exist.
    async fn retire_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Retires verify-only keys deactivated at or before `before`. Returns the count.
    async fn retire_verify_only_keys(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// A resource object of the protected MDR API, stored as a JSON document (`docs/mdr-api.md`,
/// "Resource API").
///
/// Policy: the resource API filters, sorts and pages in the service, over one customer's
/// objects of one kind: demonstration-scale data (thousands of objects per customer), where
/// one indexed read beats per-filter SQL in two dialects. Writes are compare-and-set on
/// `updated_ms` so concurrent changes of one incident never lose an update.
#[derive(Debug, Clone, PartialEq)]
pub struct MdrObject {
    /// Owning customer.
    pub client_id: String,
    /// `asset`, `incident`, `response`, `comment`, `attachment` or `history`.
    pub kind: String,
    /// The object's id (unique per customer and kind).
    pub id: String,
    /// For children (responses, comments, attachments, history): the incident id.
    pub parent_id: Option<String>,
    /// The object's tenant (`None` = root), for scope checks.
    pub tenant_id: Option<String>,
    /// Creation, epoch ms (ordering and the incident number sequence).
    pub created_ms: i64,
    /// Last change, epoch ms (the compare-and-set version).
    pub updated_ms: i64,
    /// The object's JSON.
    pub data: serde_json::Value,
}

/// Storage of the protected resource API's objects.
#[async_trait::async_trait]
pub trait MdrObjectStore: Send + Sync {
    /// Inserts `object`. `Conflict("id")` if one with its kind and id exists for the customer.
    async fn insert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()>;
    /// Inserts or replaces `object` unconditionally (demo loading, idempotent by id).
    async fn upsert_object(&self, object: &MdrObject, content: Option<&[u8]>) -> StoreResult<()>;
    /// Replaces the stored object only if its `updated_ms` still equals `expected_updated_ms`.
    /// Returns false (nothing written) otherwise; `NotFound` if it does not exist.
    async fn replace_object(
        &self,
        object: &MdrObject,
        expected_updated_ms: i64,
    ) -> StoreResult<bool>;
    /// Deletes one object. `NotFound` if it does not exist.
    async fn delete_object(&self, client_id: &str, kind: &str, id: &str) -> StoreResult<()>;
    /// One object.
    async fn object(&self, client_id: &str, kind: &str, id: &str)
    -> StoreResult<Option<MdrObject>>;
    /// All of a customer's objects of `kind` (optionally only children of `parent_id`), by
    /// `created_ms` then id.
    async fn objects(
        &self,
        client_id: &str,
        kind: &str,
        parent_id: Option<&str>,
    ) -> StoreResult<Vec<MdrObject>>;
    /// The stored bytes of an attachment object.
    async fn object_content(
        &self,
        client_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// The next incident number of a customer (1, 2, …), allocated atomically.
    async fn next_incident_number(&self, client_id: &str) -> StoreResult<i64>;
}
