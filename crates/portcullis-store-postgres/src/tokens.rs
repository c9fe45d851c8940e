//! [`TokenStore`] on PostgreSQL, and the helpers the token, application, resource and throttle
//! modules share (exact-match listings, hash decoding, saturating instants, unique-constraint
//! names).
//!
//! Policy: a token is live while `revoked_at IS NULL` and its id is above the access
//! revocation mark (`token_revocation_marks`); system-wide revocation only raises the mark, so
//! it is one row write however many tokens exist. The bearer lookup adds expiry, the owner's
//! `is_active` and the family's revocation to that, in one read statement that never writes.
//! Rotation locks the presented refresh token's row (`FOR UPDATE`), so concurrent rotations of
//! one token, on any number of nodes, queue on that lock and each sees the consumption the one
//! before it committed.

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt, retry};
use crate::users::user_from_row;
use portcullis_core::clock::round_ms;
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{
    AccessTokenRecord, NewAccessToken, NewActivity, NewRefreshToken, Page, RevokeOutcome,
    RotateOutcome, Rotation, StoreError, StoreResult, TokenField, TokenKindFilter, TokenQuery,
    TokenStore,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by `apps`, `resources` and `throttle`).
// ---------------------------------------------------------------------------------------------

/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

/// The field each unique constraint of `0002_oauth.sql` protects. The crate-wide mapping only
/// knows the constraints of `0001`; without this a duplicate name would surface as
/// `Conflict("inventories_name_key")` instead of `Conflict("name")`.
fn constraint_field(constraint: &str) -> Option<&'static str> {
    Some(match constraint {
        "oauth_access_tokens_hash_key"
        | "oauth_refresh_tokens_hash_key"
        | "oauth_auth_codes_pkey" => "hash",
        "oauth_applications_client_id_key" => "client_id",
        "oauth_applications_name_org_key"
        | "oauth_applications_name_no_org_key"
        | "inventories_name_key"
        | "hosts_inventory_name_key" => "name",
        _ => return None,
    })
}

/// A driver error as a [`Failure`], with a unique violation of one of this migration's
/// constraints already decided as `Conflict(<field>)`; everything else goes on to the
/// crate's mapping (and retry) unchanged.
pub(crate) fn db_failure(e: sqlx::Error) -> Failure {
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some(UNIQUE_VIOLATION)
        && let Some(field) = db.constraint().and_then(constraint_field)
    {
        return Failure::Store(StoreError::Conflict(field.to_owned()));
    }
    Failure::Db(e)
}

/// How a column's query-string filter values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// Integer, decimal text.
    Int,
    /// A reference to another object (AWX's related fields): an id, or `null`/`none` (any
    /// case) for "no object", as AWX's filter backend reads them.
    Related,
    /// Text, matched exactly as given.
    Text,
    /// Boolean in Django's spellings.
    Bool,
    /// Instant in RFC 3339, compared at the stored millisecond precision.
    Instant,
}

/// A filter value parsed for its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Integer (ids).
    Int(i64),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// Instant, whole milliseconds.
    Instant(OffsetDateTime),
    /// SQL NULL: matched with `IS NULL`.
    Null,
}

impl ColumnKind {
    /// Parses `value` for this kind; `None` when it cannot match any row, so the listing is
    /// empty rather than an error.
    pub(crate) fn parse(self, value: &str) -> Option<Cell> {
        match self {
            Self::Int => value.parse().ok().map(Cell::Int),
            Self::Related => {
                if value.eq_ignore_ascii_case("null") || value.eq_ignore_ascii_case("none") {
                    Some(Cell::Null)
                } else {
                    value.parse().ok().map(Cell::Int)
                }
            }
            Self::Text => Some(Cell::Text(value.to_owned())),
            Self::Bool => match value {
                "true" | "True" | "1" => Some(Cell::Bool(true)),
                "false" | "False" | "0" => Some(Cell::Bool(false)),
                _ => None,
            },
            // Stored instants are whole milliseconds; compare at the same precision.
            Self::Instant => {
                OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| Cell::Instant(round_ms(t)))
            }
        }
    }
}

