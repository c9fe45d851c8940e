//! [`MdrStore`] on SQLite: customers, tenants, connections, token families, refresh records,
//! the exchange and its audit.
//!
//! Policy: every change of a connection's live family (create, Refresh, Revoke, reuse, Delete)
//! and every exchange is one `BEGIN IMMEDIATE` transaction, so the state it decides on cannot
//! change before it commits: of any number of concurrent exchanges of one refresh token, the
//! first to take the write lock spends it and every later one sees it spent (R2, R3, R7).
//! Answers that write nothing (replay, concurrent loser, revoked) roll back.

use crate::SqliteStore;
use crate::activity::insert_activity;
use crate::error::{Failure, Outcome, corrupt};
use portcullis_core::clock::{from_unix_ms, unix_ms};
use portcullis_store::{
    AccessRecord, ConnectionPatch, ConnectionRecord, CustomerRecord, Exchange, ExchangeAudit,
    ExchangeOutcome, FamilyChange, IssuedPair, MdrStore, NewActivity, NewConnection, NewFamily,
    NewRefreshRecord, StoreError, StoreResult, TenantRecord,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// A duration in whole milliseconds, saturating: configured durations must never make the
/// arithmetic panic or wrap.
fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.whole_milliseconds()).unwrap_or(if d.is_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The columns of a connection view, joined with the live family's one unspent refresh
/// record. Needs `mdr_connections c` and the `LEFT JOIN` of [`connection_from!`].
macro_rules! connection_select {
    () => {
        "SELECT c.connection_id, c.client_id, c.name, c.role, c.tenants, c.created_at, \
           c.last_used_at, c.live_family, c.activated, \
           r.jti AS refresh_jti, r.expires_at AS refresh_expires_at"
    };
}

/// The `FROM` of a connection view. The live family holds exactly one unspent record (R7);
/// the subquery picks the newest in case a broken row ever made it two.
macro_rules! connection_from {
    () => {
        " FROM mdr_connections c \
          LEFT JOIN mdr_refresh_records r ON r.jti = ( \
            SELECT u.jti FROM mdr_refresh_records u \
            WHERE u.family_id = c.live_family AND u.spent_at IS NULL AND u.revoked_at IS NULL \
            ORDER BY u.issued_at DESC, u.jti DESC LIMIT 1)"
    };
}

/// Decodes a connection view row.
fn connection_from_row(row: &SqliteRow) -> Outcome<ConnectionRecord> {
    let tenants: String = row.try_get("tenants")?;
    let tenants: Vec<String> =
        serde_json::from_str(&tenants).map_err(|_| corrupt("connection tenants"))?;
    Ok(ConnectionRecord {
        connection_id: row.try_get("connection_id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        tenants,
        created_at: from_unix_ms(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_unix_ms),
        live_family: row.try_get("live_family")?,
        activated: row.try_get::<i64, _>("activated")? != 0,
        refresh_expires_at: row
            .try_get::<Option<i64>, _>("refresh_expires_at")?
            .map(from_unix_ms),
        refresh_jti: row.try_get("refresh_jti")?,
    })
}

/// Encodes a tenant scope as the stored JSON array.
fn tenants_json(tenants: &[String]) -> Outcome<String> {
    serde_json::to_string(tenants).map_err(|e| {
        Failure::Store(StoreError::Unavailable(format!(
            "sqlite: cannot encode tenants: {e}"
        )))
    })
}

/// Connection `id` read on `conn` (inside the caller's transaction, if any).
async fn read_connection(
    conn: &mut SqliteConnection,
    id: &str,
) -> Outcome<Option<ConnectionRecord>> {
    let row = sqlx::query(concat!(
        connection_select!(),
        connection_from!(),
        " WHERE c.connection_id = ?1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(connection_from_row).transpose()
}

/// A connection this transaction just wrote or locked; not finding it means the database
/// misbehaves, which must not read as "absent".
async fn written_connection(conn: &mut SqliteConnection, id: &str) -> Outcome<ConnectionRecord> {
    read_connection(conn, id)
        .await?
        .ok_or_else(|| corrupt("connection (not readable after write)"))
}

/// Inserts `family` for `connection` with its bootstrap record (origin `console`).
async fn insert_family(
    conn: &mut SqliteConnection,
    connection: &str,
    family: &NewFamily,
    created_at: OffsetDateTime,
) -> Outcome<()> {
    sqlx::query(
        "INSERT INTO mdr_families (family_id, connection_id, created_at) VALUES (?1, ?2, ?3)",
    )
    .bind(&family.family_id)
    .bind(connection)
    .bind(unix_ms(created_at))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO mdr_refresh_records (jti, family_id, origin, issued_at, expires_at) \
         VALUES (?1, ?2, 'console', ?3, ?4)",
    )
    .bind(&family.bootstrap.jti)
    .bind(&family.family_id)
    .bind(unix_ms(family.bootstrap.issued_at))
    .bind(unix_ms(family.bootstrap.expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes `family` and every record in it, stamped `now`. Permanent (R9): an already revoked
/// family keeps its first stamp and reason.
async fn revoke_family(
    conn: &mut SqliteConnection,
    family: &str,
    now: i64,
    reason: &str,
) -> Outcome<()> {
    sqlx::query(
        "UPDATE mdr_families SET revoked_at = ?1, revoke_reason = ?2 \
         WHERE family_id = ?3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE mdr_refresh_records SET revoked_at = ?1 \
         WHERE family_id = ?2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The live family and activation of connection `id`, read on `conn`.
async fn family_state(conn: &mut SqliteConnection, id: &str) -> Outcome<(Option<String>, bool)> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "SELECT live_family, activated FROM mdr_connections WHERE connection_id = ?1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (family, activated) = row.ok_or(Failure::Store(StoreError::NotFound))?;
    Ok((family, activated != 0))
}

/// The presented refresh record as the exchange reads it, with what makes it live.
struct Presented {
    /// Its family.
    family: String,
    /// The family's connection.
    connection: String,
    /// The connection's customer.
    client: String,
    /// When it was spent, Unix ms.
    spent_at: Option<i64>,
    /// The successor it was spent for.
    successor: Option<String>,
    /// Record or family revoked, the family not the connection's live one, or the customer
    /// gone.
    dead: bool,
}

/// Reads the presented record `jti` on `conn`.
async fn presented(conn: &mut SqliteConnection, jti: &str) -> Outcome<Option<Presented>> {
    let row = sqlx::query(
        "SELECT r.family_id, f.connection_id, c.client_id, r.spent_at, r.successor_jti, \
           (r.revoked_at IS NOT NULL OR f.revoked_at IS NOT NULL \
            OR c.live_family IS NULL OR c.live_family <> r.family_id \
            OR NOT EXISTS (SELECT 1 FROM mdr_customers cu WHERE cu.client_id = c.client_id)) \
             AS dead \
         FROM mdr_refresh_records r \
         JOIN mdr_families f ON f.family_id = r.family_id \
         JOIN mdr_connections c ON c.connection_id = f.connection_id \
         WHERE r.jti = ?1",
    )
    .bind(jti)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Presented {
        family: row.try_get("family_id")?,
        connection: row.try_get("connection_id")?,
        client: row.try_get("client_id")?,
        spent_at: row.try_get("spent_at")?,
        successor: row.try_get("successor_jti")?,
        dead: row.try_get::<i64, _>("dead")? != 0,
    }))
}

/// The stored pair of successor `jti` while it is still unspent and unrevoked (what a grace
/// replay re-signs), read on `conn`.
async fn unspent_pair(conn: &mut SqliteConnection, jti: &str) -> Outcome<Option<IssuedPair>> {
    let row = sqlx::query(
        "SELECT jti, issued_at, expires_at, access_jti, access_issued_at, access_expires_at \
         FROM mdr_refresh_records \
         WHERE jti = ?1 AND spent_at IS NULL AND revoked_at IS NULL",
    )
    .bind(jti)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let access_jti: Option<String> = row.try_get("access_jti")?;
    let access_issued: Option<i64> = row.try_get("access_issued_at")?;
    let access_expires: Option<i64> = row.try_get("access_expires_at")?;
    let (Some(access_jti), Some(access_issued), Some(access_expires)) =
        (access_jti, access_issued, access_expires)
    else {
        // A successor is always an exchanged record, which carries its access token.
        return Err(corrupt("refresh record (successor without access token)"));
    };
    Ok(Some(IssuedPair {
        refresh: NewRefreshRecord {
            jti: row.try_get("jti")?,
            issued_at: from_unix_ms(row.try_get("issued_at")?),
            expires_at: from_unix_ms(row.try_get("expires_at")?),
        },
        access: AccessRecord {
            jti: access_jti,
            issued_at: from_unix_ms(access_issued),
            expires_at: from_unix_ms(access_expires),
        },
    }))
}

/// Decodes an audit row.
fn audit_from_row(row: &SqliteRow) -> Outcome<ExchangeAudit> {
    Ok(ExchangeAudit {
        at: from_unix_ms(row.try_get("at")?),
        client_id: row.try_get("client_id")?,
        connection_id: row.try_get("connection_id")?,
        jti_prefix: row.try_get("jti_prefix")?,
        result: row.try_get("result")?,
        source: row.try_get("source")?,
    })
}

/// The `Rotated` branch of [`SqliteStore::decide_exchange`], on its transaction.
async fn spend_and_rotate(
    tx: &mut SqliteConnection,
    ex: &Exchange,
    now: i64,
) -> Outcome<ExchangeOutcome> {
    // Conditional, as a second guard behind the write lock: only one exchange can ever
    // spend a given record.
    let spent = sqlx::query(
        "UPDATE mdr_refresh_records SET spent_at = ?1, successor_jti = ?2 \
         WHERE jti = ?3 AND spent_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&ex.successor.jti)
    .bind(&ex.jti)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if spent == 0 {
        return Ok(ExchangeOutcome::ConcurrentLoser);
    }
    sqlx::query(
        "INSERT INTO mdr_refresh_records (jti, family_id, parent_jti, origin, issued_at, \
           expires_at, access_jti, access_issued_at, access_expires_at) \
         VALUES (?1, ?2, ?3, 'exchange', ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(&ex.successor.jti)
    .bind(&ex.family_id)
    .bind(&ex.jti)
    .bind(unix_ms(ex.successor.issued_at))
    .bind(unix_ms(ex.successor.expires_at))
    .bind(&ex.access.jti)
    .bind(unix_ms(ex.access.issued_at))
    .bind(unix_ms(ex.access.expires_at))
    .execute(&mut *tx)
    .await?;
    // max(), so an exchange never moves a later recorded use backwards.
    sqlx::query(
        "UPDATE mdr_connections \
         SET activated = 1, last_used_at = MAX(COALESCE(last_used_at, ?1), ?1) \
         WHERE connection_id = ?2",
    )
    .bind(now)
    .bind(&ex.connection_id)
    .execute(&mut *tx)
    .await?;
    Ok(ExchangeOutcome::Rotated)
}

impl SqliteStore {
    /// See [`MdrStore::create_customer`].
    async fn insert_customer(&self, customer: &CustomerRecord) -> Outcome<()> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO mdr_customers (client_id, name, created_at) VALUES (?1, ?2, ?3)")
            .bind(&customer.client_id)
            .bind(&customer.name)
            .bind(unix_ms(customer.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrStore::customer`].
    async fn find_customer(&self, client_id: &str) -> Outcome<Option<CustomerRecord>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT client_id, name, created_at FROM mdr_customers WHERE client_id = ?1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(client_id, name, created)| CustomerRecord {
            client_id,
            name,
            created_at: from_unix_ms(created),
        }))
    }

    /// See [`MdrStore::list_customers`].
    async fn all_customers(&self) -> Outcome<Vec<CustomerRecord>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT client_id, name, created_at FROM mdr_customers \
             ORDER BY created_at ASC, client_id ASC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(client_id, name, created)| CustomerRecord {
                client_id,
                name,
                created_at: from_unix_ms(created),
            })
            .collect())
    }

    /// See [`MdrStore::create_tenant`]. A missing customer is a foreign-key violation, which
    /// maps to `NotFound`.
    async fn insert_tenant(&self, tenant: &TenantRecord) -> Outcome<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO mdr_tenants (tenant_id, client_id, tenant_name) VALUES (?1, ?2, ?3)",
        )
        .bind(&tenant.tenant_id)
        .bind(&tenant.client_id)
        .bind(&tenant.tenant_name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrStore::tenants`].
    async fn customer_tenants(&self, client_id: &str) -> Outcome<Vec<TenantRecord>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT tenant_id, client_id, tenant_name FROM mdr_tenants WHERE client_id = ?1 \
             ORDER BY tenant_name ASC, tenant_id ASC",
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

    /// See [`MdrStore::create_connection`].
    async fn insert_connection(
        &self,
        connection: &NewConnection,
        family: &NewFamily,
        activity: Option<NewActivity>,
    ) -> Outcome<ConnectionRecord> {
        let tenants = tenants_json(&connection.tenants)?;
        let mut tx = self.write().await?;
        // The connection first: a missing customer (foreign key → NotFound) or a taken name
        // (Conflict("name")) refuses it before anything else is written.
        sqlx::query(
            "INSERT INTO mdr_connections \
             (connection_id, client_id, name, role, tenants, created_at, live_family, activated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
        )
        .bind(&connection.connection_id)
        .bind(&connection.client_id)
        .bind(&connection.name)
        .bind(&connection.role)
        .bind(tenants)
        .bind(unix_ms(connection.created_at))
        .bind(&family.family_id)
        .execute(&mut *tx)
        .await?;
        insert_family(
            &mut tx,
            &connection.connection_id,
            family,
            connection.created_at,
        )
        .await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_connection(&mut tx, &connection.connection_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// See [`MdrStore::connection`].
    async fn find_connection(&self, id: &str) -> Outcome<Option<ConnectionRecord>> {
        let mut conn = self.pool.acquire().await?;
        read_connection(&mut conn, id).await
    }

    /// See [`MdrStore::list_connections`].
    async fn customer_connections(&self, client_id: &str) -> Outcome<Vec<ConnectionRecord>> {
        let rows = sqlx::query(concat!(
            connection_select!(),
            connection_from!(),
            " WHERE c.client_id = ?1 ORDER BY c.created_at ASC, c.connection_id ASC"
        ))
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection_from_row).collect()
    }

    /// See [`MdrStore::update_connection`].
    async fn patch_connection(
        &self,
        id: &str,
        patch: &ConnectionPatch,
        activity: Option<NewActivity>,
    ) -> Outcome<ConnectionRecord> {
        let tenants = patch.tenants.as_deref().map(tenants_json).transpose()?;
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE mdr_connections SET \
               name = COALESCE(?1, name), \
               role = COALESCE(?2, role), \
               tenants = COALESCE(?3, tenants) \
             WHERE connection_id = ?4",
        )
        .bind(&patch.name)
        .bind(&patch.role)
        .bind(tenants)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Failure::Store(StoreError::NotFound));
        }
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_connection(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// See [`MdrStore::refresh_connection`].
    async fn refresh(
        &self,
        id: &str,
        family: &NewFamily,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<FamilyChange> {
        let mut tx = self.write().await?;
        let (live, activated) = family_state(&mut tx, id).await?;
        if activated {
            // Rolled back on drop: nothing changed.
            return Ok(FamilyChange::WrongState(
                written_connection(&mut tx, id).await?,
            ));
        }
        if let Some(old) = live {
            revoke_family(&mut tx, &old, unix_ms(now), "refresh").await?;
        }
        insert_family(&mut tx, id, family, now).await?;
        sqlx::query(
            "UPDATE mdr_connections SET live_family = ?1, activated = 0 WHERE connection_id = ?2",
        )
        .bind(&family.family_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_connection(&mut tx, id).await?;
        tx.commit().await?;
        Ok(FamilyChange::Done(record))
    }

    /// See [`MdrStore::revoke_connection`].
    async fn revoke(
        &self,
        id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<FamilyChange> {
        let mut tx = self.write().await?;
        let (live, activated) = family_state(&mut tx, id).await?;
        if !activated {
            return Ok(FamilyChange::WrongState(
                written_connection(&mut tx, id).await?,
            ));
        }
        if let Some(family) = live {
            revoke_family(&mut tx, &family, unix_ms(now), "revoke").await?;
        }
        sqlx::query(
            "UPDATE mdr_connections SET live_family = NULL, activated = 0 \
             WHERE connection_id = ?1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        let record = written_connection(&mut tx, id).await?;
        tx.commit().await?;
        Ok(FamilyChange::Done(record))
    }

    /// See [`MdrStore::delete_connection`].
    async fn remove_connection(
        &self,
        id: &str,
        _now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> Outcome<()> {
        let mut tx = self.write().await?;
        // NotFound before anything is written.
        family_state(&mut tx, id).await?;
        // Removing the connection removes its families and their records (ON DELETE CASCADE;
        // foreign keys are verified on at connect): a token of it then names no record, which
        // is the revoked answer, so the family is revoked by its removal.
        sqlx::query("DELETE FROM mdr_connections WHERE connection_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(entry) = activity {
            insert_activity(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrStore::exchange`]: the decision order documented on [`ExchangeOutcome`], on a
    /// connection inside a `BEGIN IMMEDIATE` transaction (see [`crate::group_commit`]).
    pub(crate) async fn decide_exchange(
        tx: &mut SqliteConnection,
        ex: &Exchange,
    ) -> Outcome<ExchangeOutcome> {
        let now = unix_ms(ex.now);
        let Some(old) = presented(tx, &ex.jti).await? else {
            return Ok(ExchangeOutcome::Revoked);
        };
        // Claims that do not match the record: a token of another family, connection or
        // customer. Nothing is written, whatever the record's state.
        if old.family != ex.family_id
            || old.connection != ex.connection_id
            || old.client != ex.client_id
        {
            return Ok(ExchangeOutcome::Revoked);
        }
        if old.dead {
            return Ok(ExchangeOutcome::Revoked);
        }
        let Some(spent_at) = old.spent_at else {
            return spend_and_rotate(tx, ex, now).await;
        };
        // Grace replay comes first (R5): within the period, while the successor is unspent,
        // every presenter gets the identical stored pair.
        if ex.grace.is_positive()
            && now <= spent_at.saturating_add(duration_ms(ex.grace))
            && let Some(successor) = &old.successor
            && let Some(pair) = unspent_pair(tx, successor).await?
        {
            return Ok(ExchangeOutcome::Replayed(pair));
        }
        // A request received no later than spent_at + tolerance lost a race (R3).
        if now <= spent_at.saturating_add(duration_ms(ex.race_tolerance)) {
            return Ok(ExchangeOutcome::ConcurrentLoser);
        }
        // Reuse (R4): someone holds a copy. Kill the family, back to Pending activation.
        revoke_family(tx, &old.family, now, "reuse").await?;
        sqlx::query(
            "UPDATE mdr_connections SET live_family = NULL, activated = 0 \
             WHERE connection_id = ?1 AND live_family = ?2",
        )
        .bind(&old.connection)
        .bind(&old.family)
        .execute(&mut *tx)
        .await?;
        insert_activity(tx, &ex.reuse_activity).await?;
        Ok(ExchangeOutcome::Reused)
    }

    /// See [`MdrStore::touch_connections`].
    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Outcome<()> {
        // Collapse duplicates to the latest use first: fewer statements, same result.
        let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
        for (id, at) in uses {
            let ms = unix_ms(*at);
            let slot = latest.entry(id.as_str()).or_insert(ms);
            *slot = (*slot).max(ms);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (id, at) in &latest {
            // Unknown (e.g. just deleted) connections match no row and are skipped.
            sqlx::query(
                "UPDATE mdr_connections SET last_used_at = MAX(COALESCE(last_used_at, ?1), ?1) \
                 WHERE connection_id = ?2",
            )
            .bind(*at)
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrStore::record_exchanges`].
    async fn insert_audits(&self, audits: &[ExchangeAudit]) -> Outcome<()> {
        if audits.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for a in audits {
            sqlx::query(
                "INSERT INTO mdr_exchange_audit \
                 (at, client_id, connection_id, jti_prefix, result, source) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(unix_ms(a.at))
            .bind(&a.client_id)
            .bind(&a.connection_id)
            .bind(&a.jti_prefix)
            .bind(&a.result)
            .bind(&a.source)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`MdrStore::exchange_audit`].
    async fn audits(&self, client_id: &str, limit: i64) -> Outcome<Vec<ExchangeAudit>> {
        let rows = sqlx::query(
            "SELECT at, client_id, connection_id, jti_prefix, result, source \
             FROM mdr_exchange_audit WHERE client_id = ?1 \
             ORDER BY at DESC, id DESC LIMIT ?2",
        )
        .bind(client_id)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// See [`MdrStore::purge_refresh_records`].
    async fn purge_records(&self, now: OffsetDateTime, keep: Duration) -> Outcome<u64> {
        // expires_at + keep < now, rearranged so nothing overflows.
        let before = unix_ms(now).saturating_sub(duration_ms(keep));
        let mut tx = self.write().await?;
        // Unspent, unrevoked records stay whatever their age: they are some connection's
        // current token. Spent ones stay until expired, since they detect reuse (R8).
        let purged = sqlx::query(
            "DELETE FROM mdr_refresh_records \
             WHERE (spent_at IS NOT NULL OR revoked_at IS NOT NULL) AND expires_at < ?1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }
}

#[async_trait::async_trait]
impl MdrStore for SqliteStore {
    async fn create_customer(&self, customer: &CustomerRecord) -> StoreResult<()> {
        Ok(self.insert_customer(customer).await?)
    }

    async fn customer(&self, client_id: &str) -> StoreResult<Option<CustomerRecord>> {
        Ok(self.find_customer(client_id).await?)
    }

    async fn list_customers(&self) -> StoreResult<Vec<CustomerRecord>> {
        Ok(self.all_customers().await?)
    }

    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        Ok(self.insert_tenant(tenant).await?)
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
        Ok(self.insert_connection(connection, family, activity).await?)
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
        Ok(self
            .patch_connection(connection_id, patch, activity)
            .await?)
    }

    async fn refresh_connection(
        &self,
        connection_id: &str,
        family: &NewFamily,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange> {
        Ok(self.refresh(connection_id, family, now, activity).await?)
    }

    async fn revoke_connection(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<FamilyChange> {
        Ok(self.revoke(connection_id, now, activity).await?)
    }

    async fn delete_connection(
        &self,
        connection_id: &str,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<()> {
        Ok(self.remove_connection(connection_id, now, activity).await?)
    }

    async fn exchange(&self, exchange: &Exchange) -> StoreResult<ExchangeOutcome> {
        self.exchange_batched(exchange).await
    }

    async fn touch_connections(&self, uses: &[(String, OffsetDateTime)]) -> StoreResult<()> {
        Ok(self.touch(uses).await?)
    }

    async fn record_exchanges(&self, audits: &[ExchangeAudit]) -> StoreResult<()> {
        Ok(self.insert_audits(audits).await?)
    }

    async fn exchange_audit(&self, client_id: &str, limit: i64) -> StoreResult<Vec<ExchangeAudit>> {
        Ok(self.audits(client_id, limit).await?)
    }

    async fn purge_refresh_records(&self, now: OffsetDateTime, keep: Duration) -> StoreResult<u64> {
        Ok(self.purge_records(now, keep).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_convert_without_overflow() {
        assert_eq!(duration_ms(Duration::seconds(2)), 2_000);
        assert_eq!(duration_ms(Duration::milliseconds(-5)), -5);
        assert_eq!(duration_ms(Duration::MAX), i64::MAX);
        assert_eq!(duration_ms(Duration::MIN), i64::MIN);
    }
}
