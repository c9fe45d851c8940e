//! [`AppStore`] on PostgreSQL.
//!
//! Policy: deleting an application takes its tokens, refresh families and codes with it
//! through `ON DELETE CASCADE`; an authorization code is consumed by one conditional
//! `UPDATE … RETURNING`, so of any number of racing exchanges, on any number of nodes,
//! exactly one gets the code (the others wait on its row lock, then find `used_at` set).

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, retry};
use portcullis_core::ids::{ApplicationId, UserId};
use portcullis_core::token::TokenHash;
use portcullis_store::{
    AppStore, ApplicationPatch, ApplicationQuery, ApplicationRecord, AuthCodeRecord, NewActivity,
    NewApplication, NewAuthCode, Page, StoreError, StoreResult,
};
use portcullis_store_sql::{AppRow, DbTime, app_columns, empty_page, listings};
use sqlx::Row;
use time::OffsetDateTime;

impl PostgresStore {
    /// One attempt of [`AppStore::create_application`].
    async fn insert_application(
        &self,
        new: &NewApplication,
        activity: Option<&NewActivity>,
    ) -> Outcome<ApplicationRecord> {
        let mut tx = self.pool.begin().await?;
        // A taken name fails on one of the two partial unique indexes (with or without an
        // organization), reported as Conflict("name").
        let row = sqlx::query(concat!(
            "INSERT INTO oauth_applications (name, description, client_id, secret_hash, \
             client_type, redirect_uris, authorization_grant_type, skip_authorization, \
             organization, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ",
            app_columns!()
        ))
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.client_id)
        .bind(new.secret_hash.as_ref().map(|h| h.as_bytes().as_slice()))
        .bind(&new.client_type)
        .bind(&new.redirect_uris)
        .bind(&new.authorization_grant_type)
        .bind(new.skip_authorization)
        .bind(new.organization)
        .bind(DbTime(new.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let app = AppRow::decode(&row)?;
        if let Some(entry) = activity {
            let mut entry = entry.clone();
            entry.object1_id = entry.object1_id.or(Some(app.id.0));
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(app)
    }

    /// See [`AppStore::application_by_id`].
    async fn find_application(&self, id: ApplicationId) -> Outcome<Option<ApplicationRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_applications WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(AppRow::decode).transpose()?)
    }