/// Appends ` AND <column> = $n` (or `IS NULL`). `column` is always a fixed identifier from a
/// backend's match table, never caller text; the value is bound.
pub(crate) fn push_match(qb: &mut QueryBuilder<Postgres>, column: &'static str, cell: &Cell) {
    qb.push(" AND ").push(column);
    match cell {
        Cell::Null => {
            qb.push(" IS NULL");
        }
        Cell::Int(v) => {
            qb.push(" = ").push_bind(*v);
        }
        Cell::Text(v) => {
            qb.push(" = ").push_bind(v.clone());
        }
        Cell::Bool(v) => {
            qb.push(" = ").push_bind(*v);
        }
        Cell::Instant(v) => {
            qb.push(" = ").push_bind(*v);
        }
    }
}

/// Appends `ORDER BY <column> [DESC], <id> ASC`, `LIMIT` and `OFFSET`. A `nullable` column
/// spells out PostgreSQL's default NULL placement (last ascending, first descending), which
/// the SQLite backend copies, so both backends page identically.
pub(crate) fn push_order_and_page(
    qb: &mut QueryBuilder<Postgres>,
    order: Option<(&'static str, bool, bool)>,
    id_column: &'static str,
    limit: i64,
    offset: i64,
) {
    qb.push(" ORDER BY ");
    if let Some((column, descending, nullable)) = order {
        qb.push(column)
            .push(if descending { " DESC" } else { " ASC" });
        if nullable {
            qb.push(if descending {
                " NULLS FIRST"
            } else {
                " NULLS LAST"
            });
        }
        if column != id_column {
            qb.push(", ");
        }
    }
    if order.is_none_or(|(column, _, _)| column != id_column) {
        qb.push(id_column).push(" ASC");
    }
    qb.push(" LIMIT ")
        .push_bind(limit.max(0))
        .push(" OFFSET ")
        .push_bind(offset.max(0));
}

/// An empty page: what a filter that cannot match produces.
pub(crate) fn empty_page<T>() -> Page<T> {
    Page {
        total: 0,
        items: Vec::new(),
    }
}

/// A stored 32-byte hash; anything else is a corrupt row, never "absent".
pub(crate) fn hash_from_bytes(bytes: Vec<u8>, what: &str) -> Outcome<TokenHash> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| corrupt(what))?;
    Ok(TokenHash::from_bytes(bytes))
}

/// `t + d`, saturating at the ends of the representable range: lock and tolerance arithmetic
/// on an absurd configured duration must neither panic nor wrap into the past.
pub(crate) fn add_saturating(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    })
}

/// A caller broke a documented precondition: refuse loudly, change nothing.
fn refused(why: &str) -> Failure {
    Failure::Store(StoreError::Unavailable(format!("postgres: refused: {why}")))
}

// ---------------------------------------------------------------------------------------------
// Tokens.
// ---------------------------------------------------------------------------------------------

/// The token half of a token row, prefixed `t_` (and the application name as `a_name`), for
/// `concat!`. Needs `oauth_access_tokens t` and `oauth_applications a` in the `FROM`.
macro_rules! token_columns {
    () => {
        "t.id AS t_id, t.user_id AS t_user_id, t.application_id AS t_application_id, \
         a.name AS a_name, t.description AS t_description, t.scope AS t_scope, \
         t.created_at AS t_created_at, t.modified_at AS t_modified_at, \
         t.expires_at AS t_expires_at, t.last_used AS t_last_used, \
         EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.access_token_id = t.id \
           AND r.revoked_at IS NULL \
           AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')) \
           AS t_has_refresh"
    };
}

/// The owner's display fields, under the names `record_from_row` reads (the bearer lookup
/// selects the whole user under the same names instead).
macro_rules! owner_columns {
    () => {
        "u.username AS username, u.first_name AS first_name, u.last_name AS last_name"
    };
}

/// Every user column under its own name, for `user_from_row` on a joined row.
macro_rules! joined_user_columns {
    () => {
        "u.id AS id, u.username AS username, u.email AS email, \
         u.first_name AS first_name, u.last_name AS last_name, \
         u.password_hash AS password_hash, u.is_superuser AS is_superuser, \
         u.is_system_auditor AS is_system_auditor, u.is_active AS is_active, \
         u.external_account AS external_account, u.ldap_dn AS ldap_dn, \
         u.auth_generation AS auth_generation, u.created_at AS created_at, \
         u.last_login AS last_login"
    };
}

