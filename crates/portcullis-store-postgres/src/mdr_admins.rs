//! [`MdrAdminStore`] on PostgreSQL: the per-customer MDR administrator role.

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Outcome, retry};
use portcullis_core::clock::round_ms;
use portcullis_core::ids::UserId;
use portcullis_store::{CustomerAdministrator, MdrAdminStore, NewActivity, StoreResult};
use time::OffsetDateTime;

impl PostgresStore {
    /// One attempt of [`MdrAdminStore::grant_customer_admin`]. A missing customer or user is a
    /// foreign-key violation, which the crate's mapping turns into `NotFound`.
    async fn grant_admin(
        &self,
        client_id: &str,
        user: UserId,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<bool> {
        let mut tx = self.pool.begin().await?;
        let added = sqlx::query(
            "INSERT INTO mdr_customer_admins (client_id, user_id, granted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, user_id) DO NOTHING",
        )
        .bind(client_id)
        .bind(user.0)
        .bind(round_ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if added && let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// One attempt of [`MdrAdminStore::revoke_customer_admin`].
    async fn revoke_admin(
        &self,
        client_id: &str,
        user: UserId,
        activity: Option<&NewActivity>,
    ) -> Outcome<bool> {
        let mut tx = self.pool.begin().await?;
        let removed =
            sqlx::query("DELETE FROM mdr_customer_admins WHERE client_id = $1 AND user_id = $2")
                .bind(client_id)
                .bind(user.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
        if removed && let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// See [`MdrAdminStore::customer_admins`].
    async fn admins_of(&self, client_id: &str) -> Outcome<Vec<CustomerAdministrator>> {
        let rows: Vec<(i64, String, OffsetDateTime)> = sqlx::query_as(
            "SELECT a.user_id, u.username, a.granted_at FROM mdr_customer_admins a \
             JOIN users u ON u.id = a.user_id WHERE a.client_id = $1 \
             ORDER BY u.username, a.user_id",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, username, granted_at)| CustomerAdministrator {
                user_id: UserId(id),
                username,
                granted_at,
            })
            .collect())
    }

    /// See [`MdrAdminStore::administered_customers`].
    async fn administered(&self, user: UserId) -> Outcome<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT client_id FROM mdr_customer_admins WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }
}

#[async_trait::async_trait]
impl MdrAdminStore for PostgresStore {
    async fn grant_customer_admin(
        &self,
        client_id: &str,
        user: UserId,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<bool> {
        let activity = activity.as_ref();
        retry(move || self.grant_admin(client_id, user, now, activity)).await
    }

    async fn revoke_customer_admin(
        &self,
        client_id: &str,
        user: UserId,
        activity: Option<NewActivity>,
    ) -> StoreResult<bool> {
        let activity = activity.as_ref();
        retry(move || self.revoke_admin(client_id, user, activity)).await
    }

    async fn customer_admins(&self, client_id: &str) -> StoreResult<Vec<CustomerAdministrator>> {
        Ok(self.admins_of(client_id).await?)
    }

    async fn administered_customers(&self, user: UserId) -> StoreResult<Vec<String>> {
        Ok(self.administered(user).await?)
    }
}
