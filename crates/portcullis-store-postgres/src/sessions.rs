//! [`SessionStore`] on PostgreSQL.

use crate::PostgresStore;
use crate::error::{Failure, Outcome, retry};
use portcullis_core::clock::round_ms;
use portcullis_core::ids::UserId;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{NewSession, SessionRecord, SessionStore, StoreError, StoreResult};
use portcullis_store_sql::{DbTime, SessionRow, UserRow, joined_user_columns, session_columns};
use std::collections::BTreeMap;
use time::OffsetDateTime;

impl PostgresStore {
    /// One attempt of [`SessionStore::create_session`].
    async fn login(
        &self,
        new: NewSession,
        replace: Option<TokenHash>,
        cap: Option<u32>,
    ) -> Outcome<u64> {
        let mut tx = self.pool.begin().await?;
        // Locking the user row serialises this user's logins across nodes, so two concurrent
        // logins cannot both miss each other's session and leave cap + 1 behind. NO KEY UPDATE
        // still lets the sessions foreign key check take its KEY SHARE lock.
        let user: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(new.user_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        if user.is_none() {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(old) = replace {
            // The id the browser presented at login never survives it (no fixation).
            sqlx::query("DELETE FROM sessions WHERE hash = $1")
                .bind(old.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (hash, user_id, created_at, idle_expires_at, \
             absolute_expires_at, auth_generation) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.hash.as_bytes().as_slice())
        .bind(new.user_id.0)
        .bind(DbTime(new.times.created_at))
        .bind(DbTime(new.times.idle_expires_at))
        .bind(DbTime(new.times.absolute_expires_at))
        .bind(new.auth_generation)
        .execute(&mut *tx)
        .await?;
        let evicted = match cap {
            None => 0,
            Some(cap) => {
                // A cap of 0 would evict the login being made; the settings layer already
                // treats 0 as 1, and so does the store.
                let keep = i64::from(cap.max(1));
                sqlx::query(
                    "DELETE FROM sessions WHERE user_id = $1 AND hash NOT IN ( \
                       SELECT hash FROM sessions WHERE user_id = $1 \
                       ORDER BY created_at DESC, seq DESC LIMIT $2)",
                )
                .bind(new.user_id.0)
                .bind(keep)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            }
        };
        tx.commit().await?;
        Ok(evicted)
    }

    /// See [`SessionStore::session_with_user`].
    async fn find_session(&self, hash: &TokenHash) -> Outcome<Option<(SessionRecord, User)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            ", ",
            joined_user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1"
        ))
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((SessionRow::decode(&row)?, UserRow::decode(&row)?))),
        }
    }

    /// One attempt of [`SessionStore::extend_sessions`], with duplicates already collapsed.
    async fn renew(&self, hashes: &[Vec<u8>], expiries: &[OffsetDateTime]) -> Outcome<()> {
        // One statement for the whole batch: one round trip, one transaction. Set, not max:
        // a lowered SESSION_COOKIE_AGE must shorten active sessions, and a stale write can
        // only end a session early, never late.
        sqlx::query(
            "UPDATE sessions AS s SET idle_expires_at = r.expiry \
             FROM UNNEST($1::bytea[], $2::timestamptz[]) AS r(hash, expiry) \
             WHERE s.hash = r.hash",
        )
        .bind(hashes)
        .bind(expiries)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(
        &self,
        new: NewSession,
        replace: Option<TokenHash>,
        cap: Option<u32>,
    ) -> StoreResult<u64> {
        retry(move || self.login(new, replace, cap)).await
    }

    async fn session_with_user(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(SessionRecord, User)>> {
        Ok(self.find_session(hash).await?)
    }

    async fn extend_sessions(&self, renewals: &[(TokenHash, OffsetDateTime)]) -> StoreResult<()> {
        // Collapse duplicates to the latest expiry first: with UPDATE … FROM, a row matched
        // twice would take an arbitrary one of the two.
        let mut latest: BTreeMap<[u8; 32], OffsetDateTime> = BTreeMap::new();
        for (hash, expiry) in renewals {
            let expiry = round_ms(*expiry);
            let slot = latest.entry(*hash.as_bytes()).or_insert(expiry);
            *slot = (*slot).max(expiry);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let hashes: Vec<Vec<u8>> = latest.keys().map(|h| h.to_vec()).collect();
        let expiries: Vec<OffsetDateTime> = latest.values().copied().collect();
        let (hashes, expiries) = (&hashes, &expiries);
        retry(move || self.renew(hashes, expiries)).await
    }

    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<bool> {
        let n = retry(move || async move {
            Ok(sqlx::query("DELETE FROM sessions WHERE hash = $1")
                .bind(hash.as_bytes().as_slice())
                .execute(&self.pool)
                .await?
                .rows_affected())
        })
        .await?;
        Ok(n > 0)
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<TokenHash>,
    ) -> StoreResult<u64> {
        retry(move || async move {
            let q = match except {
                None => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0),
                Some(keep) => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND hash <> $2")
                    .bind(user.0)
                    .bind(keep.as_bytes().as_slice()),
            };
            Ok(q.execute(&self.pool).await?.rows_affected())
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let now = round_ms(now);
        // "At or before": a session is live only while now < both deadlines (SessionTimes).
        retry(move || async move {
            Ok(sqlx::query(
                "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
            )
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
        })
        .await
    }
}
