//! Mapping of sqlx/SQLite errors onto [`StoreError`].
//!
//! Policy: a unique violation names its field (`Conflict("username")`), a missing row or a
//! foreign key pointing at a missing row is `NotFound`, and everything else — busy/locked
//! after the busy timeout, pool timeout, I/O, a corrupt value — is `Unavailable`, so the
//! server fails closed with 503 and never mistakes a storage failure for "no such user".

use portcullis_store::StoreError;
use sqlx::error::ErrorKind;

/// An error inside a store method: either from the driver (mapped at the boundary) or already
/// decided by the method itself (e.g. `NotFound` when an `UPDATE` touched no row).
#[derive(Debug)]
pub(crate) enum Failure {
    /// From sqlx.
    Db(sqlx::Error),
    /// Decided by the store method.
    Store(StoreError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Db(e) => map_db_error(e),
            Failure::Store(e) => e,
        }
    }
}

/// Result inside store methods.
pub(crate) type Outcome<T> = Result<T, Failure>;

/// Maps a driver error onto the storage error the server understands.
pub(crate) fn map_db_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => StoreError::Conflict(conflicting_field(db.message())),
            // Only `sessions.user_id` references another table: the user is gone.
            ErrorKind::ForeignKeyViolation => StoreError::NotFound,
            _ => StoreError::Unavailable(format!("sqlite: {}", db.message())),
        },
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("sqlite: no connection available within 3 s".into())
        }
        other => StoreError::Unavailable(format!("sqlite: {other}")),
    }
}

/// The column named by SQLite's `UNIQUE constraint failed: users.username` message.
fn conflicting_field(message: &str) -> String {
    message
        .rsplit_once(": ")
        .and_then(|(_, cols)| cols.split(", ").next())
        .map(|col| col.rsplit_once('.').map_or(col, |(_, c)| c))
        .filter(|c| !c.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// Wraps a value that cannot be decoded (a corrupt row) as `Unavailable`: the data is there but
/// unusable, which must not read as "absent".
pub(crate) fn corrupt(what: &str) -> Failure {
    Failure::Store(StoreError::Unavailable(format!("sqlite: corrupt {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_the_column() {
        assert_eq!(
            conflicting_field("UNIQUE constraint failed: users.username"),
            "username"
        );
        assert_eq!(
            conflicting_field("UNIQUE constraint failed: sessions.hash"),
            "hash"
        );
        assert_eq!(conflicting_field("UNIQUE constraint failed: t.a, t.b"), "a");
        assert_eq!(conflicting_field("something else"), "unknown");
    }

    #[test]
    fn pool_timeout_and_missing_rows_map_to_distinct_errors() {
        assert_eq!(map_db_error(sqlx::Error::RowNotFound), StoreError::NotFound);
        assert!(matches!(
            map_db_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_db_error(sqlx::Error::PoolClosed),
            StoreError::Unavailable(_)
        ));
    }
}
