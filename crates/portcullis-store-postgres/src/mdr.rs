//! [`MdrStore`] on PostgreSQL: customers, tenants, connections, token families, refresh-token
//! records and the exchange audit (`docs/mdr-api.md`, "Objects and identifiers", "Customers,
//! tenants and connections", "Token exchange", "Rotation and reuse detection"), and the
//! unique-constraint names of `0003_mdr.sql` that the MDR modules share.
//!
//! Policy: every change of a connection's live family (create, Refresh, Revoke, reuse, Delete)
//! and every exchange first locks the connection's row, so they are serialised per connection
//! across nodes and always take their locks in the same order (connection, then family and
//! records): no deadlock between them. An exchange then locks the presented record
//! (`SELECT … FOR UPDATE`) and marks it spent with a conditional update, at READ COMMITTED: of
//! any number of concurrent exchanges of one token, each waits for the one before it and then
//! reads the row as that one committed it, so exactly one ever finds it unspent (R2, R3, R7),
//! without serialization failures.

use crate::PostgresStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt, retry};
use crate::tokens::add_saturating;
use portcullis_core::clock::round_ms;
use portcullis_store::{
    AccessRecord, ConnectionPatch, ConnectionRecord, CustomerRecord, Exchange, ExchangeAudit,
    ExchangeOutcome, FamilyChange, IssuedPair, MdrStore, NewActivity, NewConnection, NewFamily,
    NewRefreshRecord, StoreError, StoreResult, TenantRecord,
};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

// ---------------------------------------------------------------------------------------------
// Shared by the MDR modules (`signing_keys`, `mdr_objects`).
// ---------------------------------------------------------------------------------------------

/// `t - d`, saturating at the ends of the representable range.
fn sub_saturating(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_sub(d).unwrap_or(if d.is_negative() {
        PrimitiveDateTime::MAX.assume_utc()
    } else {
        PrimitiveDateTime::MIN.assume_utc()
    })
}

// ---------------------------------------------------------------------------------------------
// Rows.
// ---------------------------------------------------------------------------------------------

/// Why a family was revoked (`mdr_families.revoke_reason`).
#[derive(Debug, Clone, Copy)]
enum RevokeReason {
    /// Superseded by the console's "Refresh".
    Refresh,
    /// The console's "Revoke".
    Revoke,
    /// Reuse of a spent refresh token detected (R4).
    Reuse,
}

impl RevokeReason {
    /// Stored spelling.
    fn as_str(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::Revoke => "revoke",
            Self::Reuse => "reuse",
        }
    }
}

/// A connection with the state the console shows: the live family's one unspent, unrevoked
/// refresh record (the newest, should the invariant ever be broken), for `concat!`.
macro_rules! connection_select {
    () => {
        "SELECT c.connection_id, c.client_id, c.name, c.role, c.tenants, c.created_at, \
           c.last_used_at, c.live_family, c.activated, \
           lr.jti AS refresh_jti, lr.expires_at AS refresh_expires_at \
         FROM mdr_connections c \
         LEFT JOIN LATERAL (SELECT r.jti, r.expires_at FROM mdr_refresh_records r \
           WHERE r.family_id = c.live_family AND r.spent_at IS NULL AND r.revoked_at IS NULL \
           ORDER BY r.issued_at DESC, r.jti DESC LIMIT 1) lr ON TRUE"
    };
}

