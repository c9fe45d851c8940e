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

impl NewActivity {
    /// The entry with `changes.revoked` set to `count` (when `changes` is an object): a bulk
    /// revocation records how many tokens it covered, a number only known inside its
    /// transaction.
    pub fn with_revoked(mut self, count: u64) -> Self {
        if let serde_json::Value::Object(changes) = &mut self.changes {
            changes.insert("revoked".into(), count.into());
        }
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    /// Entry id.
    pub id: i64,
    /// The entry as written.
    pub entry: NewActivity,
}

/// A column entries can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityField {
    /// Entry id.
    Id,
    /// When the change happened.
    Timestamp,
    /// `create`, `update`, `delete`.
    Operation,
    /// Object type.
    Object1,
    /// Acting user id; entries without an actor sort last ascending, first descending.
    Actor,
}

/// An explicit order; ties are broken by id ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityOrder {
    /// Order column.
    pub field: ActivityField,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// Filters for listing entries. Every filter given must match (they combine with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Only this object type.
    pub object1: Option<String>,
    /// Only this object id.
    pub object1_id: Option<i64>,
    /// Only entries by this actor.
    pub actor: Option<UserId>,
    /// Only the entry with this id.
    pub id: Option<i64>,
    /// Only this operation (`create`, `update`, `delete`).
    pub operation: Option<String>,
    /// Only entries written at exactly this instant (millisecond precision, as stored).
    pub timestamp: Option<OffsetDateTime>,
    /// Only entries written at or after this instant (inclusive).
    pub since: Option<OffsetDateTime>,
    /// Only entries written before this instant (exclusive, so consecutive ranges never
    /// list an entry twice).
    pub until: Option<OffsetDateTime>,
    /// Only entries that involve this user: those it is the actor of, and those whose object
    /// is that user (`object1` `user` with its id).
    pub involving: Option<UserId>,
    /// Order of the rows; `None` is newest first by id.
    pub order: Option<ActivityOrder>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Reading the activity stream (writes happen inside the other stores' transactions).
#[async_trait::async_trait]
pub trait ActivityStore: Send + Sync {
    /// Entries matching `query`, in its order (newest first by id unless it names one).
    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<ActivityEntry>>;
    /// Writes one entry on its own, durably, for events that change no other row (logins,
    /// failed logins, bulk revocations recorded after their one-statement change).
    async fn record_activity(&self, entry: NewActivity) -> StoreResult<()>;
}
