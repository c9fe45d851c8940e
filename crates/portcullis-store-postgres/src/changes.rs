//! [`ChangeStore`] on PostgreSQL: the triggers of migration 0007 fill `change_log` and
//! `NOTIFY portcullis_changes` in the writing transaction; PostgreSQL delivers the
//! notification when that transaction commits.
//!
//! The poll must not skip a change whose transaction commits after a later one: its cursor
//! is the `xmin` of the previous poll's snapshot (every transaction still open then has an
//! id at or above it), so each poll re-reads the entries of transactions that were open at
//! the last one. Entries may therefore repeat; the reader drops duplicates by `seq`.

use crate::PostgresStore;
use crate::error::map_db_error;
use portcullis_store::{
    Change, ChangeBatch, ChangeCursor, ChangeEntry, ChangeFeed, ChangeStore, FeedEvent, StoreError,
    StoreResult,
};
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPoolOptions};
use std::time::Duration;
use time::OffsetDateTime;

/// The notification channel the triggers announce on.
pub const CHANNEL: &str = "portcullis_changes";
/// `application_name` of the listening connection, so operators (and the cluster tests) can
/// find it in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "portcullis-listener";

fn cursor_value(text: &str) -> StoreResult<i64> {
    text.parse::<u64>()
        .ok()
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| StoreError::Unavailable(format!("postgres: unexpected xmin {text:?}")))
}

#[async_trait::async_trait]
impl ChangeStore for PostgresStore {
    async fn change_cursor(&self) -> StoreResult<ChangeCursor> {
        let xmin: String =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                .fetch_one(&self.pool)
                .await
                .map_err(map_db_error)?;
        Ok(ChangeCursor(cursor_value(&xmin)?))
    }

    async fn changes_since(&self, cursor: ChangeCursor) -> StoreResult<ChangeBatch> {
        // One statement, one snapshot: its xmin is the next cursor, and every entry of a
        // transaction below that xmin is visible to this very read.
        let rows = sqlx::query(
            "WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin) \
             SELECT s.xmin, c.seq, (extract(epoch FROM c.at) * 1000)::bigint AS at_ms, c.kind, c.key \
             FROM s LEFT JOIN change_log c ON c.xid >= $1::text::xid8 \
             ORDER BY c.seq",
        )
        .bind(cursor.0.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_db_error)?;
        let mut next = cursor;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let xmin: String = row.try_get("xmin").map_err(map_db_error)?;
            next = ChangeCursor(cursor_value(&xmin)?);
            let seq: Option<i64> = row.try_get("seq").map_err(map_db_error)?;
            let Some(seq) = seq else { continue };
            let at: i64 = row.try_get("at_ms").map_err(map_db_error)?;
            let kind: String = row.try_get("kind").map_err(map_db_error)?;
            let key: String = row.try_get("key").map_err(map_db_error)?;
            entries.push(ChangeEntry::new(seq, at, &kind, &key));
        }
        Ok(ChangeBatch {
            entries,
            cursor: next,
        })
    }

    async fn purge_changes(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM change_log WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_db_error)?;
        Ok(done.rows_affected())
    }

    async fn change_feed(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name(LISTENER_NAME);
        // A pool of its own: the listener's connection is detached from it and must never
        // count against (or wait for) the request pool.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(map_db_error)?;
        listener.listen(CHANNEL).await.map_err(map_db_error)?;
        Ok(Some(Box::new(Feed { listener })))
    }
}

/// `LISTEN portcullis_changes` on a dedicated connection. sqlx reconnects (and listens
/// again) by itself after the connection is lost; a lost connection may have missed
/// notifications, which [`FeedEvent::Reconnected`] reports.
struct Feed {
    listener: PgListener,
}

/// Parses `seq at_ms kind key` (the key may be empty).
fn parse_payload(payload: &str) -> Option<ChangeEntry> {
    let mut parts = payload.splitn(4, ' ');
    let seq = parts.next()?.parse().ok()?;
    let at = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let key = parts.next().unwrap_or("");
    Some(ChangeEntry::new(seq, at, kind, key))
}

#[async_trait::async_trait]
impl ChangeFeed for Feed {
    async fn next(&mut self) -> StoreResult<FeedEvent> {
        match self.listener.try_recv().await {
            Ok(Some(n)) => Ok(FeedEvent::Change(parse_payload(n.payload()).unwrap_or(
                ChangeEntry {
                    seq: 0,
                    at: OffsetDateTime::UNIX_EPOCH,
                    change: Change::Unknown,
                },
            ))),
            Ok(None) => Ok(FeedEvent::Reconnected),
            Err(e) => Err(map_db_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        let e = parse_payload("17 1700000000000 user 42").unwrap();
        assert_eq!(e.seq, 17);
        assert_eq!(e.change, Change::User(portcullis_core::ids::UserId(42)));
        assert_eq!(e.at.unix_timestamp(), 1_700_000_000);
        assert_eq!(
            parse_payload("3 0 settings ").unwrap().change,
            Change::Settings
        );
        assert_eq!(
            parse_payload("3 0 keys").unwrap().change,
            Change::SigningKeys
        );
        assert!(parse_payload("x 0 keys").is_none());
    }
}
