//! The storage error type.

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The row addressed does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the string names the field (e.g. `username`).
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database could not answer (down, timeout, busy, I/O). Fail closed: 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database refused a value the caller passed (PostgreSQL's data exceptions,
    /// SQLSTATE class 22: a NUL character in text or JSON, a number out of range). The
    /// database is fine and retrying cannot help: this is bad client input, a 400, never
    /// the 503 of [`StoreError::Unavailable`]. The string is the database's reason, for the log.
    #[error("value refused by the database: {0}")]
    InvalidInput(String),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;
