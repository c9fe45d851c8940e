//! [`SigningKeyStore`] on SQLite: the signing keys every node shares (`docs/mdr-api.md`, "Signing
//! keys").
//!
//! Policy: "exactly one active key" is the database's to enforce, by the partial unique index
//! `mdr_signing_keys_one_active`; the first-start insert is `INSERT … ON CONFLICT DO NOTHING`
//! against it, so of nodes starting at once exactly one inserts. Promotion is one
//! `BEGIN IMMEDIATE` transaction conditional on the key still being pending, so of nodes
//! promoting at once exactly one does.

use crate::SqliteStore;
use crate::error::{Failure, Outcome};
use portcullis_core::clock::unix_ms;
use portcullis_store::{KeyState, SigningKeyRecord, SigningKeyStore, StoreError, StoreResult};
use portcullis_store_sql::{SigningKeyRow, key_columns};
use time::OffsetDateTime;

impl SqliteStore {
    /// Keys, oldest first (ties in insertion order), retired ones only if `with_retired`.
    async fn keys(&self, with_retired: bool) -> Outcome<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM mdr_signing_keys WHERE ?1 OR state <> 'retired' ORDER BY created_at ASC, seq ASC"
        ))
        .bind(with_retired)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(SigningKeyRow::decode)
            .collect::<Result<_, _>>()?)
    }

    /// See [`SigningKeyStore::insert_first_key`].
    async fn insert_first(&self, key: &SigningKeyRecord) -> Outcome<bool> {
        let mut tx = self.write().await?;
        // The conflict target is the one-active index only: an existing active key makes this
        // a no-op, while any other violation (a taken kid) is still an error.
        let inserted = sqlx::query(
            "INSERT INTO mdr_signing_keys \
             (kid, algorithm, public_key, sealed_private_key, state, created_at, activated_at) \
             VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6) \
             ON CONFLICT (state) WHERE state = 'active' DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(key.public_key.as_slice())
        .bind(key.sealed_private_key.as_slice())
        .bind(unix_ms(key.created_at))
        .bind(unix_ms(key.activated_at.unwrap_or(key.created_at)))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    /// See [`SigningKeyStore::insert_pending_key`].
    async fn insert_pending(&self, key: &SigningKeyRecord) -> Outcome<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO mdr_signing_keys \
             (kid, algorithm, public_key, sealed_private_key, state, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(key.public_key.as_slice())
        .bind(key.sealed_private_key.as_slice())
        .bind(unix_ms(key.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`SigningKeyStore::promote_key`].
    async fn promote(&self, kid: &str, now: OffsetDateTime) -> Outcome<bool> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM mdr_signing_keys WHERE kid = ?1")
                .bind(kid)
                .fetch_optional(&mut *tx)
                .await?;
        if state.as_deref() != Some(KeyState::Pending.as_str()) {
            return Ok(false);
        }
        // The old key steps down first, so the one-active index never sees two.
        sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'verify-only', deactivated_at = ?1 \
             WHERE state = 'active'",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'active', activated_at = ?1 \
             WHERE kid = ?2 AND state = 'pending'",
        )
        .bind(now)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// See [`SigningKeyStore::retire_key`].
    async fn retire(&self, kid: &str, now: OffsetDateTime) -> Outcome<()> {
        let mut tx = self.write().await?;
        // An active key stops signing now; a verify-only key keeps the instant it stopped; a
        // pending one never signed. (Right-hand sides read the row as it was.)
        let changed = sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'retired', \
               deactivated_at = CASE WHEN state = 'active' THEN ?1 ELSE deactivated_at END \
             WHERE kid = ?2",
        )
        .bind(unix_ms(now))
        .bind(kid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`SigningKeyStore::retire_verify_only_keys`].
    async fn retire_verify_only(&self, before: OffsetDateTime) -> Outcome<u64> {
        let mut tx = self.write().await?;
        let retired = sqlx::query(
            "UPDATE mdr_signing_keys SET state = 'retired' \
             WHERE state = 'verify-only' AND deactivated_at <= ?1",
        )
        .bind(unix_ms(before))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(retired)
    }
}

#[async_trait::async_trait]
impl SigningKeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(self.keys(false).await?)
    }

    async fn all_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(self.keys(true).await?)
    }

    async fn insert_first_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        Ok(self.insert_first(key).await?)
    }

    async fn insert_pending_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        Ok(self.insert_pending(key).await?)
    }

    async fn promote_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(self.promote(kid, now).await?)
    }

    async fn retire_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<()> {
        Ok(self.retire(kid, now).await?)
    }

    async fn retire_verify_only_keys(&self, before: OffsetDateTime) -> StoreResult<u64> {
        Ok(self.retire_verify_only(before).await?)
    }
}
