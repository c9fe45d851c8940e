//! Mapping of sqlx/SQLite errors onto [`StoreError`].
//!
//! Policy: the engine-neutral mapping of `portcullis_store_sql::map_db_error` (busy/locked
//! after the busy timeout is `Unavailable` there like any other outage); what stays here is
//! the split between driver errors and errors a store method decided itself.

use portcullis_store::StoreError;

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
    portcullis_store_sql::map_db_error(e, "sqlite")
}

/// Wraps a value that cannot be decoded (a corrupt row) as `Unavailable`: the data is there but
/// unusable, which must not read as "absent".
pub(crate) fn corrupt(what: &str) -> Failure {
    Failure::Store(portcullis_store_sql::corrupt("sqlite", what))
}

#[cfg(test)]
mod tests {
    use super::*;

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
