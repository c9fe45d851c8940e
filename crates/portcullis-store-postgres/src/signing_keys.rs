//! [`SigningKeyStore`] on PostgreSQL: the signing keys every node shares (`docs/mdr-api.md`,
//! "Signing keys").
//!
//! Policy: "exactly one active key" is the database's invariant, not the callers': a partial
//! unique index allows one row with `state = 'active'`, and the first-start insert is
//! `INSERT … ON CONFLICT DO NOTHING` against it, so of any number of nodes starting at once on
//! an empty database exactly one inserts. Promotions are one transaction each, serialised by a
//! transaction-scoped advisory lock and guarded by a conditional update on the pending key, so
//! of two nodes promoting one key exactly one wins, and two promotions of different keys run
//! one after the other instead of colliding on the index. Private keys are stored only sealed.

use crate::PostgresStore;
use crate::error::{Outcome, retry};
use portcullis_core::clock::round_ms;
use portcullis_store::{KeyState, SigningKeyRecord, SigningKeyStore, StoreError, StoreResult};
use portcullis_store_sql::{SigningKeyRow, key_columns};
use time::OffsetDateTime;

/// The advisory lock (`pg_advisory_xact_lock`) that serialises promotions across nodes:
/// "portmdrk" in ASCII, a value no other part of Portcullis uses.
const PROMOTION_LOCK: i64 = 0x706f_7274_6d64_726b;

impl PostgresStore {
    /// Keys in creation order (ties by insertion order), optionally with the retired ones.
    async fn keys(&self, with_retired: bool) -> Outcome<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM mdr_signing_keys WHERE $1 OR state <> 'retired' ORDER BY created_at, seq"
        ))
        .bind(with_retired)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(SigningKeyRow::decode)
            .collect::<Result<_, _>>()?)
    }

    /// Inserts `key` in `state`. With `only_if_none_active`, a conflict on the one-active
    /// index inserts nothing (and returns false) instead of failing; a duplicate `kid` is
    /// `Conflict("kid")` either way.
    async fn insert_key(
        &self,
        key: &SigningKeyRecord,
        state: KeyState,
        only_if_none_active: bool,
    ) -> Outcome<bool> {
        let sql = if only_if_none_active {
            concat!(
                "INSERT INTO mdr_signing_keys (",
                key_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (state) WHERE state = 'active' DO NOTHING"
            )
        } else {
            concat!(
                "INSERT INTO mdr_signing_keys (",
                key_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            )
        };
        let inserted = sqlx::query(sql)
            .bind(&key.kid)
            .bind(&key.algorithm)
            .bind(&key.public_key)
            .bind(&key.sealed_private_key)
            .bind(state.as_str())
            .bind(round_ms(key.created_at))
            .bind(key.activated_at.map(round_ms))
            .bind(key.deactivated_at.map(round_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// One attempt of [`SigningKeyStore::promote_key`].
    async fn promote(&self, kid: &str, now: OffsetDateTime) -> Outcome<bool> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        // Promotions on every node queue here; each statement after the lock reads what the
        // one before committed (READ COMMITTED), so the demotion below always finds the key
        // that is active now.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PROMOTION_LOCK)
            .execute(&mut *tx)
            .await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM mdr_signing_keys WHERE kid = $1 FOR UPDATE")
                .bind(kid)
                .fetch_optional(&mut *tx)
                .await?;
        if state.as_deref() != Some(KeyState::Pending.as_str()) {
            // Not pending (missing, or another node promoted it first): nothing changes.
            return Ok(false);
        }
        sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'verify-only', deactivated_at = $1 \
             WHERE state = 'active'",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The conditional update that claims the promotion.
        let promoted = sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'active', activated_at = $2 \
             WHERE kid = $1 AND state = 'pending'",
        )
        .bind(kid)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if promoted != 1 {
            // Dropping the transaction rolls the demotion back.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One attempt of [`SigningKeyStore::retire_key`].
    async fn retire(&self, kid: &str, now: OffsetDateTime) -> Outcome<()> {
        // An active key stops signing now; a verify-only key keeps the instant it stopped; a
        // pending key never signed, so it has none.
        let changed = sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'retired', \
               deactivated_at = CASE WHEN state = 'active' THEN $2 ELSE deactivated_at END \
             WHERE kid = $1",
        )
        .bind(kid)
        .bind(round_ms(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound.into());
        }
        Ok(())
    }

    /// One attempt of [`SigningKeyStore::retire_verify_only_keys`].
    async fn retire_old(&self, before: OffsetDateTime) -> Outcome<u64> {
        Ok(sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'retired' \
             WHERE state = 'verify-only' AND deactivated_at <= $1",
        )
        .bind(round_ms(before))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[async_trait::async_trait]
impl SigningKeyStore for PostgresStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(self.keys(false).await?)
    }

    async fn all_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(self.keys(true).await?)
    }

    async fn insert_first_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        retry(move || self.insert_key(key, KeyState::Active, true)).await
    }

    async fn insert_pending_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        retry(move || async move {
            self.insert_key(key, KeyState::Pending, false).await?;
            Ok(())
        })
        .await
    }

    async fn promote_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<bool> {
        retry(move || self.promote(kid, now)).await
    }

    async fn retire_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<()> {
        retry(move || self.retire(kid, now)).await
    }

    async fn retire_verify_only_keys(&self, before: OffsetDateTime) -> StoreResult<u64> {
        retry(move || self.retire_old(before)).await
    }
}
