//! Portcullis storage: the narrow traits the server depends on, one per capability, the row
//! types they exchange, and [`StoreError`].
//!
//! Policy: every invariant that needs atomicity is one trait method, implemented as one
//! transaction per backend, and an activity-stream entry is written in the same transaction
//! as the change it records. `now` is always a parameter from the caller's clock, never SQL
//! `now()`. "Not found" and "storage failed" are distinct ([`StoreError::NotFound`] vs
//! [`StoreError::Unavailable`]); only the former may ever turn into a 401/403/404.

pub mod activity;
pub mod error;
pub mod sessions;
pub mod settings;
pub mod users;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use activity::{ActivityEntry, ActivityQuery, ActivityStore, NewActivity};
pub use error::{StoreError, StoreResult};
pub use sessions::{NewSession, SessionRecord, SessionRekey, SessionStore};
pub use settings::SettingsStore;
pub use users::{FilterValue, NewUser, UserField, UserOrder, UserPatch, UserQuery, UserStore};

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
pub trait Store: UserStore + SessionStore + SettingsStore + ActivityStore + Send + Sync {
    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// `"sqlite"` or `"postgres"`, for logs.
    fn backend(&self) -> &'static str;
}
