//! Portcullis storage: the narrow traits the server depends on, one per capability, the row
//! types they exchange, and [`StoreError`].
//!
//! Policy: every invariant that needs atomicity is one trait method, implemented as one
//! transaction per backend, and an activity-stream entry is written in the same transaction
//! as the change it records. `now` is always a parameter from the caller's clock, never SQL
//! `now()`. "Not found" and "storage failed" are distinct ([`StoreError::NotFound`] vs
//! [`StoreError::Unavailable`]); only the former may ever turn into a 401/403/404. A value the
//! database refuses ([`StoreError::InvalidInput`]) is bad input, never "storage failed".

pub mod activity;
pub mod apps;
pub mod changes;
pub mod error;
pub mod filter;
pub mod mdr;
pub mod mdr_admins;
pub mod resources;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod throttle;
pub mod tokens;
pub mod users;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use activity::{ActivityEntry, ActivityQuery, ActivityStore, NewActivity};
pub use apps::{
    AppStore, ApplicationField, ApplicationPatch, ApplicationQuery, ApplicationRecord,
    AuthCodeRecord, NewApplication, NewAuthCode,
};
pub use changes::{
    Change, ChangeBatch, ChangeCursor, ChangeEntry, ChangeFeed, ChangeStore, FeedEvent,
};
pub use error::{StoreError, StoreResult};
pub use filter::{Condition, Filter, Lookup};
pub use mdr::{
    AccessRecord, ConnectionPatch, ConnectionRecord, CustomerRecord, Exchange, ExchangeAudit,
    ExchangeOutcome, FamilyChange, IssuedPair, KeyState, MdrObject, MdrObjectStore, MdrStore,
    NewConnection, NewFamily, NewRefreshRecord, SigningKeyRecord, SigningKeyStore, TenantRecord,
};
pub use mdr_admins::{CustomerAdministrator, MdrAdminStore};
pub use resources::{
    HostPatch, HostRecord, InventoryPatch, InventoryRecord, NewHost, NewInventory, ResourceQuery,
    ResourceStore,
};
pub use sessions::{NewSession, SessionRecord, SessionRekey, SessionStore};
pub use settings::SettingsStore;
pub use sso::{SsoFlow, SsoSession, SsoStore};
pub use throttle::{ThrottleDecision, ThrottleRule, ThrottleStore, WindowDecision};
pub use tokens::{
    AccessTokenRecord, NewAccessToken, NewRefreshToken, RevokeOutcome, RotateOutcome, Rotation,
    TokenField, TokenKindFilter, TokenQuery, TokenStore,
};
pub use users::{DirectorySync, NewUser, UserField, UserOrder, UserPatch, UserQuery, UserStore};

/// One page of a listing plus the total count of matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Rows matching the filters, before paging.
    pub total: i64,
    /// The rows of this page.
    pub items: Vec<T>,
}

/// Every capability the server needs, composed. Held as `Arc<dyn Store>`.
#[async_trait::async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + SettingsStore
    + ActivityStore
    + TokenStore
    + AppStore
    + ResourceStore
    + ThrottleStore
    + MdrStore
    + MdrAdminStore
    + SigningKeyStore
    + MdrObjectStore
    + ChangeStore
    + SsoStore
    + Send
    + Sync
{
    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// `"sqlite"` or `"postgres"`, for logs.
    fn backend(&self) -> &'static str;
    /// Connections open and idle in the pool, for metrics.
    fn pool_stats(&self) -> PoolStats;
}

/// How busy a store's connection pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Of which idle.
    pub idle: u32,
}
