//! The library's error type.
//!
//! Policy: no variant ever carries a token. Server messages (`{"error": …}`) are passed on verbatim
//! because the server guarantees they contain no token either (`docs/mdr-api.md`, "Hygiene").

use std::path::PathBuf;

/// Everything that can go wrong in the client library.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No token store exists yet.
    #[error("no token store at {} (run `portcullis-client init` first)", path.display())]
    NoStore {
        /// Where the store was looked for.
        path: PathBuf,
    },
    /// The token store can be read by other users (C2): refused without reading it.
    #[error(
        "token store {} is accessible by group or others (mode {mode:03o}); refusing to use it: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    StorePermissions {
        /// The store file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token store exists but does not hold a valid document.
    #[error("token store {} is not valid: {reason}", path.display())]
    StoreFormat {
        /// The store file.
        path: PathBuf,
        /// What is wrong (never the content).
        reason: String,
    },
    /// `session/confirm` answered 401: the refresh token is expired, already used, revoked or
    /// not for this Client ID. The store was left unchanged; an administrator must issue a
    /// new token ("Refresh" in the console) and `init` must run again.
    #[error("the server refused the refresh token: {message}")]
    RefreshRejected {
        /// The server's `error` text.
        message: String,
    },
    /// `session/confirm` answered 409 (another request spent the token) and the store still
    /// holds that same token, so there is nothing valid to continue with. The token is NOT
    /// sent again (R3).
    #[error(
        "the server reports: {message}; the token store was not updated by the other request, so the token is not sent again"
    )]
    Conflict {
        /// The server's `error` text.
        message: String,
    },
    /// The exchange kept failing with transient errors (503, timeouts, refused connections)
    /// within the retry budget.
    #[error("token exchange failed after {attempts} attempts: {last}")]
    ExchangeUnavailable {
        /// How many requests were sent.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The server answered with an unexpected status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The server's `error` text, or a summary of the body.
        message: String,
    },
    /// The request could not be sent or its answer not read.
    #[error("request failed: {0}")]
    Transport(String),
    /// A token could not be decoded (malformed JWT payload).
    #[error("token is not a readable JWT: {0}")]
    Token(String),
    /// Missing or invalid configuration (base URL, Client ID, CA file, path syntax).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