/// Decodes a row of [`connection_select!`].
fn connection_from_row(row: &PgRow) -> Outcome<ConnectionRecord> {
    let Json(tenants) = row.try_get::<Json<Vec<String>>, _>("tenants")?;
    Ok(ConnectionRecord {
        connection_id: row.try_get("connection_id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        tenants,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        live_family: row.try_get("live_family")?,
        activated: row.try_get("activated")?,
        refresh_expires_at: row.try_get("refresh_expires_at")?,
        refresh_jti: row.try_get("refresh_jti")?,
    })
}

/// The connection `id` read on `conn` (inside the caller's transaction, if any).
async fn read_connection(conn: &mut PgConnection, id: &str) -> Outcome<Option<ConnectionRecord>> {
    let row = sqlx::query(concat!(connection_select!(), " WHERE c.connection_id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(connection_from_row).transpose()
}

/// The connection this transaction just wrote or locked; not finding it means the database
/// misbehaves, which must not read as "absent".
async fn written_connection(conn: &mut PgConnection, id: &str) -> Outcome<ConnectionRecord> {
    read_connection(conn, id)
        .await?
        .ok_or_else(|| corrupt("mdr connection (not readable after write)"))
}

/// Decodes a customer row.
fn customer_from_row(row: &PgRow) -> Outcome<CustomerRecord> {
    Ok(CustomerRecord {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Decodes an audit row.
fn audit_from_row(row: &PgRow) -> Outcome<ExchangeAudit> {
    Ok(ExchangeAudit {
        at: row.try_get("at")?,
        client_id: row.try_get("client_id")?,
        connection_id: row.try_get("connection_id")?,
        jti_prefix: row.try_get("jti_prefix")?,
        result: row.try_get("result")?,
        source: row.try_get("source")?,
    })
}

/// The lock every family change takes first: the connection's row, `FOR UPDATE`. Returns
/// `(activated, live_family)`, or `None` if the connection does not exist.
async fn lock_connection(
    conn: &mut PgConnection,
    id: &str,
) -> Outcome<Option<(bool, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT activated, live_family FROM mdr_connections WHERE connection_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Inserts `family` for `connection` with its bootstrap record (origin `console`).
async fn insert_family(
    conn: &mut PgConnection,
    connection: &str,
    family: &NewFamily,
    created_at: OffsetDateTime,
) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO mdr_families (family_id, connection_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(&family.family_id)
    .bind(connection)
    .bind(round_ms(created_at))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO mdr_refresh_records (jti, family_id, origin, issued_at, expires_at) \
         VALUES ($1, $2, 'console', $3, $4)",
    )
    .bind(&family.bootstrap.jti)
    .bind(&family.family_id)
    .bind(round_ms(family.bootstrap.issued_at))
    .bind(round_ms(family.bootstrap.expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes a family for good (R9): the family row and every record of it, stamped `now`.
/// Rows already revoked keep their first stamp.
async fn revoke_family(
    conn: &mut PgConnection,
    family: &str,
    now: OffsetDateTime,
    reason: RevokeReason,
) -> Outcome<()> {
    sqlx::query(
        "UPDATE mdr_families SET revoked_at = $2, revoke_reason = $3 \
         WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(now)
    .bind(reason.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE mdr_refresh_records SET revoked_at = $2 \
         WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the connection's live family (or none) and its activation flag.
async fn set_live_family(
    conn: &mut PgConnection,
    connection: &str,
    family: Option<&str>,
    activated: bool,
) -> Outcome<()> {
    sqlx::query(
        "UPDATE mdr_connections SET live_family = $2, activated = $3 WHERE connection_id = $1",
    )
    .bind(connection)
    .bind(family)
    .bind(activated)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The presented record as the exchange reads it, under its row lock.
struct Presented {
    /// Its family.
    family_id: String,
    /// The family's connection.
    connection_id: String,
    /// When it was exchanged.
    spent_at: Option<OffsetDateTime>,
    /// The record its exchange created.
    successor_jti: Option<String>,
    /// Revoked itself, or its family revoked.
    revoked: bool,
}

impl Presented {
    /// Decodes the row of the exchange's locking read.
    fn from_row(row: &PgRow) -> Outcome<Self> {
        Ok(Self {
            family_id: row.try_get("family_id")?,
            connection_id: row.try_get("connection_id")?,
            spent_at: row.try_get("spent_at")?,
            successor_jti: row.try_get("successor_jti")?,
            revoked: row.try_get("revoked")?,
        })
    }
}

impl PostgresStore {
    /// One attempt of [`MdrStore::create_customer`].
    async fn insert_customer(&self, customer: &CustomerRecord) -> Outcome<()> {
        sqlx::query("INSERT INTO mdr_customers (client_id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&customer.client_id)
            .bind(&customer.name)
            .bind(round_ms(customer.created_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// See [`MdrStore::customer`].
    async fn find_customer(&self, client_id: &str) -> Outcome<Option<CustomerRecord>> {
        let row = sqlx::query(
            "SELECT client_id, name, created_at FROM mdr_customers WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(customer_from_row).transpose()
    }

    /// See [`MdrStore::list_customers`].
    async fn all_customers(&self) -> Outcome<Vec<CustomerRecord>> {
        let rows = sqlx::query(
            "SELECT client_id, name, created_at FROM mdr_customers ORDER BY created_at, client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(customer_from_row).collect()
    }

    /// One attempt of [`MdrStore::create_tenant`]. A missing customer is a foreign-key
    /// violation, which the crate's mapping turns into `NotFound`.
    async fn insert_tenant(&self, tenant: &TenantRecord) -> Outcome<()> {
        sqlx::query(
            "INSERT INTO mdr_tenants (tenant_id, client_id, tenant_name) VALUES ($1, $2, $3)",
        )
        .bind(&tenant.tenant_id)
        .bind(&tenant.client_id)
        .bind(&tenant.tenant_name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`MdrStore::tenants`].
    async fn customer_tenants(&self, client_id: &str) -> Outcome<Vec<TenantRecord>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT tenant_id, client_id, tenant_name FROM mdr_tenants WHERE client_id = $1 \
             ORDER BY tenant_name, tenant_id",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant_id, client_id, tenant_name)| TenantRecord {
                tenant_id,
                client_id,
                tenant_name,
            })
            .collect())
    }

    /// One attempt of [`MdrStore::create_connection`].
    async fn insert_connection(
        &self,
        connection: &NewConnection,
        family: &NewFamily,
        activity: Option<&NewActivity>,
    ) -> Outcome<ConnectionRecord> {
        let created = round_ms(connection.created_at);
        let mut tx = self.pool.begin().await?;
        // The live family is set at once: the family row references the connection, so the
        // connection goes first, and `live_family` is deliberately no foreign key.
        sqlx::query(
            "INSERT INTO mdr_connections \
             (connection_id, client_id, name, role, tenants, created_at, live_family, activated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, false)",
        )
        .bind(&connection.connection_id)
        .bind(&connection.client_id)
        .bind(&connection.name)
        .bind(&connection.role)
        .bind(Json(&connection.tenants))
        .bind(created)
        .bind(&family.family_id)
        .execute(&mut *tx)
        .await?;
        insert_family(&mut tx, &connection.connection_id, family, created).await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        let record = written_connection(&mut tx, &connection.connection_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// See [`MdrStore::connection`].
    async fn find_connection(&self, connection_id: &str) -> Outcome<Option<ConnectionRecord>> {
        let mut conn = self.pool.acquire().await?;
        read_connection(&mut conn, connection_id).await
    }

    /// See [`MdrStore::list_connections`].
    async fn customer_connections(&self, client_id: &str) -> Outcome<Vec<ConnectionRecord>> {
        let rows = sqlx::query(concat!(
            connection_select!(),
            " WHERE c.client_id = $1 ORDER BY c.created_at, c.connection_id"
        ))
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection_from_row).collect()
    }

    /// One attempt of [`MdrStore::update_connection`].
    async fn patch_connection(
        &self,
        connection_id: &str,
        patch: &ConnectionPatch,
        activity: Option<&NewActivity>,
    ) -> Outcome<ConnectionRecord> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE mdr_connections SET name = COALESCE($2, name), role = COALESCE($3, role), \
               tenants = COALESCE($4, tenants) \
             WHERE connection_id = $1",
        )
        .bind(connection_id)
        .bind(patch.name.as_deref())
        .bind(patch.role.as_deref())
        .bind(patch.tenants.as_ref().map(Json))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        let record = written_connection(&mut tx, connection_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// One attempt of [`MdrStore::refresh_connection`].
    async fn refresh(
        &self,
        connection_id: &str,
        family: &NewFamily,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<FamilyChange> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        let Some((activated, live)) = lock_connection(&mut tx, connection_id).await? else {
            return Err(Failure::Store(StoreError::NotFound));
        };
        if activated {
            // Active or Idle: Refresh is refused; nothing written (the transaction rolls back).
            let record = written_connection(&mut tx, connection_id).await?;
            return Ok(FamilyChange::WrongState(record));
        }
        if let Some(old) = live {
            revoke_family(&mut tx, &old, now, RevokeReason::Refresh).await?;
        }
        insert_family(&mut tx, connection_id, family, now).await?;
        set_live_family(&mut tx, connection_id, Some(&family.family_id), false).await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        let record = written_connection(&mut tx, connection_id).await?;
        tx.commit().await?;
        Ok(FamilyChange::Done(record))
    }

    /// One attempt of [`MdrStore::revoke_connection`].
    async fn revoke(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<&NewActivity>,
    ) -> Outcome<FamilyChange> {
        let now = round_ms(now);
        let mut tx = self.pool.begin().await?;
        let Some((activated, live)) = lock_connection(&mut tx, connection_id).await? else {
            return Err(Failure::Store(StoreError::NotFound));
        };
        if !activated {
            // Pending activation: Revoke is refused; nothing written.
            let record = written_connection(&mut tx, connection_id).await?;
            return Ok(FamilyChange::WrongState(record));
        }
        if let Some(old) = live {
            revoke_family(&mut tx, &old, now, RevokeReason::Revoke).await?;
        }
        set_live_family(&mut tx, connection_id, None, false).await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, entry).await?;
        }
        let record = written_connection(&mut tx, connection_id).await?;
        tx.commit().await?;
        Ok(FamilyChange::Done(record))
    }

    /// One attempt of [`MdrStore::delete_connection`].
    async fn remove_connection(
        &self,
        connection_id: &str,
        activity: Option<&NewActivity>,
    ) -> Outcome<()> {
        let mut tx = self.pool.begin().await?;
        // The DELETE locks the connection's row first (the order every family change uses)
        // and takes its families and records with it (ON DELETE CASCADE): the revocation is
        // the removal itself, atomic with it. A token of it presented later finds no
        // connection or record: Revoked.
        let deleted = sqlx::query("DELETE FROM mdr_connections WHERE connection_id = $1")
            .bind(connection_id)
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

    /// One attempt of [`MdrStore::exchange`], in the decision order of [`ExchangeOutcome`].
    async fn run_exchange(&self, x: &Exchange) -> Outcome<ExchangeOutcome> {
        let now = round_ms(x.now);
        let mut tx = self.pool.begin().await?;
        // The connection named by the `cnx` claim, locked first (the order every family change
        // uses), with its customer. Every exchange of this connection's tokens waits here for
        // the one before it; at READ COMMITTED each statement after the lock reads what that
        // one committed.
        let cnx: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT c.client_id, c.live_family FROM mdr_connections c \
             JOIN mdr_customers k ON k.client_id = c.client_id \
             WHERE c.connection_id = $1 FOR UPDATE OF c",
        )
        .bind(&x.connection_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((client_id, live_family)) = cnx else {
            return Ok(ExchangeOutcome::Revoked);
        };
        if client_id != x.client_id || live_family.as_deref() != Some(x.family_id.as_str()) {
            // Other customer, or the family is not (or no longer) the live one: nothing written
            // (the transaction rolls back when dropped).
            return Ok(ExchangeOutcome::Revoked);
        }
        // The presented record under its own row lock, as a second guard.
        let row = sqlx::query(
            "SELECT r.family_id, f.connection_id, r.spent_at, r.successor_jti, \
               (r.revoked_at IS NOT NULL OR f.revoked_at IS NOT NULL) AS revoked \
             FROM mdr_refresh_records r JOIN mdr_families f ON f.family_id = r.family_id \
             WHERE r.jti = $1 FOR UPDATE OF r",
        )
        .bind(&x.jti)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(ExchangeOutcome::Revoked);
        };
        let presented = Presented::from_row(&row)?;
        if presented.revoked
            || presented.family_id != x.family_id
            || presented.connection_id != x.connection_id
        {
            return Ok(ExchangeOutcome::Revoked);
        }

        let Some(spent_at) = presented.spent_at else {
            return self.rotate_record(tx, x, now).await;
        };

        // Spent. Grace replay (R5): the stored successor pair, if it is still unspent.
        if x.grace.is_positive()
            && now <= add_saturating(spent_at, x.grace)
            && let Some(successor) = &presented.successor_jti
            && let Some(pair) = unspent_successor(&mut tx, successor, &x.family_id).await?
        {
            return Ok(ExchangeOutcome::Replayed(pair));
        }
        // A concurrent loser (R3): nothing written.
        if now <= add_saturating(spent_at, x.race_tolerance) {
            return Ok(ExchangeOutcome::ConcurrentLoser);
        }
        // Reuse (R4): the family dies, the connection is back to Pending activation, and the
        // activity entry is written, all in this transaction.
        revoke_family(&mut tx, &x.family_id, now, RevokeReason::Reuse).await?;
        set_live_family(&mut tx, &x.connection_id, None, false).await?;
        insert_activity(&mut tx, &x.reuse_activity).await?;
        tx.commit().await?;
        Ok(ExchangeOutcome::Reused)
    }

    /// The winning branch of an exchange: spend the presented record, insert the successor
    /// with its access token, activate and stamp the connection; commit.
    async fn rotate_record(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        x: &Exchange,
        now: OffsetDateTime,
    ) -> Outcome<ExchangeOutcome> {
        // Conditional, behind the row lock: only one exchange can ever spend a given record.
        let spent = sqlx::query(
            "UPDATE mdr_refresh_records SET spent_at = $2, successor_jti = $3 \
             WHERE jti = $1 AND spent_at IS NULL AND revoked_at IS NULL",
        )
        .bind(&x.jti)
        .bind(now)
        .bind(&x.successor.jti)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent == 0 {
            return Ok(ExchangeOutcome::ConcurrentLoser);
        }
        sqlx::query(
            "INSERT INTO mdr_refresh_records (jti, family_id, parent_jti, origin, issued_at, \
               expires_at, access_jti, access_issued_at, access_expires_at) \
             VALUES ($1, $2, $3, 'exchange', $4, $5, $6, $7, $8)",
        )
        .bind(&x.successor.jti)
        .bind(&x.family_id)
        .bind(&x.jti)
        .bind(round_ms(x.successor.issued_at))
        .bind(round_ms(x.successor.expires_at))
        .bind(&x.access.jti)
        .bind(round_ms(x.access.issued_at))
        .bind(round_ms(x.access.expires_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE mdr_connections \
             SET activated = true, last_used_at = GREATEST(last_used_at, $2) \
             WHERE connection_id = $1",
        )
        .bind(&x.connection_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ExchangeOutcome::Rotated)
    }

    /// One attempt of [`MdrStore::touch_connections`], with duplicates already collapsed.
    async fn stamp_connections(&self, ids: &[String], uses: &[OffsetDateTime]) -> Outcome<()> {
        // One statement for the batch; GREATEST ignores a NULL last_used_at and never moves a
        // stamp backwards, so a delayed batch from another node cannot undo a newer one.
        sqlx::query(
            "UPDATE mdr_connections AS c SET last_used_at = GREATEST(c.last_used_at, s.used) \
             FROM UNNEST($1::text[], $2::timestamptz[]) AS s(id, used) \
             WHERE c.connection_id = s.id",
        )
        .bind(ids)
        .bind(uses)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One attempt of [`MdrStore::record_exchanges`].
    async fn insert_audits(&self, audits: &[ExchangeAudit]) -> Outcome<()> {
        let at: Vec<OffsetDateTime> = audits.iter().map(|a| round_ms(a.at)).collect();
        let client: Vec<&str> = audits.iter().map(|a| a.client_id.as_str()).collect();
        let connection: Vec<Option<&str>> =
            audits.iter().map(|a| a.connection_id.as_deref()).collect();
        let prefix: Vec<Option<&str>> = audits.iter().map(|a| a.jti_prefix.as_deref()).collect();
        let result: Vec<&str> = audits.iter().map(|a| a.result.as_str()).collect();
        let source: Vec<&str> = audits.iter().map(|a| a.source.as_str()).collect();
        // One statement; ordered by position so the identity ids follow the slice order (the
        // tie-break of "newest first" between records of one instant).
        sqlx::query(
            "INSERT INTO mdr_exchange_audit \
               (at, client_id, connection_id, jti_prefix, result, source) \
             SELECT at, client_id, connection_id, jti_prefix, result, source \
             FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::text[]) \
               WITH ORDINALITY AS u(at, client_id, connection_id, jti_prefix, result, source, n) \
             ORDER BY n",
        )
        .bind(&at)
        .bind(&client)
        .bind(&connection)
        .bind(&prefix)
        .bind(&result)
        .bind(&source)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// See [`MdrStore::exchange_audit`].
    async fn newest_audits(&self, client_id: &str, limit: i64) -> Outcome<Vec<ExchangeAudit>> {
        let rows = sqlx::query(
            "SELECT at, client_id, connection_id, jti_prefix, result, source \
             FROM mdr_exchange_audit WHERE client_id = $1 \
             ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(client_id)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// One attempt of [`MdrStore::purge_refresh_records`].
    async fn purge_records(&self, now: OffsetDateTime, keep: Duration) -> Outcome<u64> {
        // `expires_at + keep < now` ⇔ `expires_at < now - keep`, computed once, saturating.
        let cutoff = sub_saturating(round_ms(now), keep);
        let purged = sqlx::query(
            "DELETE FROM mdr_refresh_records \
             WHERE (spent_at IS NOT NULL OR revoked_at IS NOT NULL) AND expires_at < $1",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(purged)
    }
}

/// The successor `jti` of `family` with its access token, if it is still unspent and not
/// revoked (a grace-period replay returns it unchanged).
async fn unspent_successor(
    conn: &mut PgConnection,
    jti: &str,
    family: &str,
) -> Outcome<Option<IssuedPair>> {
    let row = sqlx::query(
        "SELECT jti, issued_at, expires_at, access_jti, access_issued_at, access_expires_at \
         FROM mdr_refresh_records \
         WHERE jti = $1 AND family_id = $2 AND spent_at IS NULL AND revoked_at IS NULL",
    )
    .bind(jti)
    .bind(family)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let access_jti: Option<String> = row.try_get("access_jti")?;
    let access_issued: Option<OffsetDateTime> = row.try_get("access_issued_at")?;
    let access_expires: Option<OffsetDateTime> = row.try_get("access_expires_at")?;
    let (Some(access_jti), Some(access_issued), Some(access_expires)) =
        (access_jti, access_issued, access_expires)
    else {
        return Err(corrupt(
            "mdr refresh record (successor without its access token)",
        ));
    };
    Ok(Some(IssuedPair {
        refresh: NewRefreshRecord {
            jti: row.try_get("jti")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
        },
        access: AccessRecord {
            jti: access_jti,
            issued_at: access_issued,
            expires_at: access_expires,
        },
    }))
}

#[async_trait::async_trait]
impl MdrStore for PostgresStore {
    async fn create_customer(&self, customer: &CustomerRecord) -> StoreResult<()> {
        retry(move || self.insert_customer(customer)).await
    }

    async fn customer(&self, client_id: &str) -> StoreResult<Option<CustomerRecord>> {
        Ok(self.find_customer(client_id).await?)
    }

    async fn list_customers(&self) -> StoreResult<Vec<CustomerRecord>> {
        Ok(self.all_customers().await?)
    }

    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        retry(move || self.insert_tenant(tenant)).await
    }

    async fn tenants(&self, client_id: &str) -> StoreResult<Vec<TenantRecord>> {
        Ok(self.customer_tenants(client_id).await?)
    }

    async fn create_connection(
        &self,
        connection: &NewConnection,
        family: &NewFamily,
        activity: Option<NewActivity>,
    ) -> StoreResult<ConnectionRecord> {
        let activity = activity.as_ref();
        retry(move || self.insert_connection(connection, family, activity)).await
    }

    async fn connection(&self, connection_id: &str) -> StoreResult<Option<ConnectionRecord>> {
        Ok(self.find_connection(connection_id).await?)
    }

    async fn list_connections(&self, client_id: &str) -> StoreResult<Vec<ConnectionRecord>> {
        Ok(self.customer_connections(client_id).await?)
    }

    async fn update_connection(
        &self,
        connection_id: &str,
        patch: &ConnectionPatch,
        activity: Option<NewActivity>,
    ) -> StoreResult<ConnectionRecord> {
        let activity = activity.as_ref();
        retry(move || self.patch_connection(connection_id, patch, activity)).await
    }

    async fn refresh_connection(
        &self,
        connection_id: &str,
        family: &NewFamily,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange> {
        let activity = activity.as_ref();
        retry(move || self.refresh(connection_id, family, now, activity)).await
    }

    async fn revoke_connection(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange> {
        let activity = activity.as_ref();
        retry(move || self.revoke(connection_id, now, activity)).await
    }

    async fn delete_connection(
        &self,
        connection_id: &str,
        _now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<()> {
        // Nothing is stamped: the family goes with the connection (see `remove_connection`).
        let activity = activity.as_ref();
        retry(move || self.remove_connection(connection_id, activity)).await
    }

    async fn exchange(&self, exchange: &Exchange) -> StoreResult<ExchangeOutcome> {
        retry(move || self.run_exchange(exchange)).await
    }

    async fn touch_connections(&self, uses: &[(String, OffsetDateTime)]) -> StoreResult<()> {
        // Collapse duplicates to the latest use first: with UPDATE … FROM, a row matched twice
        // would take an arbitrary one of the two.
        let mut latest: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
        for (id, at) in uses {
            let at = round_ms(*at);
            let slot = latest.entry(id.as_str()).or_insert(at);
            *slot = (*slot).max(at);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = latest.keys().map(|id| (*id).to_owned()).collect();
        let stamps: Vec<OffsetDateTime> = latest.values().copied().collect();
        let (ids, stamps) = (&ids, &stamps);
        retry(move || self.stamp_connections(ids, stamps)).await
    }

    async fn record_exchanges(&self, audits: &[ExchangeAudit]) -> StoreResult<()> {
        if audits.is_empty() {
            return Ok(());
        }
        retry(move || self.insert_audits(audits)).await
    }

    async fn exchange_audit(&self, client_id: &str, limit: i64) -> StoreResult<Vec<ExchangeAudit>> {
        Ok(self.newest_audits(client_id, limit).await?)
    }

    async fn purge_refresh_records(&self, now: OffsetDateTime, keep: Duration) -> StoreResult<u64> {
        retry(move || self.purge_records(now, keep)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_subtract_without_overflow() {
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            sub_saturating(t, Duration::seconds(2)),
            t - Duration::seconds(2)
        );
        assert_eq!(
            sub_saturating(t, Duration::MAX),
            PrimitiveDateTime::MIN.assume_utc()
        );
        assert_eq!(
            sub_saturating(t, Duration::MIN),
            PrimitiveDateTime::MAX.assume_utc()
        );
    }
}
