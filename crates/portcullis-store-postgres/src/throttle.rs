//! [`ThrottleStore`] on PostgreSQL.
//!
//! Policy: a reservation reads and writes its counter under a row lock in one transaction, so
//! every node's attempts on one key queue on that lock and parallel guesses can never all see
//! the same "not yet locked" count. The lock curve is [`ThrottleRule::lock_after`] itself,
//! evaluated here rather than re-implemented in SQL, so both backends lock identically.

use crate::PostgresStore;
use crate::error::{Outcome, retry};
use crate::tokens::add_saturating;
use portcullis_core::clock::round_ms;
use portcullis_store::{
    StoreResult, ThrottleDecision, ThrottleRule, ThrottleStore, WindowDecision,
};
use time::{Duration, OffsetDateTime};

/// The end of the lock on a counter last counted at `last` with `failures`, if it is still
/// running at `now`: the one test `throttle_reserve` and `throttle_locked` share.
fn lock_end(
    rule: &ThrottleRule,
    failures: i64,
    last: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    // A stored count beyond u32 can only mean "very many": lock as hard as allowed.
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    let lock = rule.lock_after(failures);
    // No lock yet. Checked explicitly: a concurrent attempt may have stamped `last` a
    // moment after this request read its clock, and `last > now` must not read as locked.
    if lock.is_zero() {
        return None;
    }
    let until = add_saturating(last, lock);
    (until > now).then_some(until)
}

impl PostgresStore {
    /// One attempt of [`ThrottleStore::throttle_reserve`].
    async fn reserve(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Outcome<ThrottleDecision> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        // Make sure the row exists so there is something to lock: a first attempt on a key
        // races other first attempts here, and ON CONFLICT makes the losers wait for the
        // winner's insert instead of failing. A fresh row (no failures) locks nothing, so
        // creating it changes no decision.
        sqlx::query(
            "INSERT INTO throttle_counters (key, failures, last_failure) VALUES ($1, 0, $2) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // At READ COMMITTED the locking read returns the row as the previous holder of the
        // lock committed it, so each reservation sees every earlier one.
        let (failures, last): (i64, OffsetDateTime) = sqlx::query_as(
            "SELECT failures, last_failure FROM throttle_counters WHERE key = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(until) = lock_end(rule, failures, last, now) {
            // Refused attempts are not counted, so they never extend the lock. Nothing was
            // written (the insert above did nothing: a locked key has a row).
            return Ok(ThrottleDecision::Locked { until });
        }
        let failures = if add_saturating(last, rule.reset_after) <= now {
            0
        } else {
            failures
        };
        sqlx::query("UPDATE throttle_counters SET failures = $1, last_failure = $2 WHERE key = $3")
            .bind(failures.saturating_add(1))
            .bind(now)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ThrottleDecision::Granted)
    }

