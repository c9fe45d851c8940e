//! The change log: what every node must drop from its caches (`docs/cluster.md`).
//!
//! Database triggers append one entry per change in the transaction that makes it (token and
//! session revocation, user changes, settings, MDR connections and families, signing keys),
//! so no write path can forget to announce. A node reads the log with
//! [`ChangeStore::changes_since`] on a short period (the safety net), and where the backend
//! can push (PostgreSQL `LISTEN/NOTIFY`), through a [`ChangeFeed`] as soon as the change
//! commits. Applying an entry twice is harmless: every entry only drops cache entries.

use crate::StoreResult;
use portcullis_core::ids::UserId;
use portcullis_core::token::TokenHash;
use time::OffsetDateTime;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One access token (by hash): revoked, deleted, re-scoped.
    Token(TokenHash),
    /// Every access token (system-wide revocation, an application deleted).
    AllTokens,
    /// One session (by hash): ended, re-keyed.
    Session(TokenHash),
    /// A user and everything cached with it (their tokens and sessions).
    User(UserId),
    /// Runtime settings.
    Settings,
    /// One MDR connection (by id): revoked, refreshed, edited, deleted, family revoked.
    Connection(String),
    /// Every MDR connection (a customer deleted).
    AllConnections,
    /// The MDR signing key set.
    SigningKeys,
    /// A kind this build does not know (written by a newer node): drop everything.
    Unknown,
}

impl Change {
    /// The change named by a log entry's `kind` and `key`.
    pub fn parse(kind: &str, key: &str) -> Self {
        match kind {
            "token" => hash(key).map_or(Self::Unknown, Self::Token),
            "tokens" => Self::AllTokens,
            "session" => hash(key).map_or(Self::Unknown, Self::Session),
            "user" => key
                .parse::<i64>()
                .map_or(Self::Unknown, |id| Self::User(UserId(id))),
            "settings" => Self::Settings,
            "connection" => Self::Connection(key.to_owned()),
            "connections" => Self::AllConnections,
            "keys" => Self::SigningKeys,
            _ => Self::Unknown,
        }
    }
}

/// A 32-byte hash written as 64 lowercase hex digits.
fn hash(hex: &str) -> Option<TokenHash> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(TokenHash::from_bytes(out))
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    /// Position in the log (unique; with PostgreSQL not necessarily in commit order).
    pub seq: i64,
    /// When the change was made (database clock).
    pub at: OffsetDateTime,
    /// What changed.
    pub change: Change,
}

impl ChangeEntry {
    /// The entry a backend read: `at` in Unix milliseconds, `kind` and `key` as the
    /// triggers wrote them.
    pub fn new(seq: i64, at_unix_ms: i64, kind: &str, key: &str) -> Self {
        Self {
            seq,
            at: portcullis_core::clock::from_unix_ms(at_unix_ms),
            change: Change::parse(kind, key),
        }
    }
}

/// Where a reader of the log stands. Opaque outside the backend that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCursor(pub i64);

/// The entries a poll found and the cursor for the next poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// Entries in `seq` order. May repeat entries an earlier poll returned.
    pub entries: Vec<ChangeEntry>,
    /// Pass to the next [`ChangeStore::changes_since`].
    pub cursor: ChangeCursor,
}

/// What a [`ChangeFeed`] delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A committed change.
    Change(ChangeEntry),
    /// The feed's connection was lost and is back: changes in between may have been missed.
    Reconnected,
}

/// Changes pushed by the database as they commit.
#[async_trait::async_trait]
pub trait ChangeFeed: Send {
    /// The next event. `Err` when the connection is down and could not be re-established
    /// yet; calling again retries.
    async fn next(&mut self) -> StoreResult<FeedEvent>;
}

/// Reading the change log.
#[async_trait::async_trait]
pub trait ChangeStore: Send + Sync {
    /// The cursor of a reader that starts now (has seen everything committed so far).
    async fn change_cursor(&self) -> StoreResult<ChangeCursor>;
    /// Every entry committed since `cursor` was taken, and the next cursor.
    async fn changes_since(&self, cursor: ChangeCursor) -> StoreResult<ChangeBatch>;
    /// Deletes entries made before `before`; returns how many.
    async fn purge_changes(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// A push feed, when the backend has one (PostgreSQL); `None` for SQLite, whose single
    /// node relies on the poll.
    async fn change_feed(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let h = TokenHash::from_bytes([0xab; 32]);
        let hex = "ab".repeat(32);
        assert_eq!(Change::parse("token", &hex), Change::Token(h));
        assert_eq!(Change::parse("session", &hex), Change::Session(h));
        assert_eq!(Change::parse("user", "42"), Change::User(UserId(42)));
        assert_eq!(Change::parse("tokens", ""), Change::AllTokens);
        assert_eq!(Change::parse("settings", ""), Change::Settings);
        assert_eq!(
            Change::parse("connection", "c1"),
            Change::Connection("c1".into())
        );
        assert_eq!(Change::parse("connections", ""), Change::AllConnections);
        assert_eq!(Change::parse("keys", ""), Change::SigningKeys);
    }

    #[test]
    fn malformed_entries_drop_everything() {
        assert_eq!(Change::parse("token", "abc"), Change::Unknown);
        assert_eq!(Change::parse("token", &"zz".repeat(32)), Change::Unknown);
        assert_eq!(Change::parse("session", &"é".repeat(32)), Change::Unknown);
        assert_eq!(Change::parse("user", "x"), Change::Unknown);
        assert_eq!(Change::parse("later-kind", ""), Change::Unknown);
    }
}
