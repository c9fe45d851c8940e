//! Errors raised by core rules.

/// A core rule refused its input or could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    /// A stored password hash is in a format Portcullis does not verify.
    #[error("unsupported password hash format")]
    UnsupportedHash,
    /// The Argon2 parameters are invalid or below the security floor.
    #[error("invalid password hashing parameters: {0}")]
    BadParams(String),
    /// Hashing failed inside the Argon2 implementation.
    #[error("password hashing failed")]
    HashFailed,
}
