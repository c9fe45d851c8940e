//! Opening the database: URL forms, file creation with private permissions, pool sizing and the
//! pragma read-back that refuses a store which would not be durable.

use crate::SqliteStore;
use crate::error::map_db_error;
use portcullis_store::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How long a writer waits for SQLite's lock before the call fails with `Unavailable`
/// (`docs/security.md`, "Fail closed").
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
/// How long a call waits for a pooled connection before failing with `Unavailable`
/// (`docs/security.md`, "Fail closed").
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections to a file database. WAL lets readers run beside the one writer.
const MAX_FILE_CONNECTIONS: u32 = 8;

/// The durability-relevant pragmas as a connection reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    /// `PRAGMA journal_mode`, lower case: `wal` for a file, `memory` for `sqlite::memory:`.
    pub journal_mode: String,
    /// `PRAGMA synchronous`: 2 is `FULL`.
    pub synchronous: i64,
    /// `PRAGMA foreign_keys`: needed for `ON DELETE CASCADE` of sessions.
    pub foreign_keys: bool,
    /// `PRAGMA busy_timeout` in milliseconds.
    pub busy_timeout_ms: i64,
}

/// Where the database lives.
#[derive(Debug, PartialEq, Eq)]
enum Location {
    /// `sqlite::memory:`: one private database per store, gone when the store closes.
    Memory,
    /// A file on a local file system.
    File(PathBuf),
}

impl SqliteStore {
    /// Opens the database named by `url`: `sqlite:path`, `sqlite://path` (`sqlite:///abs/path`
    /// for an absolute path) or `sqlite::memory:`. A missing file is created with mode 0600
    /// (its `-wal` and `-shm` files inherit that mode from SQLite). An in-memory database gets
    /// a pool of exactly one connection that is never recycled, since the data lives in it.
    ///
    /// Returns `Unavailable` if the URL is not a SQLite URL, the file cannot be opened, or the
    /// pragmas read back differ from WAL / FULL / foreign keys on / 5000 ms. Does not migrate.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let location = location(url)?;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("sqlite: invalid URL: {e}")))?
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let (options, pool) = match &location {
            Location::Memory => (
                options,
                pool.max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None),
            ),
            Location::File(path) => {
                create_private_file(path)?;
                (
                    // We created the file ourselves, with our mode; SQLite must not create one.
                    options
                        .create_if_missing(false)
                        .journal_mode(SqliteJournalMode::Wal),
                    pool.max_connections(MAX_FILE_CONNECTIONS),
                )
            }
        };
        let writer_pool = match &location {
            Location::Memory => None,
            Location::File(_) => Some(
                SqlitePoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .max_connections(1)
                    .before_acquire(|conn, _| Box::pin(async move { Ok(usable_writer(conn)) }))
                    .connect_with(options.clone())
                    .await
                    .map_err(map_db_error)?,
            ),
        };
        let pool = pool.connect_with(options).await.map_err(map_db_error)?;
        // Write transactions take the one writer connection in turn (sqlx hands it out in
        // request order), so writers of this process queue without spinning on SQLite's busy
        // handler; readers keep the other connections. An in-memory database has one
        // connection for both.
        let writer = writer_pool.unwrap_or_else(|| pool.clone());
        let store = Self {
            pool,
            writer,
            batch: std::sync::Arc::default(),
        };
        if let Err(e) = store.check_pragmas(location == Location::Memory).await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// Reads the durability pragmas back from a pooled connection.
    pub async fn pragmas(&self) -> StoreResult<Pragmas> {
        let mut conn = self.pool.acquire().await.map_err(map_db_error)?;
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
        let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
        Ok(Pragmas {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous,
            foreign_keys: foreign_keys == 1,
            busy_timeout_ms,
        })
    }

    /// Refuses the store unless every pragma of `docs/security.md`, "Durability" reads back as
    /// required. An in-memory database cannot use WAL, so its journal mode is not checked.
    async fn check_pragmas(&self, in_memory: bool) -> StoreResult<()> {
        let p = self.pragmas().await?;
        let mut wrong = Vec::new();
        if !in_memory && p.journal_mode != "wal" {
            wrong.push(format!("journal_mode={} (need wal)", p.journal_mode));
        }
        if p.synchronous != 2 {
            wrong.push(format!("synchronous={} (need 2 = FULL)", p.synchronous));
        }
        if !p.foreign_keys {
            wrong.push("foreign_keys=0 (need 1)".to_owned());
        }
        if p.busy_timeout_ms != 5000 {
            wrong.push(format!("busy_timeout={} (need 5000)", p.busy_timeout_ms));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "sqlite: refusing to serve, pragmas could not be set: {}",
                wrong.join(", ")
            )))
        }
    }
}

/// Whether the writer connection may serve the next write transaction.
///
/// A `COMMIT` or `ROLLBACK` that fails on a full disk (or any I/O error) can leave sqlx
/// counting a transaction that SQLite has already rolled back itself: the rollback sqlx then
/// queues is refused ("no transaction is active"), and every later `BEGIN IMMEDIATE` on the
/// connection is refused too, long after the disk has room again. Such a connection is
/// closed instead of reused, which also rolls back whatever SQLite may still hold; the pool
/// opens a fresh one for the writer that asked.
fn usable_writer(conn: &mut sqlx::SqliteConnection) -> bool {
    !sqlx::Connection::is_in_transaction(conn)
}

/// Classifies `url` (only the `sqlite:` scheme is accepted).
fn location(url: &str) -> StoreResult<Location> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Unavailable("sqlite: URL must start with sqlite:".into()))?;
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let memory_mode = params.split('&').any(|p| p == "mode=memory");
    if database == ":memory:" || memory_mode {
        return Ok(Location::Memory);
    }
    if database.is_empty() {
        return Err(StoreError::Unavailable(
            "sqlite: URL names no database file".into(),
        ));
    }
    // The options parser percent-decodes the path; use its result so both agree on the file.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("sqlite: invalid URL: {e}")))?;
    Ok(Location::File(options.get_filename().to_path_buf()))
}

/// Creates `path` readable and writable by its owner only, unless it already exists (an
/// operator's existing file keeps its mode). The database holds password hashes and session
/// hashes: other local users must not read it.
fn create_private_file(path: &Path) -> StoreResult<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "sqlite: cannot create database file {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_are_classified() {
        assert_eq!(location("sqlite::memory:"), Ok(Location::Memory));
        assert_eq!(location("sqlite://:memory:"), Ok(Location::Memory));
        assert_eq!(location("sqlite://?mode=memory"), Ok(Location::Memory));
        assert_eq!(
            location("sqlite:portcullis.db"),
            Ok(Location::File(PathBuf::from("portcullis.db")))
        );
        assert_eq!(
            location("sqlite://data/p.db?mode=rwc"),
            Ok(Location::File(PathBuf::from("data/p.db")))
        );
        assert_eq!(
            location("sqlite:///var/lib/p.db"),
            Ok(Location::File(PathBuf::from("/var/lib/p.db")))
        );
        assert!(location("postgres://x/y").is_err());
        assert!(location("sqlite://").is_err());
    }
}