/// The joins every token read uses.
macro_rules! token_from {
    () => {
        " FROM oauth_access_tokens t JOIN users u ON u.id = t.user_id \
          LEFT JOIN oauth_applications a ON a.id = t.application_id"
    };
}

/// "Live": not revoked one by one, and created after the last system-wide revocation.
macro_rules! live_token {
    () => {
        "t.revoked_at IS NULL \
         AND t.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'access')"
    };
}

/// "Usable" refresh token `r` of family `f`: not revoked itself, nor through its family, nor
/// by the system-wide refresh mark.
macro_rules! live_refresh {
    () => {
        "r.revoked_at IS NULL AND f.revoked_at IS NULL \
         AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')"
    };
}

/// Decodes a token record from a row holding [`token_columns!`] and the owner's names.
fn record_from_row(row: &PgRow) -> Outcome<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        id: TokenId(row.try_get("t_id")?),
        user_id: UserId(row.try_get("t_user_id")?),
        username: row.try_get("username")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        application_id: row
            .try_get::<Option<i64>, _>("t_application_id")?
            .map(ApplicationId),
        application_name: row.try_get("a_name")?,
        description: row.try_get("t_description")?,
        scope: row.try_get("t_scope")?,
        created_at: row.try_get("t_created_at")?,
        modified_at: row.try_get("t_modified_at")?,
        expires_at: row.try_get("t_expires_at")?,
        has_refresh: row.try_get("t_has_refresh")?,
        last_used: row.try_get("t_last_used")?,
    })
}

/// The live token `id` read on `conn` (inside the caller's transaction, if any).
async fn live_record(conn: &mut PgConnection, id: i64) -> Outcome<Option<AccessTokenRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", ",
        owner_columns!(),
        token_from!(),
        " WHERE t.id = $1 AND ",
        live_token!()
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(record_from_row).transpose()
}

/// The record of a token this transaction just wrote; not finding it means the database
/// misbehaves, which must not read as "absent".
async fn written_record(conn: &mut PgConnection, id: i64) -> Outcome<AccessTokenRecord> {
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
/// the crate's mapping turns into `NotFound`.
async fn insert_family(
    conn: &mut PgConnection,
    user: i64,
    application: i64,
    now: OffsetDateTime,
) -> Outcome<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO oauth_refresh_families (user_id, application_id, created_at) \
         VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(user)
    .bind(application)
    .bind(round_ms(now))
    .fetch_one(&mut *conn)
    .await?)
}