    /// See [`ThrottleStore::throttle_locked`].
    async fn locked_until(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> Outcome<Option<OffsetDateTime>> {
        let counter: Option<(i64, OffsetDateTime)> =
            sqlx::query_as("SELECT failures, last_failure FROM throttle_counters WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(counter.and_then(|(failures, last)| lock_end(rule, failures, last, round_ms(now))))
    }

    /// One attempt of [`ThrottleStore::throttle_clear`].
    async fn clear(&self, key: &str) -> Outcome<()> {
        sqlx::query("DELETE FROM throttle_counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One attempt of [`ThrottleStore::remember_source`].
    async fn remember(&self, key: &str, now: OffsetDateTime) -> Outcome<()> {
        // GREATEST: a delayed write from another node never moves the last success backwards.
        sqlx::query(
            "INSERT INTO throttle_known_sources (key, last_success) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE \
             SET last_success = GREATEST(throttle_known_sources.last_success, \
                                         EXCLUDED.last_success)",
        )
        .bind(key)
        .bind(round_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The window test shared by [`ThrottleStore::window_full`] and `window_reserve`: the
    /// `limit`-th newest event still inside the window keeps it full until it leaves.
    async fn window_until<'c, E>(
        executor: E,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Outcome<Option<OffsetDateTime>>
    where
        E: sqlx::Executor<'c, Database = sqlx::Postgres>,
    {
        let nth: Option<OffsetDateTime> = sqlx::query_scalar(
            "SELECT at FROM throttle_window_events WHERE key = $1 AND at > $2 \
             ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(key)
        .bind(add_saturating(now, -window))
        .bind(i64::from(limit.max(1)) - 1)
        .fetch_optional(executor)
        .await?;
        Ok(nth.map(|at| add_saturating(at, window)))
    }

    /// One attempt of [`ThrottleStore::window_reserve`]: a transaction-scoped advisory lock
    /// on the key serialises every node's reservations of it, then test and insert.
    async fn reserve_window(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Outcome<WindowDecision> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7243))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if let Some(until) = Self::window_until(&mut *tx, key, limit, window, now).await? {
            return Ok(WindowDecision::Full { until });
        }
        let hit: i64 = sqlx::query_scalar(
            "INSERT INTO throttle_window_events (key, at) VALUES ($1, $2) RETURNING id",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(WindowDecision::Granted { hit })
    }

    /// One attempt of [`ThrottleStore::window_hit`].
    async fn hit(&self, key: &str, now: OffsetDateTime) -> Outcome<()> {
        sqlx::query("INSERT INTO throttle_window_events (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(round_ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// See [`ThrottleStore::source_known`].
    async fn known_since(&self, key: &str, since: OffsetDateTime) -> Outcome<bool> {
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM throttle_known_sources \
             WHERE key = $1 AND last_success >= $2)",
        )
        .bind(key)
        .bind(round_ms(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(known)
    }
}

#[async_trait::async_trait]
impl ThrottleStore for PostgresStore {
    async fn throttle_reserve(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<ThrottleDecision> {
        retry(move || self.reserve(key, rule, now)).await
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
        retry(move || self.clear(key)).await
    }

    async fn remember_source(&self, key: &str, now: OffsetDateTime) -> StoreResult<()> {
        retry(move || self.remember(key, now)).await
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
        Ok(Self::window_until(&self.pool, key, limit, window, round_ms(now)).await?)
    }

    async fn window_hit(&self, key: &str, now: OffsetDateTime) -> StoreResult<()> {
        retry(move || self.hit(key, now)).await
    }

    async fn window_reserve(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<WindowDecision> {
        retry(move || self.reserve_window(key, limit, window, now)).await
    }

    async fn window_release(&self, hit: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle_window_events WHERE id = $1")
            .bind(hit)
            .execute(&self.pool)
            .await
            .map_err(crate::error::Failure::from)?;
        Ok(())
    }

    async fn purge_window_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let n = sqlx::query("DELETE FROM throttle_window_events WHERE at < $1")
            .bind(round_ms(before))
            .execute(&self.pool)
            .await
            .map_err(crate::error::Failure::from)?;
        Ok(n.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn lock_end_follows_the_rule_and_ends_at_until() {
        let rule = ThrottleRule {
            free: 2,
            base_lock: Duration::seconds(60),
            max_lock: Duration::seconds(300),
            reset_after: Duration::hours(1),
        };
        let last = OffsetDateTime::UNIX_EPOCH;
        let until = last + Duration::seconds(60);
        assert_eq!(lock_end(&rule, 2, last, last), None, "within the free ones");
        assert_eq!(lock_end(&rule, 3, last, last), Some(until));
        assert_eq!(
            lock_end(&rule, 3, last, until - Duration::milliseconds(1)),
            Some(until)
        );
        assert_eq!(lock_end(&rule, 3, last, until), None);
        assert_eq!(
            lock_end(&rule, i64::MAX, last, last),
            Some(last + Duration::seconds(300)),
            "an absurd count is capped like any other"
        );
    }
}
