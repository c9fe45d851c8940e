//! Row structs decoded with `sqlx::FromRow` and their conversion into the store records.
//!
//! sqlx's derive implements `FromRow<'r, R>` for every `R: sqlx::Row` whose database can
//! decode each field, so one struct serves both engines: [`DbTime`] reads either stored form
//! of an instant, and `sqlx::types::Json` reads SQLite's JSON text and PostgreSQL's `jsonb`.
//! A stored value that decodes but breaks an invariant (a hash that is not 32 bytes) is a
//! decode error, which the backends report as `Unavailable`: the data is there but unusable,
//! which must not read as "absent".

use crate::DbTime;
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::session::SessionTimes;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{
    AccessTokenRecord, ActivityEntry, ApplicationRecord, HostRecord, InventoryRecord, KeyState,
    MdrObject, NewActivity, SessionRecord, SigningKeyRecord,
};
use sqlx::types::Json;

/// A stored 32-byte hash; anything else is a corrupt row.
pub fn hash_from_bytes(bytes: Vec<u8>, what: &str) -> Result<TokenHash, sqlx::Error> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| sqlx::Error::Decode(format!("corrupt {what} (not 32 bytes)").into()))?;
    Ok(TokenHash::from_bytes(bytes))
}

/// A user row ([`crate::user_columns!`] or [`crate::joined_user_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    password_hash: Option<String>,
    is_superuser: bool,
    is_system_auditor: bool,
    is_active: bool,
    external_account: Option<String>,
    ldap_dn: String,
    auth_generation: i64,
    created_at: DbTime,
    last_login: Option<DbTime>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            password_hash: r.password_hash,
            is_superuser: r.is_superuser,
            is_system_auditor: r.is_system_auditor,
            is_active: r.is_active,
            external_account: r.external_account,
            ldap_dn: r.ldap_dn,
            auth_generation: r.auth_generation,
            created_at: r.created_at.0,
            last_login: r.last_login.map(|t| t.0),
        }
    }
}

impl UserRow {
    /// Decodes a [`User`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<User, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(User::from)
    }
}

/// An access-token row ([`crate::token_columns!`] plus [`crate::owner_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    t_id: i64,
    t_user_id: i64,
    username: String,
    first_name: String,
    last_name: String,
    t_application_id: Option<i64>,
    a_name: Option<String>,
    t_description: String,
    t_scope: String,
    t_created_at: DbTime,
    t_modified_at: DbTime,
    t_expires_at: DbTime,
    t_has_refresh: bool,
    t_last_used: Option<DbTime>,
}

impl From<TokenRow> for AccessTokenRecord {
    fn from(r: TokenRow) -> Self {
        AccessTokenRecord {
            id: TokenId(r.t_id),
            user_id: UserId(r.t_user_id),
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            application_id: r.t_application_id.map(ApplicationId),
            application_name: r.a_name,
            description: r.t_description,
            scope: r.t_scope,
            created_at: r.t_created_at.0,
            modified_at: r.t_modified_at.0,
            expires_at: r.t_expires_at.0,
            has_refresh: r.t_has_refresh,
            last_used: r.t_last_used.map(|t| t.0),
        }
    }
}

impl TokenRow {
    /// Decodes an [`AccessTokenRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<AccessTokenRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(AccessTokenRecord::from)
    }
}

/// An application row ([`crate::app_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct AppRow {
    id: i64,
    name: String,
    description: String,
    client_id: String,
    secret_hash: Option<Vec<u8>>,
    client_type: String,
    redirect_uris: String,
    authorization_grant_type: String,
    skip_authorization: bool,
    organization: Option<i64>,
    created_at: DbTime,
    modified_at: DbTime,
}

impl TryFrom<AppRow> for ApplicationRecord {
    type Error = sqlx::Error;

    fn try_from(r: AppRow) -> Result<Self, sqlx::Error> {
        Ok(ApplicationRecord {
            id: ApplicationId(r.id),
            name: r.name,
            description: r.description,
            client_id: r.client_id,
            secret_hash: r
                .secret_hash
                .map(|h| hash_from_bytes(h, "application secret hash"))
                .transpose()?,
            client_type: r.client_type,
            redirect_uris: r.redirect_uris,
            authorization_grant_type: r.authorization_grant_type,
            skip_authorization: r.skip_authorization,
            organization: r.organization,
            created_at: r.created_at.0,
            modified_at: r.modified_at.0,
        })
    }
}

impl AppRow {
    /// Decodes an [`ApplicationRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<ApplicationRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).and_then(ApplicationRecord::try_from)
    }
}

/// The session half of a joined row (columns prefixed `s_`).
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    s_hash: Vec<u8>,
    s_user_id: i64,
    s_created_at: DbTime,
    s_idle_expires_at: DbTime,
    s_absolute_expires_at: DbTime,
    s_auth_generation: i64,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = sqlx::Error;

    fn try_from(r: SessionRow) -> Result<Self, sqlx::Error> {
        Ok(SessionRecord {
            hash: hash_from_bytes(r.s_hash, "session hash")?,
            user_id: UserId(r.s_user_id),
            times: SessionTimes {
                created_at: r.s_created_at.0,
                idle_expires_at: r.s_idle_expires_at.0,
                absolute_expires_at: r.s_absolute_expires_at.0,
            },
            auth_generation: r.s_auth_generation,
        })
    }
}

impl SessionRow {
    /// Decodes a [`SessionRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<SessionRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).and_then(SessionRecord::try_from)
    }
}

