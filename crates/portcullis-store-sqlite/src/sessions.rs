//! [`SessionStore`] on SQLite.

use crate::SqliteStore;
use crate::error::{Failure, Outcome};
use portcullis_core::clock::unix_ms;
use portcullis_core::ids::UserId;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{NewSession, SessionRecord, SessionStore, StoreError, StoreResult};
use portcullis_store_sql::{DbTime, SessionRow, UserRow, joined_user_columns, session_columns};
use std::collections::BTreeMap;
use time::OffsetDateTime;

impl SqliteStore {
    /// See [`SessionStore::create_session`].
    async fn login(
        &self,
        new: NewSession,
        replace: Option<TokenHash>,
        cap: Option<u32>,
    ) -> Outcome<u64> {
        let mut tx = self.write().await?;
        // Checked explicitly so a login racing a user delete reads as NotFound.
        let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?1")
            .bind(new.user_id.0)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(old) = replace {
            // The id the browser presented at login never survives it (no fixation).
            sqlx::query("DELETE FROM sessions WHERE hash = ?1")
                .bind(old.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (hash, seq, user_id, created_at, idle_expires_at, \
             absolute_expires_at, auth_generation) \
             VALUES (?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM sessions), ?2, ?3, ?4, ?5, ?6)",
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
                    "DELETE FROM sessions WHERE user_id = ?1 AND hash NOT IN ( \
                       SELECT hash FROM sessions WHERE user_id = ?1 \
                       ORDER BY created_at DESC, seq DESC LIMIT ?2)",
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
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?1"
        ))
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((SessionRow::decode(&row)?, UserRow::decode(&row)?))),
        }
    }

    /// See [`SessionStore::extend_sessions`].
    async fn renew(&self, renewals: &[(TokenHash, OffsetDateTime)]) -> Outcome<()> {
        // Collapse duplicates to the latest expiry first, so the batch order never matters.
        let mut latest: BTreeMap<[u8; 32], i64> = BTreeMap::new();
        for (hash, expiry) in renewals {
            let ms = unix_ms(*expiry);
            let slot = latest.entry(*hash.as_bytes()).or_insert(ms);
            *slot = (*slot).max(ms);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (hash, expiry) in &latest {
            // Set, not max: a lowered SESSION_COOKIE_AGE must shorten active sessions, and a
            // stale write can only end a session early, never late.
            sqlx::query("UPDATE sessions SET idle_expires_at = ?1 WHERE hash = ?2")
                .bind(*expiry)
                .bind(hash.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs one deleting statement with the given binds in a write transaction.
    async fn delete_where(&self, sql: &'static str, binds: DeleteBinds<'_>) -> Outcome<u64> {
        let mut tx = self.write().await?;
        let q = sqlx::query(sql);
        let q = match binds {
            DeleteBinds::Hash(h) => q.bind(h.as_bytes().as_slice()),
            DeleteBinds::User(u) => q.bind(u.0),
            DeleteBinds::UserExcept(u, h) => q.bind(u.0).bind(h.as_bytes().as_slice()),
            DeleteBinds::Instant(t) => q.bind(unix_ms(t)),
        };
        let n = q.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

/// Parameters of the deleting statements.
enum DeleteBinds<'a> {
    /// One session.
    Hash(&'a TokenHash),
    /// Every session of a user.
    User(UserId),
    /// Every session of a user but one.
    UserExcept(UserId, TokenHash),
    /// A point in time.
    Instant(OffsetDateTime),
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        new: NewSession,
        replace: Option<TokenHash>,
        cap: Option<u32>,
    ) -> StoreResult<u64> {
        Ok(self.login(new, replace, cap).await?)
    }

    async fn session_with_user(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(SessionRecord, User)>> {
        Ok(self.find_session(hash).await?)
    }

    async fn extend_sessions(&self, renewals: &[(TokenHash, OffsetDateTime)]) -> StoreResult<()> {
        Ok(self.renew(renewals).await?)
    }

    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<bool> {
        let n = self
            .delete_where(
                "DELETE FROM sessions WHERE hash = ?1",
                DeleteBinds::Hash(hash),
            )
            .await?;
        Ok(n > 0)
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<TokenHash>,
    ) -> StoreResult<u64> {
        let n = match except {
            None => {
                self.delete_where(
                    "DELETE FROM sessions WHERE user_id = ?1",
                    DeleteBinds::User(user),
                )
                .await?
            }
            Some(keep) => {
                self.delete_where(
                    "DELETE FROM sessions WHERE user_id = ?1 AND hash <> ?2",
                    DeleteBinds::UserExcept(user, keep),
                )
                .await?
            }
        };
        Ok(n)
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        // "At or before": a session is live only while now < both deadlines (SessionTimes).
        Ok(self
            .delete_where(
                "DELETE FROM sessions WHERE idle_expires_at <= ?1 OR absolute_expires_at <= ?1",
                DeleteBinds::Instant(now),
            )
            .await?)
    }
}
