//! [`UserStore`] on SQLite.

use crate::SqliteStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, map_db_error};
use crate::filter::SqliteDialect;
use portcullis_core::ids::UserId;
use portcullis_core::user::User;
use portcullis_store::{
    DirectorySync, NewActivity, NewUser, Page, SessionRekey, StoreError, StoreResult, UserPatch,
    UserQuery, UserStore,
};
use portcullis_store_sql::{DbTime, UserRow, listings, user_columns};
use time::OffsetDateTime;

impl SqliteStore {
    /// See [`UserStore::create_user`].
    async fn insert_user(&self, new: NewUser, activity: Option<NewActivity>) -> Outcome<User> {
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO users (username, email, first_name, last_name, password_hash, \
             is_superuser, is_system_auditor, is_active, external_account, ldap_dn, \
             auth_generation, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, 0, ?10) RETURNING ",
            user_columns!()
        ))
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(&new.password_hash)
        .bind(new.is_superuser)
        .bind(new.is_system_auditor)
        .bind(&new.external_account)
        .bind(&new.ldap_dn)
        .bind(DbTime(new.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let user = UserRow::decode(&row)?;
        if let Some(mut entry) = activity {
            entry.object1_id = entry.object1_id.or(Some(user.id.0));
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// See [`UserStore::sync_directory_user`].
    async fn apply_directory_sync(
        &self,
        id: UserId,
        sync: &DirectorySync,
        activity: Option<&NewActivity>,
    ) -> Outcome<Option<User>> {
        let mut tx = self.write().await?;
        // `password_hash IS NULL` is the guard: a local account keeps its password and is
        // never turned into a directory user. A source change ends the user's sessions and
        // cached Basic credentials through the generation.
        let row = sqlx::query(concat!(
            "UPDATE users SET \
               auth_generation = CASE WHEN external_account IS ?2 \
                 THEN auth_generation ELSE auth_generation + 1 END, \
               external_account = ?2, ldap_dn = ?3, \
               first_name = COALESCE(?4, first_name), \
               last_name = COALESCE(?5, last_name), \
               email = COALESCE(?6, email), \
               is_superuser = ?7, is_system_auditor = ?8 \
             WHERE id = ?1 AND password_hash IS NULL RETURNING ",
            user_columns!()
        ))
        .bind(id.0)
        .bind(&sync.source)
        .bind(&sync.ldap_dn)
        .bind(&sync.first_name)
        .bind(&sync.last_name)
        .bind(&sync.email)
        .bind(sync.is_superuser)
        .bind(sync.is_system_auditor)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = UserRow::decode(&row)?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(Some(user))
    }

    /// See [`UserStore::update_user`].
    async fn patch_user(
        &self,
        id: UserId,
        patch: UserPatch,
        activity: Option<NewActivity>,
    ) -> Outcome<User> {
        let mut tx = self.write().await?;
        // Disabling bumps the generation in the same statement, so no session or cached Basic
        // credential of the disabled user can be accepted once this commits.
        let row = sqlx::query(concat!(
            "UPDATE users SET \
               username = COALESCE(?1, username), \
               email = COALESCE(?2, email), \
               first_name = COALESCE(?3, first_name), \
               last_name = COALESCE(?4, last_name), \
               is_superuser = COALESCE(?5, is_superuser), \
               is_system_auditor = COALESCE(?6, is_system_auditor), \
               is_active = COALESCE(?7, is_active), \
               auth_generation = auth_generation + (CASE WHEN ?7 = 0 THEN 1 ELSE 0 END) \
             WHERE id = ?8 RETURNING ",
            user_columns!()
        ))
        .bind(&patch.username)
        .bind(&patch.email)
        .bind(&patch.first_name)
        .bind(&patch.last_name)
        .bind(patch.is_superuser)
        .bind(patch.is_system_auditor)
        .bind(patch.is_active)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let user = UserRow::decode(&row)?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// See [`UserStore::change_password`].
    async fn set_password(
        &self,
        id: UserId,
        new_hash: String,
        keep: Option<SessionRekey>,
        activity: Option<NewActivity>,
    ) -> Outcome<i64> {
        let mut tx = self.write().await?;
        let generation: i64 = sqlx::query_scalar(
            "UPDATE users SET password_hash = ?1, auth_generation = auth_generation + 1 \
             WHERE id = ?2 RETURNING auth_generation",
        )
        .bind(&new_hash)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        match keep {
            Some(keep) => {
                sqlx::query("DELETE FROM sessions WHERE user_id = ?1 AND hash <> ?2")
                    .bind(id.0)
                    .bind(keep.old.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
                // A new id for the caller's session (fixation defence) bound to the new
                // generation; its deadlines and insertion order stay.
                sqlx::query(
                    "UPDATE sessions SET hash = ?1, auth_generation = ?2 \
                     WHERE hash = ?3 AND user_id = ?4",
                )
                .bind(keep.new.as_bytes().as_slice())
                .bind(generation)
                .bind(keep.old.as_bytes().as_slice())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM sessions WHERE user_id = ?1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(generation)
    }

    /// See [`UserStore::delete_user`].
    async fn remove_user(&self, id: UserId, activity: Option<NewActivity>) -> Outcome<()> {
        let mut tx = self.write().await?;
        // Sessions go with the row (ON DELETE CASCADE, foreign_keys is checked at connect).
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`UserStore::upgrade_password_hash`].
    async fn replace_hash(&self, id: UserId, old: &str, new: &str) -> Outcome<bool> {
        let mut tx = self.write().await?;
        // Conditional on the old value: a concurrent password change must win over an upgrade.
        let changed =
            sqlx::query("UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3")
                .bind(new)
                .bind(id.0)
                .bind(old)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// See [`UserStore::record_login`].
    async fn stamp_login(&self, id: UserId, at: OffsetDateTime) -> Outcome<()> {
        let mut tx = self.write().await?;
        let changed = sqlx::query("UPDATE users SET last_login = ?1 WHERE id = ?2")
            .bind(DbTime(at))
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`UserStore::list_users`].
    async fn page_users(&self, query: &UserQuery) -> Outcome<Page<User>> {
        let listing = listings::users::<SqliteDialect>(query);
        Ok(listing.fetch(&self.pool, UserRow::decode).await?)
    }

    /// One user by a unique column.
    async fn user_where(&self, sql: &'static str, bind: UserKey<'_>) -> Outcome<Option<User>> {
        let q = sqlx::query(sql);
        let q = match bind {
            UserKey::Id(id) => q.bind(id.0),
            UserKey::Name(name) => q.bind(name),
        };
        let row = q.fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(UserRow::decode).transpose()?)
    }
}

/// A unique key of a user row.
enum UserKey<'a> {
    /// By id.
    Id(UserId),
    /// By exact username.
    Name(&'a str),
}

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, new: NewUser, activity: Option<NewActivity>) -> StoreResult<User> {
        Ok(self.insert_user(new, activity).await?)
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1");
        Ok(self.user_where(sql, UserKey::Id(id)).await?)
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = ?1"
        );
        Ok(self.user_where(sql, UserKey::Name(username)).await?)
    }

    async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>> {
        Ok(self.page_users(query).await?)
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        activity: Option<NewActivity>,
    ) -> StoreResult<User> {
        Ok(self.patch_user(id, patch, activity).await?)
    }

    async fn change_password(
        &self,
        id: UserId,
        new_hash: String,
        keep: Option<SessionRekey>,
        activity: Option<NewActivity>,
    ) -> StoreResult<i64> {
        Ok(self.set_password(id, new_hash, keep, activity).await?)
    }

    async fn upgrade_password_hash(&self, id: UserId, old: &str, new: &str) -> StoreResult<bool> {
        Ok(self.replace_hash(id, old, new).await?)
    }

    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StoreResult<()> {
        Ok(self.stamp_login(id, at).await?)
    }

    async fn delete_user(&self, id: UserId, activity: Option<NewActivity>) -> StoreResult<()> {
        Ok(self.remove_user(id, activity).await?)
    }

    async fn count_active_superusers(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE is_superuser = 1 AND is_active = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(map_db_error)
    }

    async fn sync_directory_user(
        &self,
        id: UserId,
        sync: DirectorySync,
        activity: Option<NewActivity>,
    ) -> StoreResult<Option<User>> {
        Ok(self
            .apply_directory_sync(id, &sync, activity.as_ref())
            .await?)
    }
}
