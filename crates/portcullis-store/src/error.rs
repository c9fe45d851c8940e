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
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;