/// Inserts the access-token row of `new` for `owner` with `scope`; returns its id.
async fn insert_access(
    conn: &mut PgConnection,
    new: &NewAccessToken,
    owner: Owner,
    family: Option<i64>,
    scope: &str,
) -> Outcome<i64> {
    sqlx::query_scalar(
        "INSERT INTO oauth_access_tokens (hash, user_id, application_id, family_id, \
         description, scope, created_at, modified_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
    )
    .bind(new.hash.as_bytes().as_slice())
    .bind(owner.user)
    .bind(owner.application)
    .bind(family)
    .bind(&new.description)
    .bind(scope)
    .bind(round_ms(new.created_at))
    .bind(round_ms(new.expires_at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_failure)
}

/// Inserts a refresh token of `grant`, issued with access token `access_id`.
async fn insert_refresh(
    conn: &mut PgConnection,
    refresh: &NewRefreshToken,
    grant: Grant,
    access_id: i64,
    scope: &str,
    created_at: OffsetDateTime,
) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (hash, family_id, application_id, user_id, \
         access_token_id, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(refresh.hash.as_bytes().as_slice())
    .bind(grant.family)
    .bind(grant.application)
    .bind(grant.user)
    .bind(access_id)
    .bind(scope)
    .bind(round_ms(created_at))
    .bind(round_ms(refresh.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(db_failure)?;
    Ok(())
}

/// Revokes a whole refresh family: the family row, every refresh token and every access token
/// in it, all stamped `now`. The family row goes first: it alone already makes every member
/// dead for every reader, including a member a concurrent rotation is inserting right now.
pub(crate) async fn revoke_family(
    conn: &mut PgConnection,
    family: i64,
    now: OffsetDateTime,
) -> Outcome<()> {
    sqlx::query(
        "UPDATE oauth_refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = $1 \
         WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE oauth_access_tokens SET revoked_at = $1 \
         WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Fixed column, filter kind and nullability of each token field (never caller text in SQL).
fn token_column(field: TokenField) -> (&'static str, ColumnKind, bool) {
    match field {
        TokenField::Id => ("t.id", ColumnKind::Int, false),
        TokenField::Description => ("t.description", ColumnKind::Text, false),
        TokenField::User => ("t.user_id", ColumnKind::Related, false),
        TokenField::Application => ("t.application_id", ColumnKind::Related, true),
        TokenField::Expires => ("t.expires_at", ColumnKind::Instant, false),
        TokenField::Scope => ("t.scope", ColumnKind::Text, false),
        TokenField::Created => ("t.created_at", ColumnKind::Instant, false),
        TokenField::Modified => ("t.modified_at", ColumnKind::Instant, false),
    }
}

/// Appends the `WHERE` clause of a token listing (filters already parsed).
fn push_token_where(
    qb: &mut QueryBuilder<Postgres>,
    query: &TokenQuery,
    filters: &[(&'static str, Cell)],
) {
    qb.push(concat!(" WHERE ", live_token!()));
    if let Some(user) = query.user {
        qb.push(" AND t.user_id = ").push_bind(user.0);
    }
    if let Some(app) = query.application {
        qb.push(" AND t.application_id = ").push_bind(app.0);
    }
    match query.kind {
        TokenKindFilter::All => {}
        TokenKindFilter::Personal => {
            qb.push(" AND t.application_id IS NULL");
        }
        TokenKindFilter::Application => {
            qb.push(" AND t.application_id IS NOT NULL");
        }
    }
    for (column, cell) in filters {
        push_match(qb, column, cell);
    }
}

/// The presented refresh token as rotation reads it, under its row lock.
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
    /// Deadline.
    expires_at: OffsetDateTime,
    /// When it was rotated.
    consumed_at: Option<OffsetDateTime>,
    /// Revoked itself, family revoked, below the refresh mark, or owner inactive.
    dead: bool,
}

impl PresentedRefresh {
    /// Decodes the row of the rotation's locking read.
    fn from_row(row: &PgRow) -> Outcome<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            family: row.try_get("family_id")?,
            application: row.try_get("application_id")?,
            user: row.try_get("user_id")?,
            access_token: row.try_get("access_token_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            consumed_at: row.try_get("consumed_at")?,
            dead: row.try_get("dead")?,
        })
    }
}

impl PostgresStore {
    /// One attempt of [`TokenStore::create_token`].
    async fn insert_token(
        &self,
        new: &NewAccessToken,
        activity: Option<&NewActivity>,
    ) -> Outcome<AccessTokenRecord> {
        let owner = Owner {
            user: new.user_id.0,
            application: new.application_id.map(|a| a.0),
        };
        if new.refresh.is_some() && owner.application.is_none() {
            return Err(refused(
                "a personal access token cannot carry a refresh token",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let grant = match (new.refresh, owner.application) {
            (Some(_), Some(application)) => Some(Grant {
                family: insert_family(&mut tx, owner.user, application, new.created_at).await?,
                application,
                user: owner.user,
            }),
            _ => None,
        };
        let id = insert_access(&mut tx, new, owner, grant.map(|g| g.family), &new.scope).await?;
        if let (Some(refresh), Some(grant)) = (&new.refresh, grant) {
            insert_refresh(&mut tx, refresh, grant, id, &new.scope, new.created_at).await?;
        }
        if let (Some(code), Some(grant)) = (&new.from_code, grant) {
            sqlx::query("UPDATE oauth_auth_codes SET family_id = $1 WHERE hash = $2")
                .bind(grant.family)
                .bind(code.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(entry) = activity {
            let mut entry = entry.clone();
            entry.object1_id = entry.object1_id.or(Some(id));
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_record(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// See [`TokenStore::token_for_bearer`].
    async fn find_bearer(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Outcome<Option<(AccessTokenRecord, User)>> {
        // One statement: every condition that makes a token unusable is in the WHERE, so
        // there is no window between checks, and nothing is written on the hot path. A PAT
        // has no family; the LEFT JOIN then yields NULL and passes the family test.
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            joined_user_columns!(),
            token_from!(),
            " LEFT JOIN oauth_refresh_families f ON f.id = t.family_id \
             WHERE t.hash = $1 AND t.expires_at > $2 AND u.is_active \
               AND f.revoked_at IS NULL AND ",
            live_token!()
        ))
        .bind(hash.as_bytes().as_slice())
        .bind(round_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((record_from_row(&row)?, user_from_row(&row)?))),
        }
    }

    /// See [`TokenStore::token_by_id`].
    async fn find_token(&self, id: TokenId) -> Outcome<Option<AccessTokenRecord>> {
        let mut conn = self.pool.acquire().await?;
        live_record(&mut conn, id.0).await
    }

    /// See [`TokenStore::list_tokens`].
    async fn page_tokens(&self, query: &TokenQuery) -> Outcome<Page<AccessTokenRecord>> {
        let mut filters = Vec::with_capacity(query.filters.len());
        for (field, value) in &query.filters {
            let (column, kind, _) = token_column(*field);
            match kind.parse(value) {
                Some(cell) => filters.push((column, cell)),
                // A value that cannot fit the column matches no row.
                None => return Ok(empty_page()),
            }
        }

        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM oauth_access_tokens t");
        push_token_where(&mut count, query, &filters);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select = QueryBuilder::<Postgres>::new(concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            owner_columns!(),
            token_from!()
        ));
        push_token_where(&mut select, query, &filters);
        let order = query.order.map(|(field, descending)| {
            let (column, _, nullable) = token_column(field);
            (column, descending, nullable)
        });
        push_order_and_page(&mut select, order, "t.id", query.limit, query.offset);
        let rows = select.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(record_from_row)
            .collect::<Outcome<Vec<_>>>()?;
        Ok(Page { total, items })
    }

    /// One attempt of [`TokenStore::update_token`].
    async fn patch_token(
        &self,
        id: TokenId,
        description: Option<&str>,
        scope: Option<&str>,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<AccessTokenRecord> {
        let mut tx = self.pool.begin().await?;
        // Only a live token can change: a revoked one is already invisible (404) to callers.
        let changed = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET \
               description = COALESCE($1, t.description), \
               scope = COALESCE($2, t.scope), \
               modified_at = $3 \
             WHERE t.id = $4 AND ",
            live_token!()
        ))
        .bind(description)
        .bind(scope)
        .bind(round_ms(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        let record = written_record(&mut tx, id.0).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// One attempt of [`TokenStore::delete_token`].
    async fn remove_token(&self, id: TokenId, activity: Option<&NewActivity>) -> Outcome<()> {
        let mut tx = self.pool.begin().await?;
        // The refresh token goes first and for good: deleting the access token would clear
        // the link (ON DELETE SET NULL) that finds it, and the trait gives no instant to stamp
        // a revocation with. A deleted refresh token can never be rotated either.
        sqlx::query(concat!(
            "DELETE FROM oauth_refresh_tokens WHERE access_token_id = ( \
               SELECT t.id FROM oauth_access_tokens t WHERE t.id = $1 AND ",
            live_token!(),
            ")"
        ))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(concat!(
            "DELETE FROM oauth_access_tokens AS t WHERE t.id = $1 AND ",
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
            insert_activity(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`TokenStore::stamp_last_used`], with duplicates already collapsed.
    async fn stamp_uses(&self, ids: &[i64], uses: &[OffsetDateTime]) -> Outcome<()> {
        // One statement for the whole batch: one round trip, one transaction. GREATEST
        // ignores a NULL last_used and never moves a stamp backwards, so a delayed batch from
        // another node cannot undo a newer one. Ids that no longer exist simply match nothing.
        sqlx::query(
            "UPDATE oauth_access_tokens AS t SET last_used = GREATEST(t.last_used, s.used) \
             FROM UNNEST($1::bigint[], $2::timestamptz[]) AS s(id, used) \
             WHERE t.id = s.id",
        )
        .bind(ids)
        .bind(uses)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One attempt of [`TokenStore::rotate_refresh`].
    async fn rotate(
        &self,
        rotation: &Rotation,
        activity: Option<&NewActivity>,
    ) -> Outcome<RotateOutcome> {
        let Some(next_refresh) = rotation.successor.refresh else {
            return Err(refused("a rotation needs a successor refresh token"));
        };
        let now = round_ms(rotation.now);
        let mut tx = self.pool.begin().await?;
        // The row lock serialises every rotation of this token across nodes: a concurrent one
        // waits here, and at READ COMMITTED then reads the row as the winner committed it
        // (consumed), so exactly one rotation ever gets past the consumption check.
        let row = sqlx::query(
            "SELECT r.id, r.family_id, r.application_id, r.user_id, r.access_token_id, r.scope, \
               r.expires_at, r.consumed_at, f.created_at AS family_created_at, \
               (r.revoked_at IS NOT NULL OR f.revoked_at IS NOT NULL OR NOT u.is_active \
                OR r.id <= (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')) \
                 AS dead \
             FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             JOIN users u ON u.id = r.user_id \
             WHERE r.hash = $1 FOR UPDATE OF r",
        )
        .bind(rotation.presented.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RotateOutcome::Unknown);
        };
        let old = PresentedRefresh::from_row(&row)?;
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
            let family_created: OffsetDateTime = row.try_get("family_created_at")?;
            let cap = add_saturating(family_created, rotation.family_max_lifetime);
            if cap <= now {
                return Ok(RotateOutcome::Expired);
            }
            next_refresh.expires_at = next_refresh.expires_at.min(cap);
        }
        if let Some(consumed) = old.consumed_at {
            if now <= add_saturating(consumed, rotation.race_tolerance) {
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
        // Conditional, as a second guard behind the row lock: only one rotation can ever
        // consume a given token.
        let consumed = sqlx::query(
            "UPDATE oauth_refresh_tokens SET consumed_at = $1 \
             WHERE id = $2 AND consumed_at IS NULL",
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
            sqlx::query("DELETE FROM oauth_access_tokens WHERE id = $1")
                .bind(access)
                .execute(&mut *tx)
                .await?;
        }
        let successor = &rotation.successor;
        let scope = if successor.scope.is_empty() {
            old.scope.as_str()
        } else {
            successor.scope.as_str()
        };
        // Owner and client come from the presented token, never from the successor.
        let owner = Owner {
            user: old.user,
            application: Some(old.application),
        };
        let id = insert_access(&mut tx, successor, owner, Some(old.family), scope).await?;
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
            scope,
            successor.created_at,
        )
        .await?;
        if let Some(entry) = activity {
            let mut entry = entry.clone();
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
        let row: Option<(i64, i64, String)> = sqlx::query_as(concat!(
            "SELECT r.application_id, r.user_id, r.scope FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             WHERE r.hash = $1 AND r.consumed_at IS NULL AND ",
            live_refresh!()
        ))
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(application, user, scope)| (ApplicationId(application), UserId(user), scope)))
    }

    /// One attempt of [`TokenStore::revoke_token_by_hash`].
    async fn revoke_hash(
        &self,
        hash: &TokenHash,
        client: ApplicationId,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<RevokeOutcome> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        let access: Option<(i64, Option<i64>, i64)> = sqlx::query_as(concat!(
            "SELECT t.id, t.application_id, t.user_id FROM oauth_access_tokens t \
             WHERE t.hash = $1 AND ",
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
            sqlx::query(
                "UPDATE oauth_access_tokens SET revoked_at = $1 \
                 WHERE id = $2 AND revoked_at IS NULL",
            )
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
        let refresh: Option<(i64, i64, i64)> = sqlx::query_as(concat!(
            "SELECT r.application_id, r.family_id, r.user_id FROM oauth_refresh_tokens r \
             JOIN oauth_refresh_families f ON f.id = r.family_id \
             WHERE r.hash = $1 AND ",
            live_refresh!()
        ))
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

    /// One attempt of [`TokenStore::revoke_user_tokens`].
    async fn revoke_for_user(
        &self,
        user: UserId,
        include_refresh: bool,
        now: OffsetDateTime,
    ) -> Outcome<u64> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        if include_refresh {
            // Families first (see `revoke_family`): a rotation racing this commit inserts its
            // successor into a family that is already dead for every reader.
            sqlx::query(
                "UPDATE oauth_refresh_families SET revoked_at = $1 \
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE oauth_refresh_tokens SET revoked_at = $1 \
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        }
        let revoked = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET revoked_at = $1 WHERE t.user_id = $2 AND ",
            live_token!()
        ))
        .bind(now)
        .bind(user.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    /// One attempt of [`TokenStore::revoke_all_tokens`].
    async fn revoke_everything(&self, include_refresh: bool, now: OffsetDateTime) -> Outcome<u64> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        // Locking the mark row serialises system-wide revocations, so the count below is of
        // exactly the tokens this one newly covers.
        let old: i64 = sqlx::query_scalar(
            "SELECT max_id FROM token_revocation_marks WHERE kind = 'access' FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        // Raising the mark to the highest id issued so far kills every existing token in one
        // row write; identity ids only grow, so tokens issued later stay valid. GREATEST with
        // the old mark: the mark never moves down, even if the newest rows were deleted.
        let new: i64 = sqlx::query_scalar(
            "UPDATE token_revocation_marks \
             SET max_id = GREATEST(max_id, (SELECT COALESCE(MAX(id), 0) FROM oauth_access_tokens)), \
                 marked_at = $1 \
             WHERE kind = 'access' RETURNING max_id",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let covered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM oauth_access_tokens \
             WHERE revoked_at IS NULL AND id > $1 AND id <= $2",
        )
        .bind(old)
        .bind(new)
        .fetch_one(&mut *tx)
        .await?;
        if include_refresh {
            sqlx::query(
                "UPDATE token_revocation_marks \
                 SET max_id = GREATEST(max_id, \
                       (SELECT COALESCE(MAX(id), 0) FROM oauth_refresh_tokens)), \
                     marked_at = $1 \
                 WHERE kind = 'refresh'",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(covered).unwrap_or(0))
    }

    /// One attempt of [`TokenStore::revoke_external_users_tokens`].
    async fn revoke_external(&self, now: OffsetDateTime) -> Outcome<u64> {
        let revoked = sqlx::query(concat!(
            "UPDATE oauth_access_tokens AS t SET revoked_at = $1 \
             WHERE t.user_id IN (SELECT id FROM users WHERE external_account IS NOT NULL) AND ",
            live_token!()
        ))
        .bind(round_ms(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(revoked)
    }

    /// One attempt of [`TokenStore::purge_expired_tokens`].
    async fn purge(&self, now: OffsetDateTime) -> Outcome<u64> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        // Tokens below a revocation mark, or in a revoked family, are revoked too, so they go
        // as well.
        let access = sqlx::query(
            "DELETE FROM oauth_access_tokens AS t \
             WHERE t.expires_at <= $1 OR t.revoked_at IS NOT NULL \
                OR t.id <= (SELECT max_id FROM token_revocation_marks WHERE kind = 'access') \
                OR EXISTS (SELECT 1 FROM oauth_refresh_families f \
                           WHERE f.id = t.family_id AND f.revoked_at IS NOT NULL)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Consumed but unexpired refresh tokens stay: they are what detects reuse.
        let refresh = sqlx::query(
            "DELETE FROM oauth_refresh_tokens AS r \
             WHERE r.expires_at <= $1 OR r.revoked_at IS NOT NULL \
                OR r.id <= (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh') \
                OR EXISTS (SELECT 1 FROM oauth_refresh_families f \
                           WHERE f.id = r.family_id AND f.revoked_at IS NOT NULL)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let codes = sqlx::query(
            "DELETE FROM oauth_auth_codes WHERE used_at IS NOT NULL OR expires_at <= $1",
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
impl TokenStore for PostgresStore {
    async fn create_token(
        &self,
        new: NewAccessToken,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord> {
        let (new, activity) = (&new, activity.as_ref());
        retry(move || self.insert_token(new, activity)).await
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
        let (description, scope) = (description.as_deref(), scope.as_deref());
        let activity = activity.as_ref();
        retry(move || self.patch_token(id, description, scope, now, activity)).await
    }

    async fn delete_token(&self, id: TokenId, activity: Option<NewActivity>) -> StoreResult<()> {
        let activity = activity.as_ref();
        retry(move || self.remove_token(id, activity)).await
    }

    async fn stamp_last_used(&self, uses: &[(TokenId, OffsetDateTime)]) -> StoreResult<()> {
        // Collapse duplicates to the latest use first: with UPDATE … FROM, a row matched twice
        // would take an arbitrary one of the two.
        let mut latest: BTreeMap<i64, OffsetDateTime> = BTreeMap::new();
        for (id, at) in uses {
            let at = round_ms(*at);
            let slot = latest.entry(id.0).or_insert(at);
            *slot = (*slot).max(at);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = latest.keys().copied().collect();
        let stamps: Vec<OffsetDateTime> = latest.values().copied().collect();
        let (ids, stamps) = (&ids, &stamps);
        retry(move || self.stamp_uses(ids, stamps)).await
    }

    async fn rotate_refresh(
        &self,
        rotation: Rotation,
        activity: Option<NewActivity>,
    ) -> StoreResult<RotateOutcome> {
        let (rotation, activity) = (&rotation, activity.as_ref());
        retry(move || self.rotate(rotation, activity)).await
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
        let activity = activity.as_ref();
        retry(move || self.revoke_hash(hash, client, now, activity)).await
    }

    async fn revoke_user_tokens(
        &self,
        user: UserId,
        include_refresh: bool,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        retry(move || self.revoke_for_user(user, include_refresh, now)).await
    }

    async fn revoke_all_tokens(
        &self,
        include_refresh: bool,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        retry(move || self.revoke_everything(include_refresh, now)).await
    }

    async fn revoke_external_users_tokens(&self, now: OffsetDateTime) -> StoreResult<u64> {
        retry(move || self.revoke_external(now)).await
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> StoreResult<u64> {
        retry(move || self.purge(now)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_parse_for_their_column_kind() {
        assert_eq!(ColumnKind::Int.parse("42"), Some(Cell::Int(42)));
        assert_eq!(ColumnKind::Int.parse("null"), None);
        assert_eq!(ColumnKind::Int.parse("1.5"), None);
        assert_eq!(ColumnKind::Related.parse("null"), Some(Cell::Null));
        assert_eq!(ColumnKind::Related.parse("None"), Some(Cell::Null));
        assert_eq!(ColumnKind::Related.parse("7"), Some(Cell::Int(7)));
        assert_eq!(ColumnKind::Related.parse("x"), None);
        assert_eq!(ColumnKind::Bool.parse("True"), Some(Cell::Bool(true)));
        assert_eq!(ColumnKind::Bool.parse("0"), Some(Cell::Bool(false)));
        assert_eq!(ColumnKind::Bool.parse("yes"), None);
        assert_eq!(
            ColumnKind::Text.parse("null"),
            Some(Cell::Text("null".into()))
        );
        assert_eq!(
            ColumnKind::Instant.parse("1970-01-01T00:00:01.0019Z"),
            Some(Cell::Instant(
                OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(1001)
            ))
        );
        assert_eq!(ColumnKind::Instant.parse("yesterday"), None);
    }

    #[test]
    fn instants_add_without_overflow() {
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            add_saturating(t, Duration::seconds(2)),
            t + Duration::seconds(2)
        );
        assert_eq!(
            add_saturating(t, Duration::MAX),
            PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            add_saturating(t, Duration::MIN),
            PrimitiveDateTime::MIN.assume_utc()
        );
    }

    #[test]
    fn new_constraints_name_their_fields() {
        assert_eq!(constraint_field("inventories_name_key"), Some("name"));
        assert_eq!(constraint_field("hosts_inventory_name_key"), Some("name"));
        assert_eq!(
            constraint_field("oauth_applications_name_no_org_key"),
            Some("name")
        );
        assert_eq!(
            constraint_field("oauth_access_tokens_hash_key"),
            Some("hash")
        );
        assert_eq!(constraint_field("users_username_key"), None);
    }
}
