//! Server-side sessions, keyed by the SHA-256 of the session id.

use crate::StoreResult;
use portcullis_core::ids::UserId;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use time::OffsetDateTime;

/// A session to insert.
#[derive(Debug, Clone, Copy)]
pub struct NewSession {
    /// SHA-256 of the session id.
    pub hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Creation, idle and absolute deadlines.
    pub times: SessionTimes,
    /// The owner's `auth_generation` at login; a session whose generation differs from the
    /// user's is dead.
    pub auth_generation: i64,
}

/// A stored session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id.
    pub hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Deadlines as stored (the idle expiry may lag the in-memory renewal).
    pub times: SessionTimes,
    /// Owner's generation at login (or at the last re-key).
    pub auth_generation: i64,
}

/// Replace the id of the caller's own session during a password change.
#[derive(Debug, Clone, Copy)]
pub struct SessionRekey {
    /// Current id hash.
    pub old: TokenHash,
    /// New id hash.
    pub new: TokenHash,
}

/// Storage of sessions.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// One login transaction: deletes `replace` if given (no fixation), inserts `new`, then,
    /// when `cap` is set, deletes the user's oldest sessions (by creation time, then insertion
    /// order) beyond the `cap` newest. Returns the number evicted by the cap.
    async fn create_session(
        &self,
        new: NewSession,
        replace: Option<TokenHash>,
        cap: Option<u32>,
    ) -> StoreResult<u64>;
    /// The session with `hash` and its user, read in one query (the hot path).
    async fn session_with_user(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(SessionRecord, User)>>;
    /// Batched idle-expiry renewals: for each pair, `idle_expires_at = given` (the renewing
    /// node's latest knowledge; a stale or reordered write can only make a session end
    /// earlier, never later — and a lowered `SESSION_COOKIE_AGE` must be able to shorten a
    /// session). Duplicates within one batch collapse to the later instant. Missing
    /// sessions are skipped.
    async fn extend_sessions(&self, renewals: &[(TokenHash, OffsetDateTime)]) -> StoreResult<()>;
    /// Deletes one session; returns whether it existed.
    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<bool>;
    /// Deletes every session of `user` except `except`; returns how many.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<TokenHash>,
    ) -> StoreResult<u64>;
    /// Deletes sessions whose idle or absolute deadline is at or before `now`.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}
