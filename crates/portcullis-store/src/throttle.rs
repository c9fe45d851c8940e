//! Brute-force counters shared by every node (`docs/security.md`, "Brute-force limits").
//!
//! Policy: reserve, then evaluate. [`ThrottleStore::throttle_reserve`] is one atomic step that
//! either refuses (the key is locked) or counts the attempt as a failure *before* any password
//! is hashed, so parallel guesses can never exceed the threshold; a success then clears the
//! key. Attempts refused while locked are not counted, so they never extend a lock, and no
//! lock is longer than the rule's `max_lock`.

use crate::StoreResult;
use time::{Duration, OffsetDateTime};

/// The curve of one counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures allowed before any lock.
    pub free: u32,
    /// Lock after the first failure beyond `free`; doubles with each further failure.
    pub base_lock: Duration,
    /// Upper bound of one lock.
    pub max_lock: Duration,
    /// A counter with no failure for this long starts again from zero.
    pub reset_after: Duration,
}

impl ThrottleRule {
    /// The lock that follows the `failures`-th counted failure (0 while within `free`).
    pub fn lock_after(&self, failures: u32) -> Duration {
        let Some(over) = failures.checked_sub(self.free) else {
            return Duration::ZERO;
        };
        if over == 0 {
            return Duration::ZERO;
        }
        let factor = 1i32
            .checked_shl(over.saturating_sub(1).min(30))
            .unwrap_or(i32::MAX);
        let lock = self.base_lock.checked_mul(factor).unwrap_or(self.max_lock);
        lock.min(self.max_lock)
    }
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    /// The attempt may be evaluated; it has been counted as a failure until cleared.
    Granted,
    /// Locked until this instant; nothing was counted.
    Locked {
        /// End of the lock.
        until: OffsetDateTime,
    },
}

/// The answer to a sliding-window reservation ([`ThrottleStore::window_reserve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowDecision {
    /// Counted; `hit` identifies the counted event, for [`ThrottleStore::window_release`].
    Granted {
        /// The event's id.
        hit: i64,
    },
    /// The window is full until this instant; nothing was counted.
    Full {
        /// When the oldest event that keeps the window full leaves it.
        until: OffsetDateTime,
    },
}

/// Storage of throttle counters. Keys are opaque strings built by the server (hashes of
/// normalised usernames, client networks, client ids), never raw secrets.
#[async_trait::async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Atomically: if `key` was last counted at `last` with `n` failures and
    /// `last + rule.lock_after(n) > now`, answers `Locked` and changes nothing. Otherwise
    /// resets `n` to 0 when `last + rule.reset_after <= now`, then stores `n + 1` failures at
    /// `now` and answers `Granted`.
    async fn throttle_reserve(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<ThrottleDecision>;
    /// Read-only: `Some(until)` when `key` is locked at `now` under `rule` (the same test
    /// `throttle_reserve` makes), `None` otherwise. Counters that only count failures (the
    /// per-source counter) are checked with this before an attempt and reserved after it
    /// failed.
    async fn throttle_locked(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>>;
    /// Clears `key` (a successful attempt).
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;
    /// Remembers that `key` (an account + source pair) logged in successfully at `now`.
    async fn remember_source(&self, key: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// True when `key` logged in successfully at or after `since`.
    async fn source_known(&self, key: &str, since: OffsetDateTime) -> StoreResult<bool>;

    /// Sliding window, read-only: `Some(until)` when `key` has `limit` or more events in
    /// `(now - window, now]`, where `until` is the instant the `limit`-th newest of them
    /// leaves the window; `None` otherwise. Unlike a counter that resets after a quiet
    /// period, a window never forgets an event before it is `window` old.
    async fn window_full(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>>;
    /// Counts one event of `key` at `now`, unconditionally.
    async fn window_hit(&self, key: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Atomically: the test of [`ThrottleStore::window_full`], then, when the window is not
    /// full, one event counted at `now`. Concurrent reservations on one key are serialised,
    /// so they never count more than `limit` events in any window.
    async fn window_reserve(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<WindowDecision>;
    /// Uncounts the event `hit` (the attempt it reserved was not a failure after all).
    async fn window_release(&self, hit: i64) -> StoreResult<()>;
    /// Deletes events older than `before`; answers how many.
    async fn purge_window_events(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_curve_doubles_up_to_the_cap() {
        let r = ThrottleRule {
            free: 5,
            base_lock: Duration::seconds(60),
            max_lock: Duration::seconds(900),
            reset_after: Duration::hours(12),
        };
        assert_eq!(r.lock_after(5), Duration::ZERO);
        assert_eq!(r.lock_after(6), Duration::seconds(60));
        assert_eq!(r.lock_after(7), Duration::seconds(120));
        assert_eq!(r.lock_after(9), Duration::seconds(480));
        assert_eq!(r.lock_after(10), Duration::seconds(900));
        assert_eq!(r.lock_after(1000), Duration::seconds(900));
    }
}
