//! [`TokenStore`] on SQLite, and the instant arithmetic the token and throttle modules share.
//!
//! Policy: a token is live while `revoked_at IS NULL` and its id is above the access
//! revocation mark (`token_revocation_marks`); system-wide revocation only raises the mark, so
//! it is one row write however many tokens exist. The bearer lookup adds expiry, the owner's
//! `is_active` and the family's revocation to that, in one read statement that never writes.

use crate::SqliteStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt};
use portcullis_core::clock::{from_unix_ms, unix_ms};
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{
    AccessTokenRecord, NewAccessToken, NewActivity, NewRefreshToken, Page, RevokeOutcome,
    RotateOutcome, Rotation, StoreError, StoreResult, TokenQuery, TokenStore,
};
use portcullis_store_sql::{
    DbTime, TokenRow, UserRow, empty_page, joined_user_columns, listings, live_token,
    owner_columns, token_columns, token_from,
};
use sqlx::{Row, SqliteConnection};
use std::collections::BTreeMap;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------
// Listing helpers (also used by `apps` and `resources`).
// ---------------------------------------------------------------------------------------------

/// `a + d` in Unix milliseconds, saturating: lock and tolerance arithmetic must never panic
/// or wrap on an absurd configured duration.
pub(crate) fn add_ms(a: i64, d: time::Duration) -> i64 {
    let d = i64::try_from(d.whole_milliseconds()).unwrap_or(if d.is_negative() {
        i64::MIN
    } else {
        i64::MAX
    });
    a.saturating_add(d)
}

/// A caller broke a documented precondition: refuse loudly, change nothing.
pub(crate) fn refused(why: &str) -> Failure {
    Failure::Store(StoreError::Unavailable(format!("sqlite: refused: {why}")))
}

// ---------------------------------------------------------------------------------------------
// Tokens.
// ---------------------------------------------------------------------------------------------

/// The live token `id` read on `conn` (inside the caller's transaction, if any).
async fn live_record(conn: &mut SqliteConnection, id: i64) -> Outcome<Option<AccessTokenRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", ",
        owner_columns!(),
        token_from!(),
        " WHERE t.id = ?1 AND ",
        live_token!()
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(TokenRow::decode).transpose()?)
}

/// The record of a token this transaction just wrote; not finding it means the database
/// misbehaves, which must not read as "absent".
async fn written_record(conn: &mut SqliteConnection, id: i64) -> Outcome<AccessTokenRecord> {
    live_record(conn, id)
        .await?
        .ok_or_else(|| corrupt("access token (not readable after write)"))
}

/// The user and application a new token row belongs to.
#[derive(Debug, Clone, Copy)]
struct Owner {
    /// Owning user.
    user: i64,
    /// Application, `None` for a PAT.
    application: Option<i64>,
}

/// The family a refresh token continues, with the ids copied onto its row.
#[derive(Debug, Clone, Copy)]
struct Grant {
    /// Family id.
    family: i64,
    /// Application.
    application: i64,
    /// Owner.
    user: i64,
}

/// Starts a refresh family. A missing user or application is a foreign-key violation, which
/// maps to `NotFound`.
async fn insert_family(
    conn: &mut SqliteConnection,
    user: i64,
    application: i64,
    now: OffsetDateTime,
) -> Outcome<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO oauth_refresh_families (user_id, application_id, created_at) \
         VALUES (?1, ?2, ?3) RETURNING id",
    )
    .bind(user)
    .bind(application)
    .bind(DbTime(now))
    .fetch_one(&mut *conn)
    .await?)
}

/// Inserts the access-token row of `new` for `owner` with `scope`; returns its id.
async fn insert_access(
    conn: &mut SqliteConnection,
    new: &NewAccessToken,
    owner: Owner,
    family: Option<i64>,
    scope: &str,
) -> Outcome<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO oauth_access_tokens (hash, user_id, application_id, family_id, \
         description, scope, created_at, modified_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING id",
    )
    .bind(new.hash.as_bytes().as_slice())
    .bind(owner.user)
    .bind(owner.application)
    .bind(family)
    .bind(&new.description)
    .bind(scope)
    .bind(DbTime(new.created_at))
    .bind(DbTime(new.expires_at))
    .fetch_one(&mut *conn)
    .await?)
}

