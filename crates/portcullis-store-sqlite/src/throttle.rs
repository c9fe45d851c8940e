//! [`ThrottleStore`] on SQLite.
//!
//! Policy: a reservation reads and writes its counter inside one `BEGIN IMMEDIATE`
//! transaction, so every node's attempts on one key are serialised by the write lock and
//! parallel guesses can never all see the same "not yet locked" count.

use crate::SqliteStore;
use crate::error::Outcome;
use crate::tokens::add_ms;
use portcullis_core::clock::{from_unix_ms, unix_ms};
use portcullis_store::{
    StoreResult, ThrottleDecision, ThrottleRule, ThrottleStore, WindowDecision,
};
use time::{Duration, OffsetDateTime};

/// The end of the lock on a counter last counted at `last` (Unix ms) with `failures`, if it
/// is still running at `now`: the one test `throttle_reserve` and `throttle_locked` share.
fn lock_end(rule: &ThrottleRule, failures: i64, last: i64, now: i64) -> Option<i64> {
    // A stored count beyond u32 can only mean "very many": lock as hard as allowed.
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    let lock = rule.lock_after(failures);
    // No lock yet. Checked explicitly: a concurrent attempt may have stamped `last` a
    // moment after this request read its clock, and `last > now` must not read as locked.
    if lock.is_zero() {
        return None;
    }
    let until = add_ms(last, lock);
    (until > now).then_some(until)
}

impl SqliteStore {
    /// See [`ThrottleStore::throttle_reserve`].
    async fn reserve(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Outcome<ThrottleDecision> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        let counter: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure FROM throttle_counters WHERE key = ?1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        let failures = match counter {
            None => 0,
            Some((failures, last)) => {
                if let Some(until) = lock_end(rule, failures, last, now) {
                    // Refused attempts are not counted, so they never extend the lock.
                    return Ok(ThrottleDecision::Locked {
                        until: from_unix_ms(until),
                    });
                }
                if add_ms(last, rule.reset_after) <= now {
                    0
                } else {
                    failures
                }
            }
        };
        sqlx::query(
            "INSERT INTO throttle_counters (key, failures, last_failure) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
               last_failure = excluded.last_failure",
        )
        .bind(key)
        .bind(failures.saturating_add(1))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ThrottleDecision::Granted)
    }

    /// Runs one statement binding `key` (and `now`, if given) in a write transaction.
    async fn write_key(&self, sql: &'static str, key: &str, now: Option<i64>) -> Outcome<()> {
        let mut tx = self.write().await?;
        let q = sqlx::query(sql).bind(key);
        let q = match now {
            Some(now) => q.bind(now),
            None => q,
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`ThrottleStore::throttle_locked`].
    async fn locked_until(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Outcome<Option<OffsetDateTime>> {
        let counter: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure FROM throttle_counters WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(counter
            .and_then(|(failures, last)| lock_end(rule, failures, last, unix_ms(now)))
            .map(from_unix_ms))
    }

    /// The window test shared by [`ThrottleStore::window_full`] and `window_reserve`: the
    /// `limit`-th newest event still inside the window keeps it full until it leaves.
    async fn window_until<'c, E>(
        executor: E,
        key: &str,
        limit: u32,
        window: Duration,
        now: i64,
    ) -> Outcome<Option<OffsetDateTime>>
    where
        E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
    {
        let start = add_ms(now, -window);
        let nth: Option<i64> = sqlx::query_scalar(
            "SELECT at FROM throttle_window_events WHERE key = ?1 AND at > ?2 \
             ORDER BY at DESC LIMIT 1 OFFSET ?3",
        )
        .bind(key)
        .bind(start)
        .bind(i64::from(limit.max(1)) - 1)
        .fetch_optional(executor)
        .await?;
        Ok(nth.map(|at| from_unix_ms(add_ms(at, window))))
    }

    /// See [`ThrottleStore::window_reserve`]: the test and the insert in one `BEGIN
    /// IMMEDIATE` transaction, serialised with every other writer.
    async fn reserve_window(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Outcome<WindowDecision> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        if let Some(until) = Self::window_until(&mut *tx, key, limit, window, now).await? {
            return Ok(WindowDecision::Full { until });
        }
        let hit: i64 = sqlx::query_scalar(
            "INSERT INTO throttle_window_events (key, at) VALUES (?1, ?2) RETURNING id",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(WindowDecision::Granted { hit })
    }

    /// Runs one statement binding an integer in a write transaction; answers rows affected.
    async fn write_int(&self, sql: &'static str, value: i64) -> Outcome<u64> {
        let mut tx = self.write().await?;
        let n = sqlx::query(sql).bind(value).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n.rows_affected())
    }

    /// See [`ThrottleStore::source_known`].
    async fn known_since(&self, key: &str, since: OffsetDateTime) -> Outcome<bool> {
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM throttle_known_sources \
             WHERE key = ?1 AND last_success >= ?2)",
        )
        .bind(key)
        .bind(unix_ms(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(known)
    }
}

#[async_trait::async_trait]
impl ThrottleStore for SqliteStore {
    async fn throttle_reserve(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<ThrottleDecision> {
        Ok(self.reserve(key, rule, now).await?)
    }

    async fn throttle_locked(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        Ok(self.locked_until(key, rule, now).await?)
    }

    async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        Ok(self
            .write_key("DELETE FROM throttle_counters WHERE key = ?1", key, None)
            .await?)
    }

    async fn remember_source(&self, key: &str, now: OffsetDateTime) -> StoreResult<()> {
        // max(): a delayed write from another node never moves the last success backwards.
        Ok(self
            .write_key(
                "INSERT INTO throttle_known_sources (key, last_success) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE \
                 SET last_success = MAX(last_success, excluded.last_success)",
                key,
                Some(unix_ms(now)),
            )
            .await?)
    }

    async fn source_known(&self, key: &str, since: OffsetDateTime) -> StoreResult<bool> {
        Ok(self.known_since(key, since).await?)
    }

    async fn window_full(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        Ok(Self::window_until(&self.pool, key, limit, window, unix_ms(now)).await?)
    }

    async fn window_hit(&self, key: &str, now: OffsetDateTime) -> StoreResult<()> {
        Ok(self
            .write_key(
                "INSERT INTO throttle_window_events (key, at) VALUES (?1, ?2)",
                key,
                Some(unix_ms(now)),
            )
            .await?)
    }

    async fn window_reserve(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<WindowDecision> {
        Ok(self.reserve_window(key, limit, window, now).await?)
    }

    async fn window_release(&self, hit: i64) -> StoreResult<()> {
        self.write_int("DELETE FROM throttle_window_events WHERE id = ?1", hit)
            .await?;
        Ok(())
    }

    async fn purge_window_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        Ok(self
            .write_int(
                "DELETE FROM throttle_window_events WHERE at < ?1",
                unix_ms(before),
            )
            .await?)
    }
}
