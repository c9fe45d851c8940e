//! [`SsoStore`] on PostgreSQL (`docs/sso.md`).
//!
//! Policy: a flow is taken with one `DELETE … RETURNING`, which row-locks it, so of two
//! callbacks with the same `state` exactly one gets it; a single-use marker is an insert that
//! an existing live row refuses. Each method is one autocommit statement (or one transaction).

use crate::PostgresStore;
use crate::error::Outcome;
use portcullis_core::clock::round_ms;
use portcullis_core::ids::UserId;
use portcullis_core::token::TokenHash;
use portcullis_store::{SsoFlow, SsoSession, SsoStore, StoreError, StoreResult};
use time::OffsetDateTime;

type FlowRow = (
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    String,
    String,
    OffsetDateTime,
);

fn hash_of(bytes: Vec<u8>) -> Outcome<TokenHash> {
    let b: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Unavailable("stored sso hash is not 32 bytes".into()))?;
    Ok(TokenHash::from_bytes(b))
}

impl PostgresStore {
    async fn insert_flow(&self, f: SsoFlow) -> Outcome<()> {
        sqlx::query(
            "INSERT INTO sso_flows (state_hash, browser_hash, nonce, verifier, redirect_uri, \
             next, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(f.state_hash.as_bytes().as_slice())
        .bind(f.browser_hash.as_bytes().as_slice())
        .bind(&f.nonce)
        .bind(&f.verifier)
        .bind(&f.redirect_uri)
        .bind(&f.next)
        .bind(round_ms(f.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_flow(&self, state: &TokenHash, now: OffsetDateTime) -> Outcome<Option<SsoFlow>> {
        let row: Option<FlowRow> = sqlx::query_as(
            "DELETE FROM sso_flows WHERE state_hash = $1 RETURNING state_hash, browser_hash, \
             nonce, verifier, redirect_uri, next, expires_at",
        )
        .bind(state.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        let Some((s, b, nonce, verifier, redirect_uri, next, expires)) = row else {
            return Ok(None);
        };
        if expires <= now {
            return Ok(None);
        }
        Ok(Some(SsoFlow {
            state_hash: hash_of(s)?,
            browser_hash: hash_of(b)?,
            nonce,
            verifier,
            redirect_uri,
            next,
            expires_at: expires,
        }))
    }

    async fn identity_user(&self, issuer: &str, subject: &str) -> Outcome<Option<UserId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(UserId))
    }

    async fn link(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        at: OffsetDateTime,
    ) -> Outcome<()> {
        let done = sqlx::query(
            "INSERT INTO sso_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user.0)
        .bind(round_ms(at))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("identity".into()).into());
        }
        Ok(())
    }

    async fn insert_session(&self, s: SsoSession) -> Outcome<()> {
        sqlx::query(
            "INSERT INTO sso_sessions (session_hash, issuer, subject, sid) VALUES ($1, $2, $3, $4)",
        )
        .bind(s.session.as_bytes().as_slice())
        .bind(&s.issuer)
        .bind(&s.subject)
        .bind(&s.sid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_sessions(
        &self,
        issuer: &str,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> Outcome<u64> {
        if subject.is_none() && sid.is_none() {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM sessions WHERE hash IN (SELECT session_hash FROM sso_sessions \
             WHERE issuer = $1 AND ($2::text IS NULL OR subject = $2) \
             AND ($3::text IS NULL OR sid = $3))",
        )
        .bind(issuer)
        .bind(subject)
        .bind(sid)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn use_once(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Outcome<bool> {
        // A marker whose time is over no longer blocks: it is replaced.
        let done = sqlx::query(
            "INSERT INTO sso_used (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE sso_used.expires_at <= $3",
        )
        .bind(key.as_bytes().as_slice())
        .bind(round_ms(expires_at))
        .bind(round_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_sso_rows(&self, now: OffsetDateTime) -> Outcome<u64> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        let a = sqlx::query("DELETE FROM sso_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let b = sqlx::query("DELETE FROM sso_used WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(a.rows_affected().saturating_add(b.rows_affected()))
    }
}

#[async_trait::async_trait]
impl SsoStore for PostgresStore {
    async fn create_sso_flow(&self, flow: SsoFlow) -> StoreResult<()> {
        Ok(self.insert_flow(flow).await?)
    }

    async fn take_sso_flow(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SsoFlow>> {
        Ok(self.take_flow(state_hash, now).await?)
    }

    async fn sso_identity_user(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserId>> {
        Ok(self.identity_user(issuer, subject).await?)
    }

    async fn link_sso_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        Ok(self.link(issuer, subject, user, at).await?)
    }

    async fn record_sso_session(&self, session: SsoSession) -> StoreResult<()> {
        Ok(self.insert_session(session).await?)
    }

    async fn end_sso_sessions(
        &self,
        issuer: &str,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> StoreResult<u64> {
        Ok(self.end_sessions(issuer, subject, sid).await?)
    }

    async fn use_sso_once(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        Ok(self.use_once(key, now, expires_at).await?)
    }

    async fn purge_sso(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(self.purge_sso_rows(now).await?)
    }
}
