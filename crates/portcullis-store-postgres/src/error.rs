//! Mapping of sqlx/PostgreSQL errors onto [`StoreError`], and the bounded retry of write
//! transactions that lost a serialization race.
//!
//! Policy: the engine-neutral mapping of `portcullis_store_sql::map_db_error` (a unique
//! violation names its field, a missing row or foreign key is `NotFound`), plus what only
//! PostgreSQL has: a serialization failure (40001) or
//! deadlock (40P01) is retried at most [`MAX_RETRIES`] times and then `Unavailable`, a data
//! exception (SQLSTATE class 22: PostgreSQL refuses NUL in `text` and `\u0000` in `jsonb`,
//! numbers out of range, …) is `InvalidInput` — the value is at fault, not the database — and
//! everything else — pool timeout, refused connection, I/O — is `Unavailable`, so the server
//! fails closed with 503 and never mistakes a storage failure for "no such user".

use portcullis_store::{StoreError, StoreResult};
use std::future::Future;

/// Retries after the first attempt of a transaction that failed with 40001/40P01 (docs/security.md,
/// "Durability").
pub(crate) const MAX_RETRIES: u32 = 3;

/// SQLSTATE of a serialization failure.
const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a detected deadlock: the victim's transaction is rolled back and can be rerun.
const DEADLOCK_DETECTED: &str = "40P01";
/// SQLSTATE class of data exceptions (22021 `character_not_in_repertoire` for a NUL in text,
/// 22P05 `untranslatable_character` for `\u0000` in `jsonb`, 22003 out of range, …).
const DATA_EXCEPTION_CLASS: &str = "22";

/// An error inside a store method: either from the driver (mapped at the boundary, possibly
/// retried) or already decided by the method itself (e.g. `NotFound`).
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

/// The SQLSTATE of a database error, if `e` is one.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// True when rerunning the whole transaction may succeed.
fn is_retryable(f: &Failure) -> bool {
    match f {
        Failure::Db(e) => matches!(
            sqlstate(e).as_deref(),
            Some(SERIALIZATION_FAILURE | DEADLOCK_DETECTED)
        ),
        Failure::Store(_) => false,
    }
}

/// Runs `attempt` (one whole transaction) and reruns it, at most [`MAX_RETRIES`] times, when it
/// failed with a serialization failure or deadlock. The failed attempt was rolled back by the
/// server, so rerunning it from the start is safe.
pub(crate) async fn retry<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Outcome<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(f) if is_retryable(&f) => {
                if retries >= MAX_RETRIES {
                    return Err(StoreError::Unavailable(format!(
                        "postgres: transaction still conflicting after {MAX_RETRIES} retries"
                    )));
                }
                retries += 1;
            }
            Err(f) => return Err(f.into()),
        }
    }
}

/// Maps a driver error onto the storage error the server understands: a data exception is
/// decided here, everything else by the engine-neutral mapping.
pub(crate) fn map_db_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && let Some(code) = db.code()
        && code.starts_with(DATA_EXCEPTION_CLASS)
    {
        // The server answered and refused a value: client input, not an outage.
        return StoreError::InvalidInput(format!("postgres: {} (SQLSTATE {code})", db.message()));
    }
    portcullis_store_sql::map_db_error(e, "postgres")
}

/// Wraps a value that cannot be decoded (a corrupt row) as `Unavailable`: the data is there but
/// unusable, which must not read as "absent".
pub(crate) fn corrupt(what: &str) -> Failure {
    Failure::Store(portcullis_store_sql::corrupt("postgres", what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn pool_timeout_and_missing_rows_map_to_distinct_errors() {
        assert_eq!(map_db_error(sqlx::Error::RowNotFound), StoreError::NotFound);
        assert!(matches!(
            map_db_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }

    /// Drives a future that never waits (the retry helper adds no waiting of its own).
    fn run<T>(f: impl Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// A pool on the test server, or `None` (skip) when it is unreachable outside CI.
    async fn server() -> Option<sqlx::PgPool> {
        let url = std::env::var(crate::testing::URL_VAR)
            .unwrap_or_else(|_| crate::testing::DEFAULT_URL.to_owned());
        match sqlx::PgPool::connect(&url).await {
            Ok(pool) => Some(pool),
            Err(e) if crate::testing::in_ci() => panic!("PostgreSQL unreachable in CI: {e}"),
            Err(e) => {
                eprintln!("!!!!! SKIP: PostgreSQL unreachable ({e}) !!!!!");
                None
            }
        }
    }

    /// Fails with a real SQLSTATE 40001 from the server.
    async fn serialization_failure(pool: &sqlx::PgPool) -> Outcome<()> {
        sqlx::query(
            "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; \
             END $$",
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    #[tokio::test]
    async fn serialization_failures_are_retried_three_times_then_unavailable() {
        let Some(pool) = server().await else { return };
        let calls = std::sync::atomic::AtomicU32::new(0);
        let r = retry(|| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            serialization_failure(&pool)
        })
        .await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            1 + MAX_RETRIES
        );

        // Succeeding on the last allowed retry is a success.
        let calls = std::sync::atomic::AtomicU32::new(0);
        let r = retry(|| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let pool = &pool;
            async move {
                if n < MAX_RETRIES {
                    serialization_failure(pool).await?;
                }
                Ok(n)
            }
        })
        .await;
        assert_eq!(r, Ok(MAX_RETRIES));
        pool.close().await;
    }

    #[tokio::test]
    async fn data_exceptions_are_invalid_input_not_unavailable() {
        let Some(pool) = server().await else { return };
        // A NUL in a text parameter: 22021 from the server itself.
        let e = sqlx::query("SELECT $1::text")
            .bind("a\0b")
            .execute(&pool)
            .await
            .expect_err("PostgreSQL refuses NUL in text");
        let mapped = map_db_error(e);
        assert!(
            matches!(&mapped, StoreError::InvalidInput(m) if m.contains("SQLSTATE 22")),
            "{mapped:?}"
        );
        // `\u0000` in jsonb: 22P05.
        let e = sqlx::query("SELECT $1::jsonb")
            .bind(serde_json::json!({"a": "x\u{0}y"}))
            .execute(&pool)
            .await
            .expect_err("PostgreSQL refuses \\u0000 in jsonb");
        let mapped = map_db_error(e);
        assert!(matches!(mapped, StoreError::InvalidInput(_)), "{mapped:?}");
        // Not retried either: the value would be refused again.
        let calls = std::sync::atomic::AtomicU32::new(0);
        let r = retry(|| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let pool = &pool;
            async move {
                sqlx::query("SELECT $1::text")
                    .bind("\0")
                    .execute(pool)
                    .await?;
                Ok(())
            }
        })
        .await;
        assert!(matches!(r, Err(StoreError::InvalidInput(_))), "{r:?}");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        pool.close().await;
    }

    #[test]
    fn non_retryable_failures_are_returned_after_one_attempt() {
        let calls = Cell::new(0);
        let r: StoreResult<()> = run(retry(|| {
            calls.set(calls.get() + 1);
            async { Err(Failure::Store(StoreError::NotFound)) }
        }));
        assert_eq!(r, Err(StoreError::NotFound));
        assert_eq!(calls.get(), 1);

        let calls = Cell::new(0);
        let r: StoreResult<i32> = run(retry(|| {
            calls.set(calls.get() + 1);
            async { Err(Failure::Db(sqlx::Error::PoolTimedOut)) }
        }));
        assert!(matches!(r, Err(StoreError::Unavailable(_))));
        assert_eq!(calls.get(), 1);
    }
}
