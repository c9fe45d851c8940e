//! [`SettingsStore`] on PostgreSQL: JSON overrides as `jsonb`, install secrets as `bytea`.

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Outcome, retry};
use portcullis_core::settings::Stored;
use portcullis_store::{NewActivity, SettingsStore, StoreResult};
use portcullis_store_sql::{DbTime, SettingRow};
use sqlx::types::Json;
use time::OffsetDateTime;

impl PostgresStore {
    /// See [`SettingsStore::load_settings`].
    async fn read_settings(&self) -> Outcome<Stored> {
        let rows = sqlx::query("SELECT key, value FROM settings")
            .fetch_all(&self.pool)
            .await?;
        // A value that cannot be parsed must not silently fall back to the default
        // (`docs/security.md`, "Fail closed").
        Ok(rows
            .iter()
            .map(SettingRow::decode)
            .collect::<Result<Stored, _>>()?)
    }

    /// One attempt of [`SettingsStore::write_settings`].
    async fn store_settings(
        &self,
        set: &[(String, serde_json::Value)],
        remove: &[String],
        at: OffsetDateTime,
        activity: &[NewActivity],
    ) -> Outcome<()> {
        let mut tx = self.pool.begin().await?;
        for (key, value) in set {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, \
                 updated_at = EXCLUDED.updated_at",
            )
            .bind(key)
            .bind(Json(value))
            .bind(DbTime(at))
            .execute(&mut *tx)
            .await?;
        }
        if !remove.is_empty() {
            sqlx::query("DELETE FROM settings WHERE key = ANY($1)")
                .bind(remove)
                .execute(&mut *tx)
                .await?;
        }
        for entry in activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`SettingsStore::install_secret`].
    async fn first_secret(&self, name: &str, candidate: &[u8]) -> Outcome<Vec<u8>> {
        let mut tx = self.pool.begin().await?;
        // Insert-if-absent then read back. A racing insert of the same name makes ours wait
        // for it and then do nothing; the SELECT (a new snapshot at READ COMMITTED) then sees
        // the winner's committed value, so every node ends up with the same secret.
        sqlx::query(
            "INSERT INTO install_secrets (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&mut *tx)
        .await?;
        let value: Vec<u8> =
            sqlx::query_scalar("SELECT value FROM install_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(value)
    }
}

#[async_trait::async_trait]
impl SettingsStore for PostgresStore {
    async fn load_settings(&self) -> StoreResult<Stored> {
        Ok(self.read_settings().await?)
    }

    async fn write_settings(
        &self,
        set: Vec<(String, serde_json::Value)>,
        remove: Vec<String>,
        at: OffsetDateTime,
        activity: Vec<NewActivity>,
    ) -> StoreResult<()> {
        let (set, remove, activity) = (&set, &remove, &activity);
        retry(move || self.store_settings(set, remove, at, activity)).await
    }

    async fn install_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        retry(move || self.first_secret(name, candidate)).await
    }
}