    /// See [`AppStore::application_by_client_id`].
    async fn find_client(&self, client_id: &str) -> Outcome<Option<ApplicationRecord>> {
        // Exact match: the column is COLLATE "C", so no case folding or locale rule applies.
        let row = sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_applications WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(AppRow::decode).transpose()?)
    }

    /// See [`AppStore::list_applications`].
    async fn page_applications(
        &self,
        query: &ApplicationQuery,
    ) -> Outcome<Page<ApplicationRecord>> {
        let Some(listing) = listings::applications(query) else {
            // A value that cannot fit its column matches no row.
            return Ok(empty_page());
        };
        Ok(listing.fetch(&self.pool, AppRow::decode).await?)
    }

    /// One attempt of [`AppStore::update_application`].
    async fn patch_application(
        &self,
        id: ApplicationId,
        patch: &ApplicationPatch,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<ApplicationRecord> {
        let mut tx = self.pool.begin().await?;
        // Every right-hand side reads the row as it was before this statement, so the secret
        // rule sees the new client type ($4) against the old one without a second read: a new
        // secret wins, a switch to public drops the secret, anything else keeps it. The casts
        // give PostgreSQL a type for parameters that may be bound as NULL.
        let row = sqlx::query(concat!(
            "UPDATE oauth_applications SET \
               name = COALESCE($1, name), \
               description = COALESCE($2, description), \
               secret_hash = CASE \
                 WHEN $3::bytea IS NOT NULL THEN $3::bytea \
                 WHEN COALESCE($4, client_type) = 'public' THEN NULL \
                 ELSE secret_hash END, \
               client_type = COALESCE($4, client_type), \
               redirect_uris = COALESCE($5, redirect_uris), \
               skip_authorization = COALESCE($6, skip_authorization), \
               organization = CASE WHEN $7 THEN $8::bigint ELSE organization END, \
               modified_at = $9 \
             WHERE id = $10 RETURNING ",
            app_columns!()
        ))
        .bind(&patch.name)
        .bind(&patch.description)
        .bind(patch.secret_hash.as_ref().map(|h| h.as_bytes().as_slice()))
        .bind(&patch.client_type)
        .bind(&patch.redirect_uris)
        .bind(patch.skip_authorization)
        .bind(patch.organization.is_some())
        .bind(patch.organization.flatten())
        .bind(DbTime(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let app = AppRow::decode(&row)?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(app)
    }

    /// One attempt of [`AppStore::delete_application`].
    async fn remove_application(
        &self,
        id: ApplicationId,
        activity: Option<&NewActivity>,
    ) -> Outcome<()> {
        let mut tx = self.pool.begin().await?;
        // Tokens, refresh families (and their tokens) and codes go with the row (ON DELETE
        // CASCADE), in this same transaction.
        let deleted = sqlx::query("DELETE FROM oauth_applications WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`AppStore::create_auth_code`].
    async fn insert_auth_code(&self, new: &NewAuthCode) -> Outcome<()> {
        // One statement, so it commits on its own. A missing application or user is a
        // foreign-key violation: NotFound.
        sqlx::query(
            "INSERT INTO oauth_auth_codes (hash, application_id, user_id, redirect_uri, scope, \
             code_challenge, code_challenge_method, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new.hash.as_bytes().as_slice())
        .bind(new.application_id.0)
        .bind(new.user_id.0)
        .bind(&new.redirect_uri)
        .bind(&new.scope)
        .bind(&new.code_challenge)
        .bind(&new.code_challenge_method)
        .bind(DbTime(new.created_at))
        .bind(DbTime(new.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One attempt of [`AppStore::consume_auth_code`].
    async fn take_auth_code(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> Outcome<Option<AuthCodeRecord>> {
        // Every condition in the one UPDATE: a second exchange waits for the first one's row
        // lock, re-reads the row, finds used_at set and gets nothing; the caller cannot tell
        // why (unknown, used, expired, other client).
        let row = sqlx::query(
            "UPDATE oauth_auth_codes SET used_at = $1 \
             WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 AND application_id = $3 \
             RETURNING user_id, redirect_uri, scope, code_challenge, code_challenge_method",
        )
        .bind(DbTime(now))
        .bind(hash.as_bytes().as_slice())
        .bind(client.0)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(AuthCodeRecord {
                user_id: UserId(row.try_get("user_id")?),
                redirect_uri: row.try_get("redirect_uri")?,
                scope: row.try_get("scope")?,
                code_challenge: row.try_get("code_challenge")?,
                code_challenge_method: row.try_get("code_challenge_method")?,
            })),
        }
    }

    /// One attempt of [`AppStore::revoke_code_grant`].
    async fn revoke_code_family(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> Outcome<bool> {
        let mut tx = self.pool.begin().await?;
        let family: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT family_id FROM oauth_auth_codes \
             WHERE hash = $1 AND application_id = $2 AND used_at IS NOT NULL",
        )
        .bind(hash.as_bytes().as_slice())
        .bind(client.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(Some(family)) = family else {
            return Ok(false);
        };
        crate::tokens::revoke_family(&mut tx, family, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl AppStore for PostgresStore {
    async fn create_application(
        &self,
        new: NewApplication,
        activity: Option<NewActivity>,
    ) -> StoreResult<ApplicationRecord> {
        let (new, activity) = (&new, activity.as_ref());
        retry(move || self.insert_application(new, activity)).await
    }

    async fn application_by_id(&self, id: ApplicationId) -> StoreResult<Option<ApplicationRecord>> {
        Ok(self.find_application(id).await?)
    }

    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ApplicationRecord>> {
        Ok(self.find_client(client_id).await?)
    }

    async fn list_applications(
        &self,
        query: &ApplicationQuery,
    ) -> StoreResult<Page<ApplicationRecord>> {
        Ok(self.page_applications(query).await?)
    }

    async fn update_application(
        &self,
        id: ApplicationId,
        patch: ApplicationPatch,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<ApplicationRecord> {
        let (patch, activity) = (&patch, activity.as_ref());
        retry(move || self.patch_application(id, patch, now, activity)).await
    }

    async fn delete_application(
        &self,
        id: ApplicationId,
        activity: Option<NewActivity>,
    ) -> StoreResult<()> {
        let activity = activity.as_ref();
        retry(move || self.remove_application(id, activity)).await
    }

    async fn create_auth_code(&self, new: NewAuthCode) -> StoreResult<()> {
        let new = &new;
        retry(move || self.insert_auth_code(new)).await
    }

    async fn consume_auth_code(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthCodeRecord>> {
        retry(move || self.take_auth_code(hash, client, now)).await
    }

    async fn revoke_code_grant(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        retry(move || self.revoke_code_family(hash, client, now)).await
    }
}
