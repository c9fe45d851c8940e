//! Users.

use crate::activity::NewActivity;
use crate::filter::{Filter, ValueKind};
use crate::sessions::SessionRekey;
use crate::{Page, StoreResult};
use portcullis_core::ids::UserId;
use portcullis_core::user::User;
use time::OffsetDateTime;

/// A user to insert.
#[derive(Clone)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Argon2id PHC string (or imported Django hash); `None` for external users.
    pub password_hash: Option<String>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// System auditor flag.
    pub is_system_auditor: bool,
    /// `None` for local users.
    pub external_account: Option<String>,
    /// Directory DN, empty for local users.
    pub ldap_dn: String,
    /// Date joined.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("is_superuser", &self.is_superuser)
            .finish_non_exhaustive()
    }
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// New username.
    pub username: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New superuser flag.
    pub is_superuser: Option<bool>,
    /// New auditor flag.
    pub is_system_auditor: Option<bool>,
    /// Enable or disable. Disabling bumps `auth_generation` in the same transaction.
    pub is_active: Option<bool>,
}

/// What a directory login says about its user (`docs/ldap.md`): applied at every login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySync {
    /// `external_account` (`"ldap"`).
    pub source: String,
    /// The user's DN.
    pub ldap_dn: String,
    /// Mapped given name; `None` leaves it.
    pub first_name: Option<String>,
    /// Mapped family name; `None` leaves it.
    pub last_name: Option<String>,
    /// Mapped e-mail; `None` leaves it.
    pub email: Option<String>,
    /// Superuser flag from the directory's groups.
    pub is_superuser: bool,
    /// Auditor flag from the directory's groups.
    pub is_system_auditor: bool,
}

/// Columns users can be filtered and ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    /// `id`.
    Id,
    /// `username`.
    Username,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `email`.
    Email,
    /// `is_superuser`.
    IsSuperuser,
    /// `is_system_auditor`.
    IsSystemAuditor,
    /// `ldap_dn`.
    LdapDn,
    /// `last_login`.
    LastLogin,
    /// `created` (date joined).
    Created,
}

impl UserField {
    /// Column name in both schemas (a fixed identifier, never user input).
    pub fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Username => "username",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::IsSuperuser => "is_superuser",
            Self::IsSystemAuditor => "is_system_auditor",
            Self::LdapDn => "ldap_dn",
            Self::LastLogin => "last_login",
            Self::Created => "created_at",
        }
    }

    /// How the column's filter values are read.
    pub fn kind(self) -> ValueKind {
        match self {
            Self::Id => ValueKind::Int,
            Self::Username | Self::FirstName | Self::LastName | Self::Email | Self::LdapDn => {
                ValueKind::Text
            }
            Self::IsSuperuser | Self::IsSystemAuditor => ValueKind::Bool,
            Self::LastLogin | Self::Created => ValueKind::Instant,
        }
    }

    /// The columns `search` looks in (AWX searches a user's names and email).
    pub const SEARCH: [Self; 4] = [Self::Username, Self::FirstName, Self::LastName, Self::Email];
}

/// Sort order for a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserOrder {
    /// Column.
    pub field: UserField,
    /// Descending when true.
    pub descending: bool,
}

impl Default for UserOrder {
    fn default() -> Self {
        Self {
            field: UserField::Id,
            descending: false,
        }
    }
}

/// A filtered, ordered, paged listing of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// The filter (see [`Filter`]); `search` looks in [`UserField::SEARCH`].
    pub filter: Filter<UserField>,
    /// Order; ties are broken by id ascending.
    pub order: UserOrder,
    /// Restrict to one user (non-privileged callers see only themselves).
    pub only: Option<UserId>,
    /// Restrict to the members of this organization.
    pub member_of: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl UserQuery {
    /// The first `limit` users whose `field` equals `value`, by id.
    pub fn matching(field: UserField, value: &str, limit: i64) -> Self {
        Self {
            filter: Filter::exact([(field, value)]),
            order: UserOrder::default(),
            only: None,
            member_of: None,
            limit,
            offset: 0,
        }
    }
}

/// Storage of users.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user (`auth_generation` 0, active). `Conflict("username")` if taken.
    /// The caller cannot know the new id, so an `activity` whose `object1_id` is `None` is
    /// stored with the new user's id.
    async fn create_user(&self, new: NewUser, activity: Option<NewActivity>) -> StoreResult<User>;
    /// The user with `id`, if any.
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The user with exactly this username, if any.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// A page of users.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>>;
    /// Applies `patch`; `NotFound` if absent, `Conflict("username")` if the new name is taken.
    async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        activity: Option<NewActivity>,
    ) -> StoreResult<User>;
    /// A real password change, in one transaction: stores `new_hash`, increments
    /// `auth_generation`, deletes every session of the user except the one being re-keyed,
    /// and re-keys that one (new id hash, new generation). Returns the new generation.
    async fn change_password(
        &self,
        id: UserId,
        new_hash: String,
        keep: Option<SessionRekey>,
        activity: Option<NewActivity>,
    ) -> StoreResult<i64>;
    /// Replaces the stored hash only if it still equals `old` (Argon2id upgrade after login).
    /// Does NOT touch `auth_generation`. Returns whether the row changed.
    async fn upgrade_password_hash(&self, id: UserId, old: &str, new: &str) -> StoreResult<bool>;
    /// Stamps `last_login`.
    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StoreResult<()>;
    /// Deletes the user with its sessions. `NotFound` if absent.
    async fn delete_user(&self, id: UserId, activity: Option<NewActivity>) -> StoreResult<()>;
    /// Number of active superusers.
    async fn count_active_superusers(&self) -> StoreResult<i64>;
    /// Applies a directory login to user `id`, only while it has no local password (a local
    /// account is never taken over by a directory entry of the same name). A change of
    /// `external_account` increments `auth_generation` in the same statement. `Ok(None)`
    /// when the row is gone or has a password. `activity` (if any) is written in the same
    /// transaction.
    async fn sync_directory_user(
        &self,
        id: UserId,
        sync: DirectorySync,
        activity: Option<NewActivity>,
    ) -> StoreResult<Option<User>>;
}