/// Inserts a refresh token of `grant`, issued with access token `access_id`.
async fn insert_refresh(
    conn: &mut SqliteConnection,
    refresh: &NewRefreshToken,
    grant: Grant,
    access_id: i64,
    scope: &str,
    created_at: OffsetDateTime,
) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (hash, family_id, application_id, user_id, \
         access_token_id, scope, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(refresh.hash.as_bytes().as_slice())
    .bind(grant.family)
    .bind(grant.application)
    .bind(grant.user)
    .bind(access_id)
    .bind(scope)
    .bind(DbTime(created_at))
    .bind(DbTime(refresh.expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes a whole refresh family: the family row, every refresh token and every access token
/// in it, all stamped `now`.
pub(crate) async fn revoke_family(
    conn: &mut SqliteConnection,
    family: i64,
    now: i64,
) -> Outcome<()> {
    sqlx::query(
        "UPDATE oauth_refresh_families SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = ?1 \
         WHERE family_id = ?2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE oauth_access_tokens SET revoked_at = ?1 \
         WHERE family_id = ?2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The presented refresh token as rotation reads it.
struct PresentedRefresh {
    /// Row id.
    id: i64,
    /// Its family.
    family: i64,
    /// Its client.
    application: i64,
    /// Its owner.
    user: i64,
    /// The access token issued with it, if not yet deleted.
    access_token: Option<i64>,
    /// Its scope (kept when the successor names none).
    scope: String,
    /// Deadline, Unix ms.
    expires_at: i64,
    /// When it was rotated, Unix ms.
    consumed_at: Option<i64>,
    /// Revoked itself, family revoked, below the refresh mark, or owner inactive.
    dead: bool,
}

impl SqliteStore {
    /// See [`TokenStore::create_token`]: the insert, its family, refresh token and activity
    /// entry, inside the caller's transaction (the group commit of `crate::group_commit`
    /// runs it under a savepoint of a shared transaction).
    pub(crate) async fn write_token(
        tx: &mut SqliteConnection,
        new: &NewAccessToken,
        activity: Option<&NewActivity>,
    ) -> Outcome<AccessTokenRecord> {
        let tx = &mut *tx;
        let owner = Owner {
            user: new.user_id.0,
            application: new.application_id.map(|a| a.0),
        };
        let grant = match (&new.refresh, owner.application) {
            (None, _) => None,
            (Some(_), Some(application)) => Some(Grant {
                family: insert_family(tx, owner.user, application, new.created_at).await?,
                application,
                user: owner.user,
            }),
            (Some(_), None) => {
                return Err(refused(
                    "a personal access token cannot carry a refresh token",
                ));
            }
        };
        let id = insert_access(tx, new, owner, grant.map(|g| g.family), &new.scope).await?;
        if let (Some(refresh), Some(grant)) = (&new.refresh, grant) {
            insert_refresh(tx, refresh, grant, id, &new.scope, new.created_at).await?;
        }
        if let (Some(code), Some(grant)) = (&new.from_code, grant) {
            sqlx::query("UPDATE oauth_auth_codes SET family_id = ?1 WHERE hash = ?2")
                .bind(grant.family)
                .bind(code.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(entry) = activity {
            let mut entry = entry.clone();
            entry.object1_id = entry.object1_id.or(Some(id));
            insert_activity(tx, &entry).await?;
        }
        written_record(tx, id).await
    }

    /// See [`TokenStore::token_for_bearer`].
    async fn find_bearer(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Outcome<Option<(AccessTokenRecord, User)>> {
        // One statement: every condition that makes a token unusable is in the WHERE, so
        // there is no window between checks, and nothing is written on the hot path.
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            joined_user_columns!(),
            token_from!(),
            " LEFT JOIN oauth_refresh_families f ON f.id = t.family_id \
             WHERE t.hash = ?1 AND t.expires_at > ?2 AND u.is_active = 1 \
               AND f.revoked_at IS NULL AND ",
            live_token!()
        ))
        .bind(hash.as_bytes().as_slice())
        .bind(DbTime(now))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((TokenRow::decode(&row)?, UserRow::decode(&row)?))),
        }
    }

    /// See [`TokenStore::token_by_id`].
    async fn find_token(&self, id: TokenId) -> Outcome<Option<AccessTokenRecord>> {
        let mut conn = self.pool.acquire().await?;
        live_record(&mut conn, id.0).await
    }

    /// See [`TokenStore::list_tokens`].
    async fn page_tokens(&self, query: &TokenQuery) -> Outcome<Page<AccessTokenRecord>> {
        let Some(listing) = listings::tokens(query) else {
            // A value that cannot fit its column matches no row.
            return Ok(empty_page());
        };
        Ok(listing.fetch(&self.pool, TokenRow::decode).await?)
    }

    /// See [`TokenStore::update_token`].
    async fn patch_token(
        &self,
        id: TokenId,
        description: Option<String>,
        scope: Option<String>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<AccessTokenRecord> {
        let mut tx = self.write().await?;
        // Only a live token can change: a revoked one is already invisible (404) to callers.
        let changed = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET \
               description = COALESCE(?1, description), \
               scope = COALESCE(?2, scope), \
               modified_at = ?3 \
             WHERE t.id = ?4 AND ",
            live_token!()
        ))
        .bind(&description)
        .bind(&scope)
        .bind(DbTime(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_record(&mut tx, id.0).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// See [`TokenStore::delete_token`].
    async fn remove_token(&self, id: TokenId, activity: Option<NewActivity>) -> Outcome<()> {
        let mut tx = self.write().await?;
        // The refresh token goes first and for good: the trait gives no instant to stamp a
        // revocation with, and a deleted refresh token can never be rotated either.
        sqlx::query(concat!(
            "DELETE FROM oauth_refresh_tokens WHERE access_token_id = ( \
               SELECT t.id FROM oauth_access_tokens t WHERE t.id = ?1 AND ",
            live_token!(),
            ")"
        ))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(concat!(
            "DELETE FROM oauth_access_tokens AS t WHERE t.id = ?1 AND ",
            live_token!()
        ))
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

    /// See [`TokenStore::stamp_last_used`].
    async fn stamp_uses(&self, uses: &[(TokenId, OffsetDateTime)]) -> Outcome<()> {
        // Collapse duplicates to the latest use first: fewer statements, same result.
        let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
        for (id, at) in uses {
            let ms = unix_ms(*at);
            let slot = latest.entry(id.0).or_insert(ms);
            *slot = (*slot).max(ms);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (id, at) in &latest {
            // max(), so a delayed batch can never move last_used backwards.
            sqlx::query(
                "UPDATE oauth_access_tokens SET last_used = MAX(COALESCE(last_used, ?1), ?1) \
                 WHERE id = ?2",
            )
            .bind(*at)
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`TokenStore::rotate_refresh`].
    async fn rotate(
        &self,
        rotation: Rotation,
        activity: Option<NewActivity>,
    ) -> Outcome<RotateOutcome> {
        let Some(next_refresh) = rotation.successor.refresh else {
            return Err(refused("a rotation needs a successor refresh token"));
        };
        let now = unix_ms(rotation.now);
        // BEGIN IMMEDIATE: concurrent rotations of one token queue here, and each sees the
        // consumption committed by the one before it.
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT r.id, r.family_id, r.application_id, r.user_id, r.access_token_id, r.scope, \
               r.expires_at, r.consumed_at, f.created_at AS family_created_at, \
               (r.revoked_at IS NOT NULL OR f.revoked_at IS NOT NULL OR u.is_active = 0 \
                OR r.id <= (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')) \
                 AS dead \
             FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             JOIN users u ON u.id = r.user_id \
             WHERE r.hash = ?1",
        )
        .bind(rotation.presented.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RotateOutcome::Unknown);
        };
        let old = PresentedRefresh {
            id: row.try_get("id")?,
            family: row.try_get("family_id")?,
            application: row.try_get("application_id")?,
            user: row.try_get("user_id")?,
            access_token: row.try_get("access_token_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            consumed_at: row.try_get("consumed_at")?,
            dead: row.try_get::<i64, _>("dead")? != 0,
        };
        if old.dead {
            return Ok(RotateOutcome::Unknown);
        }
        if old.application != rotation.client.0 {
            return Ok(RotateOutcome::WrongClient);
        }
        // Expiry first: an expired token, even a spent one, is only expired and revokes
        // nothing (`docs/security.md`, "Refresh rotation", retention).
        if old.expires_at <= now {
            return Ok(RotateOutcome::Expired);
        }
        // The family's absolute cap (`oauth2.refresh_family_max_lifetime`) bounds the successor,
        // and ends the family once passed.
        let mut next_refresh = next_refresh;
        if !rotation.family_max_lifetime.is_zero() {
            let family_created: i64 = row.try_get("family_created_at")?;
            let cap = add_ms(family_created, rotation.family_max_lifetime);
            if cap <= now {
                return Ok(RotateOutcome::Expired);
            }
            next_refresh.expires_at = next_refresh.expires_at.min(from_unix_ms(cap));
        }
        if let Some(consumed) = old.consumed_at {
            if now <= add_ms(consumed, rotation.race_tolerance) {
                return Ok(RotateOutcome::RaceLost);
            }
            // A consumed token replayed later: someone holds a copy. Kill the whole chain,
            // including the legitimate holder's newest tokens, since we cannot tell which of
            // the two presenters is the thief.
            revoke_family(&mut tx, old.family, now).await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Reused {
                user_id: UserId(old.user),
            });
        }
        // Conditional, as a second guard behind the write lock: only one rotation can ever
        // consume a given token.
        let consumed = sqlx::query(
            "UPDATE oauth_refresh_tokens SET consumed_at = ?1 WHERE id = ?2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(old.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed == 0 {
            return Ok(RotateOutcome::RaceLost);
        }
        if let Some(access) = old.access_token {
            sqlx::query("DELETE FROM oauth_access_tokens WHERE id = ?1")
                .bind(access)
                .execute(&mut *tx)
                .await?;
        }
        let successor = rotation.successor;
        let scope = if successor.scope.is_empty() {
            old.scope
        } else {
            successor.scope.clone()
        };
        let owner = Owner {
            user: old.user,
            application: Some(old.application),
        };
        let id = insert_access(&mut tx, &successor, owner, Some(old.family), &scope).await?;
        let grant = Grant {
            family: old.family,
            application: old.application,
            user: old.user,
        };
        insert_refresh(
            &mut tx,
            &next_refresh,
            grant,
            id,
            &scope,
            successor.created_at,
        )
        .await?;
        if let Some(mut entry) = activity {
            entry.object1_id = entry.object1_id.or(Some(id));
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_record(&mut tx, id).await?;
        tx.commit().await?;
        Ok(RotateOutcome::Rotated(Box::new(record)))
    }

    /// See [`TokenStore::refresh_token_owner`].
    async fn find_refresh_owner(
        &self,
        hash: &TokenHash,
    ) -> Outcome<Option<(ApplicationId, UserId, String)>> {
        // "Unrevoked" covers every way a refresh token is revoked: its own row, its family,
        // and the system-wide mark. Expiry is the caller's (and rotation's) business.
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT r.application_id, r.user_id, r.scope FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             WHERE r.hash = ?1 AND r.consumed_at IS NULL AND r.revoked_at IS NULL \
               AND f.revoked_at IS NULL \
               AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(application, user, scope)| (ApplicationId(application), UserId(user), scope)))
    }

    /// See [`TokenStore::revoke_token_by_hash`].
    async fn revoke_hash(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<RevokeOutcome> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        let access: Option<(i64, Option<i64>, i64)> = sqlx::query_as(concat!(
            "SELECT t.id, t.application_id, t.user_id FROM oauth_access_tokens t \
             WHERE t.hash = ?1 AND ",
            live_token!()
        ))
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id, application, user)) = access {
            // A PAT has no client, so no client may revoke it through RFC 7009.
            if application != Some(client.0) {
                return Ok(RevokeOutcome::WrongClient);
            }
            // The refresh token issued with it stays usable: revoking an access token ends
            // only that token (RFC 7009 §2.1 leaves the grant's fate to the server).
            sqlx::query("UPDATE oauth_access_tokens SET revoked_at = ?1 WHERE id = ?2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some(entry) = activity {
                let mut entry = entry.clone();
                entry.object1_id = entry.object1_id.or(Some(id));
                insert_activity(&mut tx, &entry).await?;
            }
            tx.commit().await?;
            return Ok(RevokeOutcome::Revoked {
                user_id: UserId(user),
            });
        }
        let refresh: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT r.application_id, r.family_id, r.user_id FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             WHERE r.hash = ?1 AND r.revoked_at IS NULL AND f.revoked_at IS NULL \
               AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((application, family, user)) = refresh else {
            return Ok(RevokeOutcome::Unknown);
        };
        if application != client.0 {
            return Ok(RevokeOutcome::WrongClient);
        }
        // Revoking a refresh token revokes the grant: the whole family and its access tokens.
        revoke_family(&mut tx, family, now).await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(RevokeOutcome::Revoked {
            user_id: UserId(user),
        })
    }

    /// See [`TokenStore::revoke_user_tokens`].
    async fn revoke_for_user(
        &self,
        user: UserId,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<u64> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        let revoked = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET revoked_at = ?1 WHERE t.user_id = ?2 AND ",
            live_token!()
        ))
        .bind(now)
        .bind(user.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if include_refresh {
            sqlx::query(
                "UPDATE oauth_refresh_tokens SET revoked_at = ?1 \
                 WHERE user_id = ?2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE oauth_refresh_families SET revoked_at = ?1 \
                 WHERE user_id = ?2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry.with_revoked(revoked)).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    /// See [`TokenStore::revoke_all_tokens`].
    async fn revoke_everything(
        &self,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<u64> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        let covered: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM oauth_access_tokens t WHERE ",
            live_token!()
        ))
        .fetch_one(&mut *tx)
        .await?;
        // Raising the mark to the highest id issued so far kills every existing token in one
        // row write; ids only grow (AUTOINCREMENT), so tokens issued later stay valid. MAX
        // with the old mark: the mark never moves down, even if the newest rows were deleted.
        sqlx::query(
            "UPDATE token_revocation_marks \
             SET max_id = MAX(max_id, (SELECT IFNULL(MAX(id), 0) FROM oauth_access_tokens)), \
                 marked_at = ?1 \
             WHERE kind = 'access'",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if include_refresh {
            sqlx::query(
                "UPDATE token_revocation_marks \
                 SET max_id = MAX(max_id, (SELECT IFNULL(MAX(id), 0) FROM oauth_refresh_tokens)), \
                     marked_at = ?1 \
                 WHERE kind = 'refresh'",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let covered = u64::try_from(covered).unwrap_or(0);
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry.with_revoked(covered)).await?;
        }
        tx.commit().await?;
        Ok(covered)
    }

    /// See [`TokenStore::revoke_external_users_tokens`].
    async fn revoke_external(&self, now: OffsetDateTime) -> Outcome<u64> {
        let mut tx = self.write().await?;
        let revoked = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET revoked_at = ?1 \
             WHERE t.user_id IN (SELECT id FROM users WHERE external_account IS NOT NULL) AND ",
            live_token!()
        ))
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    /// See [`TokenStore::purge_expired_tokens`].
    async fn purge(&self, now: OffsetDateTime) -> Outcome<u64> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        // Tokens below a revocation mark are revoked too, so they go as well.
        let access = sqlx::query(
            "DELETE FROM oauth_access_tokens \
             WHERE expires_at <= ?1 OR revoked_at IS NOT NULL \
                OR id <= (SELECT max_id FROM token_revocation_marks WHERE kind = 'access')",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Consumed but unexpired refresh tokens stay: they are what detects reuse.
        let refresh = sqlx::query(concat!(
            "DELETE FROM oauth_refresh_tokens \
             WHERE expires_at <= ?1 OR revoked_at IS NOT NULL OR id <= ",
            "(SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')"
        ))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let codes = sqlx::query(
            "DELETE FROM oauth_auth_codes WHERE used_at IS NOT NULL OR expires_at <= ?1",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Families with nothing left in them are bookkeeping, not tokens: removed so the table
        // stays bounded, not counted.
        sqlx::query(
            "DELETE FROM oauth_refresh_families AS f \
             WHERE NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.family_id = f.id) \
               AND NOT EXISTS (SELECT 1 FROM oauth_access_tokens t WHERE t.family_id = f.id)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(access.saturating_add(refresh).saturating_add(codes))
    }
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(
        &self,
        new: NewAccessToken,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord> {
        // Group commit: concurrent creations share one durable commit (`crate::group_commit`).
        self.create_token_batched(new, activity).await
    }

    async fn token_for_bearer(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(AccessTokenRecord, User)>> {
        Ok(self.find_bearer(hash, now).await?)
    }

    async fn token_by_id(&self, id: TokenId) -> StoreResult<Option<AccessTokenRecord>> {
        Ok(self.find_token(id).await?)
    }

    async fn list_tokens(&self, query: &TokenQuery) -> StoreResult<Page<AccessTokenRecord>> {
        Ok(self.page_tokens(query).await?)
    }

    async fn update_token(
        &self,
        id: TokenId,
        description: Option<String>,
        scope: Option<String>,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord> {
        Ok(self
            .patch_token(id, description, scope, now, activity)
            .await?)
    }

    async fn delete_token(&self, id: TokenId, activity: Option<NewActivity>) -> StoreResult<()> {
        Ok(self.remove_token(id, activity).await?)
    }

    async fn stamp_last_used(&self, uses: &[(TokenId, OffsetDateTime)]) -> StoreResult<()> {
        Ok(self.stamp_uses(uses).await?)
    }

    async fn rotate_refresh(
        &self,
        rotation: Rotation,
        activity: Option<NewActivity>,
    ) -> StoreResult<RotateOutcome> {
        Ok(self.rotate(rotation, activity).await?)
    }

    async fn refresh_token_owner(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(ApplicationId, UserId, String)>> {
        Ok(self.find_refresh_owner(hash).await?)
    }

    async fn revoke_token_by_hash(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<RevokeOutcome> {
        Ok(self
            .revoke_hash(hash, client, now, activity.as_ref())
            .await?)
    }

    async fn revoke_user_tokens(
        &self,
        user: UserId,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<u64> {
        Ok(self
            .revoke_for_user(user, include_refresh, now, activity)
            .await?)
    }

    async fn revoke_all_tokens(
        &self,
        include_refresh: bool,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<u64> {
        Ok(self
            .revoke_everything(include_refresh, now, activity)
            .await?)
    }

    async fn revoke_external_users_tokens(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(self.revoke_external(now).await?)
    }

    async fn count_external_users_tokens(&self) -> StoreResult<i64> {
        sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM oauth_access_tokens t \
             WHERE t.user_id IN (SELECT id FROM users WHERE external_account IS NOT NULL) AND ",
            live_token!()
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(crate::error::map_db_error)
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(self.purge(now).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_add_without_overflow() {
        assert_eq!(add_ms(1_000, time::Duration::seconds(2)), 3_000);
        assert_eq!(add_ms(i64::MAX - 1, time::Duration::seconds(2)), i64::MAX);
        assert_eq!(add_ms(5, time::Duration::MAX), i64::MAX);
    }
}