/// An inventory row ([`crate::inventory_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct InventoryRow {
    id: i64,
    name: String,
    description: String,
    organization: Option<i64>,
    kind: String,
    variables: String,
    total_hosts: i64,
    created_at: DbTime,
    modified_at: DbTime,
}

impl From<InventoryRow> for InventoryRecord {
    fn from(r: InventoryRow) -> Self {
        InventoryRecord {
            id: r.id,
            name: r.name,
            description: r.description,
            organization: r.organization,
            kind: r.kind,
            variables: r.variables,
            total_hosts: r.total_hosts,
            created_at: r.created_at.0,
            modified_at: r.modified_at.0,
        }
    }
}

impl InventoryRow {
    /// Decodes an [`InventoryRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<InventoryRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(InventoryRecord::from)
    }
}

/// A host row ([`crate::host_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct HostRow {
    id: i64,
    name: String,
    description: String,
    inventory_id: i64,
    enabled: bool,
    instance_id: String,
    variables: String,
    created_at: DbTime,
    modified_at: DbTime,
}

impl From<HostRow> for HostRecord {
    fn from(r: HostRow) -> Self {
        HostRecord {
            id: r.id,
            name: r.name,
            description: r.description,
            inventory: r.inventory_id,
            enabled: r.enabled,
            instance_id: r.instance_id,
            variables: r.variables,
            created_at: r.created_at.0,
            modified_at: r.modified_at.0,
        }
    }
}

impl HostRow {
    /// Decodes a [`HostRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<HostRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(HostRecord::from)
    }
}

/// An MDR object row ([`crate::object_columns!`]); `data` is JSON text on SQLite, `jsonb` on
/// PostgreSQL.
#[derive(Debug, sqlx::FromRow)]
pub struct ObjectRow {
    client_id: String,
    kind: String,
    id: String,
    parent_id: Option<String>,
    tenant_id: Option<String>,
    created_ms: i64,
    updated_ms: i64,
    data: Json<serde_json::Value>,
}

impl From<ObjectRow> for MdrObject {
    fn from(r: ObjectRow) -> Self {
        MdrObject {
            client_id: r.client_id,
            kind: r.kind,
            id: r.id,
            parent_id: r.parent_id,
            tenant_id: r.tenant_id,
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
            data: r.data.0,
        }
    }
}

impl ObjectRow {
    /// Decodes an [`MdrObject`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<MdrObject, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(MdrObject::from)
    }
}

/// An activity-stream row ([`crate::activity_columns!`]); `changes` is JSON text on SQLite,
/// `jsonb` on PostgreSQL.
#[derive(Debug, sqlx::FromRow)]
pub struct ActivityRow {
    id: i64,
    timestamp: DbTime,
    actor_id: Option<i64>,
    operation: String,
    object1: String,
    object1_id: Option<i64>,
    changes: Json<serde_json::Value>,
}

impl From<ActivityRow> for ActivityEntry {
    fn from(r: ActivityRow) -> Self {
        ActivityEntry {
            id: r.id,
            entry: NewActivity {
                timestamp: r.timestamp.0,
                actor: r.actor_id.map(UserId),
                operation: r.operation,
                object1: r.object1,
                object1_id: r.object1_id,
                changes: r.changes.0,
            },
        }
    }
}

impl ActivityRow {
    /// Decodes an [`ActivityEntry`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<ActivityEntry, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(ActivityEntry::from)
    }
}

/// A stored setting override: `key` and its JSON `value` (text on SQLite, `jsonb` on
/// PostgreSQL). A value that does not parse is a decode error, never the default.
#[derive(Debug, sqlx::FromRow)]
pub struct SettingRow {
    key: String,
    value: Json<serde_json::Value>,
}

impl SettingRow {
    /// Decodes one `(key, value)` override from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<(String, serde_json::Value), sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).map(|r| (r.key, r.value.0))
    }
}

/// An MDR signing-key row ([`crate::key_columns!`]).
#[derive(Debug, sqlx::FromRow)]
pub struct SigningKeyRow {
    kid: String,
    algorithm: String,
    public_key: Vec<u8>,
    sealed_private_key: Vec<u8>,
    state: String,
    created_at: DbTime,
    activated_at: Option<DbTime>,
    deactivated_at: Option<DbTime>,
}

impl TryFrom<SigningKeyRow> for SigningKeyRecord {
    type Error = sqlx::Error;

    fn try_from(r: SigningKeyRow) -> Result<Self, sqlx::Error> {
        Ok(SigningKeyRecord {
            state: KeyState::parse(&r.state).ok_or_else(|| {
                sqlx::Error::Decode(format!("corrupt signing key state {:?}", r.state).into())
            })?,
            kid: r.kid,
            algorithm: r.algorithm,
            public_key: r.public_key,
            sealed_private_key: r.sealed_private_key,
            created_at: r.created_at.0,
            activated_at: r.activated_at.map(|t| t.0),
            deactivated_at: r.deactivated_at.map(|t| t.0),
        })
    }
}

impl SigningKeyRow {
    /// Decodes a [`SigningKeyRecord`] from any engine's row.
    pub fn decode<R: sqlx::Row>(row: &R) -> Result<SigningKeyRecord, sqlx::Error>
    where
        Self: for<'r> sqlx::FromRow<'r, R>,
    {
        <Self as sqlx::FromRow<'_, R>>::from_row(row).and_then(SigningKeyRecord::try_from)
    }
}
