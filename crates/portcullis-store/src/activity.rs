//! The activity stream (AWX `/api/v2/activity_stream/`).

use crate::{Page, StoreResult};
use portcullis_core::ids::UserId;
use time::OffsetDateTime;

/// An entry to write alongside the change it records. Never holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// When.
    pub timestamp: OffsetDateTime,
    /// Who (None for the system or the CLI).
    pub actor: Option<UserId>,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// Object type: `user`, `setting`, `o_auth2_access_token`, …
    pub object1: String,
    /// Id of the object, when it has one.
    pub object1_id: Option<i64>,
    /// Field → value (create/delete) or field → `[old, new]` (update).
    pub changes: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    /// Entry id.
    pub id: i64,
    /// The entry as written.
    pub entry: NewActivity,
}

/// Filters for listing entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Only this object type.
    pub object1: Option<String>,
    /// Only this object id.
    pub object1_id: Option<i64>,
    /// Only entries by this actor.
    pub actor: Option<UserId>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Reading the activity stream (writes happen inside the other stores' transactions).
#[async_trait::async_trait]
pub trait ActivityStore: Send + Sync {
    /// Entries matching `query`, newest first by id.
    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<ActivityEntry>>;
}
